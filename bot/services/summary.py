"""An account's balances and profits as plain values, ready for any front end to format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

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
    day_profit: Decimal | None
    day_profit_percentage: Decimal | None
    api_keys_state: str | None
    updated_at: datetime | None


def _amount(money: Money | None) -> Decimal | None:
    return money.amount if money is not None else None


def summarize(account: Account) -> AccountSummary:
    """Prefer the user's display currency; fall back to the fixed USD fields."""
    display = account.primary_display_currency_amount
    balance: Decimal | None
    if display is not None and display.amount is not None:
        currency = (display.currency or "USD").upper()
        balance = display.amount
        profit = _amount(account.primary_display_currency_profit)
        profit_percentage = _amount(account.primary_display_currency_profit_percentage)
        all_time_profit = _amount(account.total_primary_display_currency_profit)
        day_profit = _amount(account.day_profit_primary_display_currency)
        day_profit_percentage = _amount(account.day_profit_primary_display_currency_percentage)
    else:
        currency = "USD"
        balance = account.usd_amount
        profit = account.usd_profit
        profit_percentage = account.usd_profit_percentage
        all_time_profit = account.total_usd_profit
        day_profit = account.day_profit_usd
        day_profit_percentage = account.day_profit_usd_percentage
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
        day_profit=day_profit,
        day_profit_percentage=day_profit_percentage,
        api_keys_state=account.api_keys_state,
        updated_at=account.updated_at,
    )
