"""The one definition of an account's "today": 3Commas' own day profit (`day_profit_usd`).

3Commas sends it with every balance, so a refresh, a scheduled post and an alert checked on it
cost no extra request, and the figure is the one the 3Commas app shows. Its percentage is of the
balance the day began with (the balance now minus the day's profit), for one account or several
added up. Every view (the summary, /profit's today row, alerts on `day`, the `all` totals) takes
it from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from bot.threecommas.models import Account

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Today:
    amount: Decimal  # the day's profit, in `currency`
    percent: Decimal | None  # of the balance at the day's start; None when that was 0 or less
    balance: Decimal  # the balance now, in `currency`
    currency: str

    @property
    def start_balance(self) -> Decimal:
        return self.balance - self.amount


def today(balance: Decimal | None, amount: Decimal | None, currency: str) -> Today | None:
    """The day's profit `amount` of an account worth `balance` now; None when either is unknown."""
    if balance is None or amount is None:
        return None
    start = balance - amount
    percent = amount * HUNDRED / start if start > 0 else None
    return Today(amount, percent, balance, currency)


def today_usd(account: Account) -> Today | None:
    """An account's today in USD, as 3Commas sends it with the account."""
    return today(account.usd_amount, account.day_profit_usd, "USD")


def today_of(days: Iterable[Today | None]) -> Today | None:
    """Several accounts' today added up (one currency); None when none is known."""
    known = [day for day in days if day is not None]
    if not known:
        return None
    currencies = {day.currency for day in known}
    if len(currencies) != 1:
        raise ValueError(f"cannot add up days in {sorted(currencies)}")
    return today(
        sum((day.balance for day in known), Decimal(0)),
        sum((day.amount for day in known), Decimal(0)),
        known[0].currency,
    )
