"""Refresh results commit without fsync, and every other write stays fully durable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.encryption import generate_key_text, load_master_keys
from bot.storage.records import KnownAccount

FULL = 2


async def test_relaxed_writes_restore_full_sync_and_are_readable(tmp_path: Path) -> None:
    database = await Database.open(
        tmp_path / "db.sqlite3", load_master_keys(generate_key_text(), None)
    )
    try:
        worker = database._worker
        await database.accounts.upsert(7, KnownAccount(1, "Main", "Binance"))
        (level,) = await worker.read(lambda db: db.execute("PRAGMA synchronous").fetchone())
        assert level == FULL
        assert [a.name for a in await database.accounts.list(7)] == ["Main"]

        def fails(db: object) -> None:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await worker.write_relaxed(fails)
        (level,) = await worker.read(lambda db: db.execute("PRAGMA synchronous").fetchone())
        assert level == FULL, "a failed relaxed write leaves the connection durable"
    finally:
        await database.close()
