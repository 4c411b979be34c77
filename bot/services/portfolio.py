"""Every account of a user at once: the total of `/refresh all`, and the last known figures.

The total adds up the USD and BTC balances of the accounts that answered, and their today in
USD (bot.services.today); `/refresh all` and the Mini App both take it from here. The last known
figures are each account's latest snapshot, read from the database without asking 3Commas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.services.accounts import AccountService, RefreshResult
from bot.services.summary import AccountSummary
from bot.services.today import Today, today, today_of
from bot.storage.database import Database
from bot.storage.records import KnownAccount, Snapshot


@dataclass(frozen=True)
class PortfolioTotal:
    balance_usd: Decimal
    balance_btc: Decimal
    answered: int  # accounts with figures, added up here
    accounts: int  # every account
    updated: tuple[datetime, ...]  # 3Commas' update times of those added up
    today: Today | None  # in USD; None when no account's is known


def portfolio_total(results: Sequence[RefreshResult]) -> PortfolioTotal:
    summaries = [result.summary for result in results if result.summary is not None]
    return PortfolioTotal(
        balance_usd=sum((summary.balance_usd or Decimal(0) for summary in summaries), Decimal(0)),
        balance_btc=sum((summary.balance_btc or Decimal(0) for summary in summaries), Decimal(0)),
        answered=len(summaries),
        accounts=len(results),
        updated=tuple(summary.updated_at for summary in summaries if summary.updated_at),
        today=today_of(summary.today_usd for summary in summaries),
    )


@dataclass(frozen=True)
class LastKnown:
    """An account as last refreshed here: its summary (None: never) and when it was taken."""

    account: KnownAccount
    summary: AccountSummary | None
    taken_at: datetime | None


def summary_of(account: KnownAccount, snapshot: Snapshot) -> AccountSummary:
    """The summary a snapshot was taken from, as far as it was kept."""
    day_usd = snapshot.day_profit_usd
    if day_usd is None and (snapshot.currency or "USD").upper() == "USD":
        day_usd = snapshot.day_profit  # a snapshot from before day_profit_usd was kept
    return AccountSummary(
        account_id=account.account_id,
        name=account.name,
        exchange=account.exchange,
        currency=(snapshot.currency or "USD").upper(),
        balance=snapshot.amount,
        balance_btc=snapshot.btc_amount,
        balance_usd=snapshot.usd_amount,
        profit=snapshot.profit,
        profit_percentage=snapshot.profit_percentage,
        all_time_profit=None,
        day_profit=snapshot.day_profit,
        day_profit_percentage=snapshot.day_profit_percentage,
        api_keys_state=None,
        updated_at=snapshot.updated_at or snapshot.taken_at,
        today_usd=today(snapshot.usd_amount, day_usd, "USD"),
    )


class PortfolioService:
    def __init__(self, db: Database, accounts: AccountService) -> None:
        self._db = db
        self._accounts = accounts

    async def last_known(self, user_id: int) -> list[LastKnown]:
        """Every account of the user, in the order of /refresh all, with its latest snapshot.
        Asks 3Commas only when no account of the user is known yet (as /refresh all would)."""
        accounts = await self._accounts.accounts(user_id)
        snapshots = await self._db.snapshots.latest_of_user(user_id)
        known: list[LastKnown] = []
        for account in accounts:
            snapshot = snapshots.get(account.account_id)
            if snapshot is None:
                known.append(LastKnown(account, None, None))
            else:
                known.append(LastKnown(account, summary_of(account, snapshot), snapshot.taken_at))
        return known
