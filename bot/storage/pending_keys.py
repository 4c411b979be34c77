"""Private keys of the key pairs the bot made for users, encrypted, until 3Commas' API key for
the pair arrives; an expired one keeps only its row, so its user can be told."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from bot.storage.columns import parse_time, time_text
from bot.storage.encryption import DecryptionError, MasterKeys
from bot.storage.errors import CredentialsUnreadable
from bot.storage.records import PendingKey
from bot.storage.worker import SqlWorker

# The field in the associated data: a pending key never decrypts as another column's value.
FIELD = "private_key"


class PendingKeyStore:
    def __init__(self, worker: SqlWorker, keys: MasterKeys) -> None:
        self._worker = worker
        self._keys = keys

    async def save(self, user_id: int, private_key: str, created_at: datetime) -> None:
        """Store the user's pending private key, replacing any earlier one."""
        sealed = self._keys.encrypt(private_key, user_id=user_id, field=FIELD)
        created = time_text(created_at)
        await self._worker.write(
            lambda db: db.execute(
                "INSERT INTO pending_keys (user_id, private_key, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET private_key = excluded.private_key, "
                "created_at = excluded.created_at",
                [user_id, sealed, created],
            )
        )

    async def waiting(self, user_id: int) -> bool:
        """Whether the user has a key pair not yet expired by the sweep (nothing is decrypted)."""

        def read(db: sqlite_utils.Database) -> bool:
            row = db.execute(
                "SELECT 1 FROM pending_keys WHERE user_id = ? AND private_key IS NOT NULL",
                [user_id],
            ).fetchone()
            return row is not None

        return await self._worker.read(read)

    async def load(self, user_id: int) -> PendingKey | None:
        """The user's pending key (its private key None once expired), or None;
        CredentialsUnreadable if it does not decrypt."""

        def read(db: sqlite_utils.Database) -> dict[str, Any] | None:
            rows = db.query("SELECT * FROM pending_keys WHERE user_id = ?", [user_id])
            return next(iter(rows), None)

        row = await self._worker.read(read)
        if row is None:
            return None
        private_key = None
        if row["private_key"] is not None:
            try:
                private_key = self._keys.decrypt(row["private_key"], user_id=user_id, field=FIELD)
            except DecryptionError:
                raise CredentialsUnreadable(user_id) from None
        return PendingKey(user_id, private_key, parse_time(row["created_at"]))

    async def expire(self, made_before: datetime, forget_before: datetime) -> int:
        """Erase the private keys made before `made_before`, and the rows made before
        `forget_before`; returns how many private keys were erased."""
        expired, forgotten = time_text(made_before), time_text(forget_before)

        def write(db: sqlite_utils.Database) -> int:
            erased = db.execute(
                "UPDATE pending_keys SET private_key = NULL "
                "WHERE created_at < ? AND private_key IS NOT NULL",
                [expired],
            ).rowcount
            db.execute("DELETE FROM pending_keys WHERE created_at < ?", [forgotten])
            return int(erased)

        return await self._worker.write(write)

    async def delete(self, user_id: int) -> bool:
        """Forget the user's pending key; False when there was none."""

        def write(db: sqlite_utils.Database) -> bool:
            cursor = db.execute("DELETE FROM pending_keys WHERE user_id = ?", [user_id])
            return bool(cursor.rowcount)

        return await self._worker.write(write)
