"""Balances and profits of an account at a moment, kept to show changes over time."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import sqlite_utils

from bot.storage.accounts import UPSERT_ACCOUNT, AccountStore, account_values
from bot.storage.cache import ReadCache
from bot.storage.columns import (
    decimal_text,
    optional_time_text,
    parse_decimal,
    parse_optional_time,
    parse_time,
    time_text,
)
from bot.storage.records import KnownAccount, Snapshot
from bot.storage.worker import SqlWorker

_MONEY_COLUMNS = (
    "amount",
    "usd_amount",
    "btc_amount",
    "profit",
    "profit_percentage",
    "day_profit",
    "day_profit_percentage",
    "day_profit_usd",
)

_INSERT = (
    "INSERT INTO snapshots (user_id, account_id, taken_at, currency, amount, usd_amount, "
    "btc_amount, profit, profit_percentage, day_profit, day_profit_percentage, day_profit_usd, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _snapshot(row: dict[str, Any]) -> Snapshot:
    money = {column: parse_decimal(row[column]) for column in _MONEY_COLUMNS}
    return Snapshot(
        user_id=row["user_id"],
        account_id=row["account_id"],
        taken_at=parse_time(row["taken_at"]),
        currency=row["currency"],
        updated_at=parse_optional_time(row["updated_at"]),
        **money,
    )


# Snapshots give an account's latest balance in its display currency (holdings use its rate);
# 3Commas keeps the long history. A bounded number per account keeps the table from growing.
KEPT_PER_ACCOUNT = 30
_PRUNE = (
    "DELETE FROM snapshots WHERE user_id = ? AND account_id = ? AND id NOT IN "
    "(SELECT id FROM snapshots WHERE user_id = ? AND account_id = ? "
    "ORDER BY taken_at DESC, id DESC LIMIT ?)"
)


# Users whose latest snapshots stay in memory (the Mini App reads them on every open).
LATEST_CACHE_SIZE = 2_000


class SnapshotStore:
    """Every write of the snapshots table goes through it, or inside its `written`."""

    def __init__(self, worker: SqlWorker, accounts: AccountStore) -> None:
        self._worker = worker
        self._accounts = accounts
        self._latest: ReadCache[int, dict[int, Snapshot]] = ReadCache(LATEST_CACHE_SIZE)

    def written(self, user_id: int) -> contextlib.AbstractContextManager[None]:
        """Around a write of the user's snapshots: the latest ones are read again after it."""
        return self._latest.written(user_id)

    async def add(
        self,
        snapshot: Snapshot,
        account: KnownAccount | None = None,
        unchanged: Callable[[], bool] = lambda: True,
    ) -> bool:
        """Store a snapshot, keeping the account's last KEPT_PER_ACCOUNT; with `account`, also
        its name and refresh time, in one commit. Nothing is written unless `unchanged()` holds
        in the transaction; returns whether."""
        values = [
            snapshot.user_id,
            snapshot.account_id,
            time_text(snapshot.taken_at),
            snapshot.currency,
            *(decimal_text(getattr(snapshot, column)) for column in _MONEY_COLUMNS),
            optional_time_text(snapshot.updated_at),
        ]

        def write(db: sqlite_utils.Database) -> bool:
            if not unchanged():
                return False
            if account is not None:
                db.execute(UPSERT_ACCOUNT, account_values(snapshot.user_id, account))
            db.execute(_INSERT, values)
            owner = [snapshot.user_id, snapshot.account_id]
            db.execute(_PRUNE, [*owner, *owner, KEPT_PER_ACCOUNT])
            return True

        writes_account = (
            contextlib.nullcontext()
            if account is None
            else self._accounts.written(snapshot.user_id, account)
        )
        with writes_account, self.written(snapshot.user_id):
            return await self._worker.write_together(write)

    async def latest(self, user_id: int, account_id: int) -> Snapshot | None:
        def read(db: sqlite_utils.Database) -> Snapshot | None:
            rows = db.query(
                "SELECT * FROM snapshots WHERE user_id = ? AND account_id = ? "
                "ORDER BY taken_at DESC, id DESC LIMIT 1",
                [user_id, account_id],
            )
            row = next(iter(rows), None)
            return None if row is None else _snapshot(row)

        return await self._worker.read(read)

    async def latest_of_user(self, user_id: int) -> dict[int, Snapshot]:
        """The latest snapshot of each of the user's accounts, by account id (one query)."""

        def read(db: sqlite_utils.Database) -> dict[int, Snapshot]:
            rows = db.query(
                "SELECT * FROM snapshots AS s WHERE s.user_id = ? AND s.id = "
                "(SELECT id FROM snapshots WHERE user_id = s.user_id "
                "AND account_id = s.account_id ORDER BY taken_at DESC, id DESC LIMIT 1)",
                [user_id],
            )
            return {row["account_id"]: _snapshot(row) for row in rows}

        latest = await self._latest.get(user_id, lambda: self._worker.read(read))
        return dict(latest)

    async def count(self, user_id: int | None = None) -> int:
        def read(db: sqlite_utils.Database) -> int:
            if user_id is None:
                cursor = db.execute("SELECT count(*) FROM snapshots")
            else:
                cursor = db.execute("SELECT count(*) FROM snapshots WHERE user_id = ?", [user_id])
            return int(cursor.fetchone()[0])

        return await self._worker.read(read)
