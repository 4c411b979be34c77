"""Per-chat settings: the time zone used for daily summaries, and the chat's language."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import sqlite_utils

from bot.storage.cache import ReadCache
from bot.storage.worker import SqlWorker

# Chats whose time zone and language stay in memory, None (not set) included.
TIMEZONE_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class StoredLanguage:
    chosen: str | None = None  # set with /language
    telegram: str | None = None  # a private chat's user's language_code, as Telegram last sent it


class ChatSettingsStore:
    """Every write of chat_settings and chat_languages goes through it, or inside its
    `written`: `get_timezone` and `get_language` answer from memory."""

    def __init__(self, worker: SqlWorker) -> None:
        self._worker = worker
        self._timezones: ReadCache[int, str | None] = ReadCache(TIMEZONE_CACHE_SIZE)
        self._languages: ReadCache[int, StoredLanguage] = ReadCache(TIMEZONE_CACHE_SIZE)

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

    async def get_language(self, chat_id: int) -> StoredLanguage:
        def read(db: sqlite_utils.Database) -> StoredLanguage:
            row = db.execute(
                "SELECT chosen, telegram FROM chat_languages WHERE chat_id = ?", [chat_id]
            ).fetchone()
            return StoredLanguage() if row is None else StoredLanguage(row[0], row[1])

        return await self._languages.get(chat_id, lambda: self._worker.read(read))

    async def set_language(self, chat_id: int, *, chosen: str) -> None:
        """The language chosen with /language."""
        with self._languages.written(
            chat_id, lambda before: StoredLanguage(chosen, before.telegram)
        ):
            await self._worker.write(
                lambda db: db.execute(
                    "INSERT INTO chat_languages (chat_id, chosen) VALUES (?, ?) "
                    "ON CONFLICT (chat_id) DO UPDATE SET chosen = excluded.chosen",
                    [chat_id, chosen],
                )
            )

    async def set_telegram_language(self, chat_id: int, code: str) -> None:
        """The language Telegram says a private chat's user reads (a supported one)."""
        with self._languages.written(chat_id, lambda before: StoredLanguage(before.chosen, code)):
            await self._worker.write(
                lambda db: db.execute(
                    "INSERT INTO chat_languages (chat_id, telegram) VALUES (?, ?) "
                    "ON CONFLICT (chat_id) DO UPDATE SET telegram = excluded.telegram",
                    [chat_id, code],
                )
            )

    def written(self, chat_id: int) -> contextlib.AbstractContextManager[None]:
        """Around another store's write of the chat's settings: read them again next time."""
        return _both(self._timezones.written(chat_id), self._languages.written(chat_id))


@contextlib.contextmanager
def _both(
    first: contextlib.AbstractContextManager[None], second: contextlib.AbstractContextManager[None]
) -> Iterator[None]:
    with first, second:
        yield
