"""What an account (or all of them) holds, coin by coin, largest value first.

Positions under 1% of the account are folded into one "rest"; the full list stays available.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.services.accounts import CredentialCache
from bot.services.display import DisplayCurrencies, DisplayCurrency
from bot.storage.database import Database
from bot.targets import Target
from bot.threecommas.client import ThreeCommasClient
from bot.threecommas.models import CoinBalance

FOLD_BELOW = Decimal(1)  # % of the account's value
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class CoinHolding:
    code: str  # as 3Commas sent it: clean and escape before showing
    name: str | None
    amount: Decimal | None
    usd_value: Decimal | None
    btc_value: Decimal | None
    share: Decimal | None  # % of the account's USD value
    day_change: Decimal | None  # % over the last 24 h, in USD
    display_value: Decimal | None = None  # in Holdings.display_currency, when there is one


@dataclass(frozen=True)
class Holdings:
    target: Target
    coins: tuple[CoinHolding, ...]  # every coin, largest USD value first
    major: tuple[CoinHolding, ...]  # FOLD_BELOW % of the account or more
    minor: tuple[CoinHolding, ...]  # the rest, folded into one line
    # The coins' values added up: 3Commas values the coins at the prices of the call
    # (`priced_at`), the account's balance at those of its last update, so the two differ.
    total_usd: Decimal
    total_btc: Decimal | None  # None when a coin has no BTC value
    minor_usd: Decimal
    priced_at: datetime  # when 3Commas answered with these values (CoinTable.received_at)
    # The account's display currency when it is neither USD nor BTC (both shown anyway), and
    # the totals in it; values in it use the rate of the account's last refresh, or of
    # 3Commas' account when it was never refreshed here.
    display_currency: str | None = None
    total_display: Decimal | None = None
    minor_display: Decimal | None = None


class HoldingsService:
    def __init__(
        self, db: Database, client: ThreeCommasClient, credentials: CredentialCache
    ) -> None:
        self._client = client
        self._credentials = credentials
        self._currencies = DisplayCurrencies(db, client, credentials)

    async def holdings(self, user_id: int, target: Target) -> Holdings:
        credentials = await self._credentials.get(user_id)
        table = await self._client.account_table_data(credentials, target)
        display = await self._display_currency(user_id, target)
        return build_holdings(target, table.rows, table.received_at, display)

    async def _display_currency(self, user_id: int, target: Target) -> DisplayCurrency | None:
        """The account's display currency, when it is neither USD nor BTC (both shown anyway)."""
        if not isinstance(target, int):
            return None  # all accounts: 3Commas' summary is in USD
        display = await self._currencies.of(user_id, target)
        if display.code in ("USD", "BTC") or display.per_usd is None:
            return None
        return display


def build_holdings(
    target: Target,
    rows: Sequence[CoinBalance],
    priced_at: datetime,
    display: DisplayCurrency | None = None,
) -> Holdings:
    present = [row for row in rows if row.position or row.usd_value]  # drop empty rows
    total_usd = sum((row.usd_value or Decimal(0) for row in present), Decimal(0))
    btc_values = [row.btc_value for row in present if row.btc_value is not None]
    total_btc = sum(btc_values, Decimal(0)) if len(btc_values) == len(present) else None
    coins = sorted(
        (_holding(row, total_usd, display) for row in present),
        key=lambda coin: (-(coin.usd_value or Decimal(0)), coin.code),
    )
    major = [coin for coin in coins if _major(coin)]
    minor = [coin for coin in coins if not _major(coin)]
    return Holdings(
        target=target,
        coins=tuple(coins),
        major=tuple(major),
        minor=tuple(minor),
        total_usd=total_usd,
        total_btc=total_btc,
        minor_usd=sum((coin.usd_value or Decimal(0) for coin in minor), Decimal(0)),
        priced_at=priced_at,
        display_currency=display.code if display is not None else None,
        total_display=_in(total_usd, display),
        minor_display=_in(sum((c.usd_value or Decimal(0) for c in minor), Decimal(0)), display),
    )


def _in(usd: Decimal, display: DisplayCurrency | None) -> Decimal | None:
    return None if display is None or display.per_usd is None else usd * display.per_usd


def _major(coin: CoinHolding) -> bool:
    return coin.share is not None and coin.share >= FOLD_BELOW


def _holding(row: CoinBalance, total_usd: Decimal, display: DisplayCurrency | None) -> CoinHolding:
    # The share is computed from the values, so the folded total and the shares agree.
    share = row.percentage
    if row.usd_value is not None and total_usd > 0:
        share = row.usd_value * HUNDRED / total_usd
    return CoinHolding(
        code=row.currency_code or "?",
        name=row.currency_name,
        amount=row.position,
        usd_value=row.usd_value,
        btc_value=row.btc_value,
        share=share,
        day_change=(
            row.day_change_percent_usd
            if row.day_change_percent_usd is not None
            else row.day_change_percent
        ),
        display_value=_display_value(row, display),
    )


def _display_value(row: CoinBalance, display: DisplayCurrency | None) -> Decimal | None:
    return None if row.usd_value is None else _in(row.usd_value, display)
