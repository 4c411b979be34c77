"""The 3Commas accounts each user has, by name, so `/refresh <name>` can find one."""

from __future__ import annotations

import builtins
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import sqlite_utils

from bot.storage.cache import ReadCache
from bot.storage.columns import optional_time_text, parse_optional_time
from bot.storage.records import KnownAccount, account_order
from bot.storage.worker import SqlWorker

UPSERT_ACCOUNT = (
    "INSERT INTO accounts (user_id, account_id, name, exchange, refreshed_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, account_id) DO UPDATE SET "
    "name = excluded.name, exchange = excluded.exchange, "
    "refreshed_at = COALESCE(excluded.refreshed_at, accounts.refreshed_at)"
)

# Users whose account lists stay in memory; a list is a few hundred bytes an account.
ACCOUNT_CACHE_SIZE = 2_000


def account_values(user_id: int, account: KnownAccount) -> builtins.list[Any]:
    return [
        user_id,
        account.account_id,
        account.name,
        account.exchange,
        optional_time_text(account.refreshed_at),
    ]


def _upserted(
    known: tuple[KnownAccount, ...], written: KnownAccount
) -> tuple[KnownAccount, ...] | None:
    """`known` after UPSERT_ACCOUNT wrote `written`, when its place in the order stays; None
    for a new or renamed account (SQL sorts it)."""
    for index, account in enumerate(known):
        if account.account_id == written.account_id:
            if account.name != written.name:
                return None
            # As stored and read back: UTC, and COALESCE keeps a known refresh time.
            refreshed_at = parse_optional_time(optional_time_text(written.refreshed_at))
            updated = replace(
                account,
                exchange=written.exchange,
                refreshed_at=refreshed_at or account.refreshed_at,
            )
            return (*known[:index], updated, *known[index + 1 :])
    return None


class AccountStore:
    """Every write of the accounts table goes through it, or inside its `written`: `list`
    answers from memory."""

    def __init__(self, worker: SqlWorker) -> None:
        self._worker = worker
        self._cached: ReadCache[int, tuple[KnownAccount, ...]] = ReadCache(ACCOUNT_CACHE_SIZE)

    async def replace(
        self,
        user_id: int,
        accounts: Sequence[KnownAccount],
        unchanged: Callable[[], bool] = lambda: True,
    ) -> bool:
        """Make `accounts` the user's whole list, in one transaction; an account listed again
        keeps when it was last refreshed (a reconnect must not make every account look new).
        Nothing is written unless `unchanged()` holds in the transaction; returns whether."""
        replacing = self.replacing(user_id, accounts)

        def write(db: sqlite_utils.Database) -> bool:
            if not unchanged():
                return False
            replacing(db)
            return True

        with self.written(user_id):
            return await self._worker.write(write)

    def replacing(
        self, user_id: int, accounts: Sequence[KnownAccount]
    ) -> Callable[[sqlite_utils.Database], None]:
        """The write of `replace`, for a larger transaction (inside `written`)."""
        rows = [account_values(user_id, account) for account in accounts]
        kept = [account.account_id for account in accounts]

        def write(db: sqlite_utils.Database) -> None:
            db.execute(
                "DELETE FROM accounts WHERE user_id = ? AND account_id NOT IN "
                "(SELECT value FROM json_each(?))",
                [user_id, json.dumps(kept)],
            )
            for row in rows:
                db.execute(UPSERT_ACCOUNT, row)

        return write

    async def upsert(self, user_id: int, account: KnownAccount) -> None:
        values = account_values(user_id, account)
        with self.written(user_id):
            await self._worker.write(lambda db: db.execute(UPSERT_ACCOUNT, values))

    def written(
        self, user_id: int, upserted: KnownAccount | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """Around a write of the user's accounts (by another store too): read them again next
        time, or, for one account written with UPSERT_ACCOUNT, change it in memory."""
        if upserted is None:
            return self._cached.written(user_id)
        return self._cached.written(user_id, lambda known: _upserted(known, upserted))

    async def list(self, user_id: int) -> builtins.list[KnownAccount]:
        """The user's accounts in `account_order`; a new list."""

        def read(db: sqlite_utils.Database) -> tuple[KnownAccount, ...]:
            rows = db.query("SELECT * FROM accounts WHERE user_id = ?", [user_id])
            known = (
                KnownAccount(
                    account_id=row["account_id"],
                    name=row["name"],
                    exchange=row["exchange"],
                    refreshed_at=parse_optional_time(row["refreshed_at"]),
                )
                for row in rows
            )
            return tuple(sorted(known, key=account_order))

        known = await self._cached.get(user_id, lambda: self._worker.read(read))
        return builtins.list(known)
