"""An account's balances and profits as plain values, ready for any front end to format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.services.today import Today, today, today_usd
from bot.threecommas.models import Account, Money


@dataclass(frozen=True)
class AccountSummary:
    account_id: int
    name: str | None
    exchange: str | None
    currency: str
    balance: Decimal | None
    balance_btc: Decimal | None
    balance_usd: Decimal | None
    profit: Decimal | None
    profit_percentage: Decimal | None
    all_time_profit: Decimal | None
    day_profit: Decimal | None  # today (bot.services.today) in `currency`
    day_profit_percentage: Decimal | None
    api_keys_state: str | None
    updated_at: datetime | None
    today_usd: Today | None = None  # the same day in USD, for totals


def _amount(money: Money | None) -> Decimal | None:
    return money.amount if money is not None else None


def summarize(account: Account) -> AccountSummary:
    """Prefer the user's display currency; fall back to the fixed USD fields.

    Today is 3Commas' day profit: `day_profit_usd` in USD, its display-currency twin otherwise.
    """
    display = account.primary_display_currency_amount
    balance: Decimal | None
    in_usd = today_usd(account)
    day: Today | None = in_usd
    if display is not None and display.amount is not None:
        currency = (display.currency or "USD").upper()
        balance = display.amount
        profit = _amount(account.primary_display_currency_profit)
        profit_percentage = _amount(account.primary_display_currency_profit_percentage)
        all_time_profit = _amount(account.total_primary_display_currency_profit)
        # its display-currency twin: in another currency, or when the USD field is missing
        if currency != "USD" or day is None:
            day = today(balance, _amount(account.day_profit_primary_display_currency), currency)
    else:
        currency = "USD"
        balance = account.usd_amount
        profit = account.usd_profit
        profit_percentage = account.usd_profit_percentage
        all_time_profit = account.total_usd_profit
    return AccountSummary(
        account_id=account.id,
        name=account.name,
        exchange=account.exchange,
        currency=currency,
        balance=balance,
        balance_btc=account.btc_amount,
        balance_usd=account.usd_amount,
        profit=profit,
        profit_percentage=profit_percentage,
        all_time_profit=all_time_profit,
        day_profit=None if day is None else day.amount,
        day_profit_percentage=None if day is None else day.percent,
        api_keys_state=account.api_keys_state,
        updated_at=account.updated_at,
        today_usd=in_usd,
    )
