"""Each user's 3Commas API key and secret (or RSA private key), encrypted per user and column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlite_utils

from bot.storage.columns import now_text, parse_optional_time, parse_time
from bot.storage.encryption import DecryptionError, MasterKeys
from bot.storage.errors import CredentialsUnreadable
from bot.storage.records import KEY_TYPES, KeyType, StoredCredentials
from bot.storage.worker import SqlWorker


class CredentialStore:
    def __init__(self, worker: SqlWorker, keys: MasterKeys) -> None:
        self._worker = worker
        self._keys = keys

    async def save(self, user_id: int, api_key: str, secret: str, key_type: str) -> None:
        """Store or replace the user's credentials; keeps created_at, clears last_validated_at."""
        await self._worker.write(self.saving(user_id, api_key, secret, key_type))

    def saving(
        self, user_id: int, api_key: str, secret: str, key_type: str, *, validated: bool = False
    ) -> Callable[[sqlite_utils.Database], None]:
        """The write of `save` (marked validated now if `validated`), for a larger transaction."""
        if key_type not in KEY_TYPES:
            raise ValueError(f"key_type must be one of {KEY_TYPES}")
        # Encrypt before handing to the worker so plaintext never waits in a queue longer than needed.
        sealed_key = self._keys.encrypt(api_key, user_id=user_id, field="api_key")
        sealed_secret = self._keys.encrypt(secret, user_id=user_id, field="secret")
        now = now_text()
        validated_at = now if validated else None

        def write(db: sqlite_utils.Database) -> None:
            db.execute(
                "INSERT INTO credentials (user_id, api_key, secret, key_type, created_at, "
                "updated_at, last_validated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET api_key = excluded.api_key, "
                "secret = excluded.secret, key_type = excluded.key_type, "
                "updated_at = excluded.updated_at, last_validated_at = excluded.last_validated_at",
                [user_id, sealed_key, sealed_secret, key_type, now, now, validated_at],
            )

        return write

    async def load(self, user_id: int) -> StoredCredentials | None:
        """The user's credentials, or None; CredentialsUnreadable if they do not decrypt."""

        def read(db: sqlite_utils.Database) -> dict[str, Any] | None:
            rows = db.query("SELECT * FROM credentials WHERE user_id = ?", [user_id])
            return next(iter(rows), None)

        row = await self._worker.read(read)
        if row is None:
            return None
        try:
            api_key = self._keys.decrypt(row["api_key"], user_id=user_id, field="api_key")
            secret = self._keys.decrypt(row["secret"], user_id=user_id, field="secret")
        except DecryptionError:
            raise CredentialsUnreadable(user_id) from None
        return StoredCredentials(
            user_id=user_id,
            api_key=api_key,
            secret=secret,
            key_type=KeyType(row["key_type"]),
            created_at=parse_time(row["created_at"]),
            updated_at=parse_time(row["updated_at"]),
            last_validated_at=parse_optional_time(row["last_validated_at"]),
        )

    async def mark_validated(self, user_id: int) -> None:
        now = now_text()
        await self._worker.write(
            lambda db: db.execute(
                "UPDATE credentials SET last_validated_at = ? WHERE user_id = ?", [now, user_id]
            )
        )

    async def delete(self, user_id: int) -> None:
        await self._worker.write(
            lambda db: db.execute("DELETE FROM credentials WHERE user_id = ?", [user_id])
        )
