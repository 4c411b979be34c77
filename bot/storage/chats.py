"""Per-chat settings: for now the timezone used for daily summaries."""

from __future__ import annotations

import contextlib

import sqlite_utils

from bot.storage.cache import ReadCache
from bot.storage.worker import SqlWorker

# Chats whose time zone stays in memory, None (not set) included.
TIMEZONE_CACHE_SIZE = 10_000


class ChatSettingsStore:
    """Every write of chat_settings goes through it, or inside its `written`: `get_timezone`
    answers from memory."""

    def __init__(self, worker: SqlWorker) -> None:
        self._worker = worker
        self._timezones: ReadCache[int, str | None] = ReadCache(TIMEZONE_CACHE_SIZE)

    async def get_timezone(self, chat_id: int) -> str | None:
        def read(db: sqlite_utils.Database) -> str | None:
            row = db.execute(
                "SELECT timezone FROM chat_settings WHERE chat_id = ?", [chat_id]
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._timezones.get(chat_id, lambda: self._worker.read(read))

    async def set_timezone(self, chat_id: int, tz: str) -> None:
        with self._timezones.written(chat_id, lambda _before: tz):
            await self._worker.write(
                lambda db: db.execute(
                    "INSERT INTO chat_settings (chat_id, timezone) VALUES (?, ?) "
                    "ON CONFLICT (chat_id) DO UPDATE SET timezone = excluded.timezone",
                    [chat_id, tz],
                )
            )

    def written(self, chat_id: int) -> contextlib.AbstractContextManager[None]:
        """Around another store's write of the chat's settings: read them again next time."""
        return self._timezones.written(chat_id)
