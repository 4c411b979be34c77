"""An account's display currency (the one the user chose in 3Commas) and its rate to USD.

From the account's last refresh, or, never refreshed here, from 3Commas' account as it last
knew it: so holdings and alerts show it whether or not the account was refreshed before.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.services.accounts import CredentialCache
from bot.services.summary import summarize
from bot.storage.database import Database
from bot.threecommas.client import ThreeCommasClient


@dataclass(frozen=True)
class DisplayCurrency:
    code: str  # "USD", "EUR", "BTC" ...
    per_usd: Decimal | None  # units of `code` one USD bought; None when unknown


class DisplayCurrencies:
    def __init__(
        self, db: Database, client: ThreeCommasClient, credentials: CredentialCache
    ) -> None:
        self._db = db
        self._client = client
        self._credentials = credentials

    async def of(self, user_id: int, account_id: int) -> DisplayCurrency:
        snapshot = await self._db.snapshots.latest(user_id, account_id)
        if snapshot is not None:
            code, amount, usd = snapshot.currency, snapshot.amount, snapshot.usd_amount
        else:
            credentials = await self._credentials.get(user_id)
            summary = summarize(await self._client.get_account(credentials, account_id))
            code, amount, usd = summary.currency, summary.balance, summary.balance_usd
        code = (code or "USD").upper()
        rate = amount / usd if amount is not None and usd is not None and usd > 0 else None
        return DisplayCurrency(code, rate)
