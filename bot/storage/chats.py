"""Per-chat settings: for now the timezone used for daily summaries."""

from __future__ import annotations

import sqlite_utils

from bot.storage.worker import SqlWorker


class ChatSettingsStore:
    def __init__(self, worker: SqlWorker) -> None:
        self._worker = worker

    async def get_timezone(self, chat_id: int) -> str | None:
        def read(db: sqlite_utils.Database) -> str | None:
            row = db.execute(
                "SELECT timezone FROM chat_settings WHERE chat_id = ?", [chat_id]
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._worker.read(read)

    async def set_timezone(self, chat_id: int, tz: str) -> None:
        await self._worker.write(
            lambda db: db.execute(
                "INSERT INTO chat_settings (chat_id, timezone) VALUES (?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET timezone = excluded.timezone",
                [chat_id, tz],
            )
        )
