"""Per-chat settings: for now the timezone used for daily summaries."""

from __future__ import annotations

import sqlite_utils

from bot.storage.cache import ReadCache
from bot.storage.worker import SqlWorker

# Chats whose time zone stays in memory, None (not set) included.
TIMEZONE_CACHE_SIZE = 10_000


class ChatSettingsStore:
    """Every write of chat_settings goes through it (or tells it with `forget_cached`):
    `get_timezone` answers from memory."""

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
        try:
            await self._worker.write(
                lambda db: db.execute(
                    "INSERT INTO chat_settings (chat_id, timezone) VALUES (?, ?) "
                    "ON CONFLICT (chat_id) DO UPDATE SET timezone = excluded.timezone",
                    [chat_id, tz],
                )
            )
        except BaseException:
            # A cancelled wait may still commit: read it again next time.
            self.forget_cached(chat_id)
            raise
        self._timezones.update(chat_id, lambda _before: tz)

    def forget_cached(self, chat_id: int) -> None:
        """The chat's settings were written (or may have been): read them again next time."""
        self._timezones.forget(chat_id)
