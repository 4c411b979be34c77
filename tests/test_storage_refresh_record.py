"""A refresh's snapshot and its account row are stored together, fully durable."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bot.storage.database import Database
from bot.storage.encryption import generate_key_text, load_master_keys
from bot.storage.records import KnownAccount, Snapshot

FULL = 2


async def test_snapshot_with_its_account_is_one_durable_commit(tmp_path: Path) -> None:
    database = await Database.open(
        tmp_path / "db.sqlite3", load_master_keys(generate_key_text(), None)
    )
    try:
        now = datetime.now(UTC)
        snapshot = Snapshot(7, 1, now, "USD", Decimal("31.21"), None, None, None, None, None, None)
        await database.snapshots.add(snapshot, KnownAccount(1, "Main", "Binance", now))
        assert [a.name for a in await database.accounts.list(7)] == ["Main"]
        latest = await database.snapshots.latest(7, 1)
        assert latest is not None and latest.amount == Decimal("31.21")
        (level,) = await database._worker.read(
            lambda db: db.execute("PRAGMA synchronous").fetchone()
        )
        assert level == FULL
    finally:
        await database.close()
