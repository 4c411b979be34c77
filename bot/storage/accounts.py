"""The 3Commas accounts each user has, by name, so `/refresh <name>` can find one."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from bot.storage.columns import optional_time_text, parse_optional_time
from bot.storage.records import KnownAccount
from bot.storage.worker import SqlWorker

UPSERT_ACCOUNT = (
    "INSERT INTO accounts (user_id, account_id, name, exchange, refreshed_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, account_id) DO UPDATE SET "
    "name = excluded.name, exchange = excluded.exchange, "
    "refreshed_at = COALESCE(excluded.refreshed_at, accounts.refreshed_at)"
)


def account_values(user_id: int, account: KnownAccount) -> builtins.list[Any]:
    return [
        user_id,
        account.account_id,
        account.name,
        account.exchange,
        optional_time_text(account.refreshed_at),
    ]


class AccountStore:
    def __init__(self, worker: SqlWorker) -> None:
        self._worker = worker

    async def replace(self, user_id: int, accounts: Sequence[KnownAccount]) -> None:
        """Make `accounts` the user's whole list, in one transaction; an account listed again
        keeps when it was last refreshed (a reconnect must not make every account look new)."""
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

        await self._worker.write(write)

    async def upsert(self, user_id: int, account: KnownAccount) -> None:
        values = account_values(user_id, account)
        await self._worker.write(lambda db: db.execute(UPSERT_ACCOUNT, values))

    async def list(self, user_id: int) -> builtins.list[KnownAccount]:
        """The user's accounts ordered by name (case-insensitively), then id."""

        def read(db: sqlite_utils.Database) -> builtins.list[KnownAccount]:
            return [
                KnownAccount(
                    account_id=row["account_id"],
                    name=row["name"],
                    exchange=row["exchange"],
                    refreshed_at=parse_optional_time(row["refreshed_at"]),
                )
                for row in db.query(
                    "SELECT * FROM accounts WHERE user_id = ? "
                    "ORDER BY name COLLATE NOCASE, name, account_id",
                    [user_id],
                )
            ]

        return await self._worker.read(read)
