"""Opening refuses keys that do not fit, leaving the file untouched; rotation moves keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import Settings
from bot.storage import maintenance
from bot.storage.database import Database
from bot.storage.encryption import MasterKeyError, generate_key_text
from bot.storage.errors import StorageError, StorageStartupError
from tests.support.storage import file_state, keys_from, run_sql, write_then_die

USERS = (1, 2**33, 3)


async def create(path: Path, *key_texts: str) -> None:
    database = await Database.open(path, keys_from(*key_texts))
    for user_id in USERS:
        await database.credentials.save(user_id, f"key{user_id}", f"secret{user_id}", "hmac")
    await database.close()


async def assert_all_load(database: Database) -> None:
    for user_id in USERS:
        loaded = await database.credentials.load(user_id)
        assert loaded is not None
        assert (loaded.api_key, loaded.secret) == (f"key{user_id}", f"secret{user_id}")


async def test_wrong_key_is_refused_and_file_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await create(path, generate_key_text())
    before = file_state(path)
    with pytest.raises(StorageStartupError) as caught:
        await Database.open(path, keys_from(generate_key_text()))
    assert str(caught.value).startswith("BOT_ENCRYPTION_KEY: none of the given keys")
    assert "\n" not in str(caught.value)
    assert file_state(path) == before


async def test_wrong_key_is_refused_while_another_connection_holds_the_wal(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite3"
    key = generate_key_text()
    holder = await Database.open(path, keys_from(key))
    await holder.credentials.save(1, "key1", "secret1", "hmac")
    before = file_state(path)
    assert before["bot.sqlite3-wal"] is not None
    with pytest.raises(StorageStartupError):
        await Database.open(path, keys_from(generate_key_text()))
    assert file_state(path) == before
    assert await holder.credentials.load(1) is not None
    await holder.close()


async def test_wrong_key_after_a_crash_leaves_the_unfinished_wal_alone(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    key = generate_key_text()
    write_then_die(path, key, writes=3)
    before = file_state(path)
    assert before["bot.sqlite3-wal"] is not None
    with pytest.raises(StorageStartupError):
        await Database.open(path, keys_from(generate_key_text()))
    assert file_state(path) == before
    database = await Database.open(path, keys_from(key))
    assert await database.credentials.load(3) is not None
    await database.close()


async def test_missing_key_refuses_rotation_and_file_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await create(path, generate_key_text())
    before = file_state(path)
    settings = Settings(_env_file=None, database_path=path, bot_encryption_key=None)
    with pytest.raises(MasterKeyError):
        await maintenance.rotate_keys(settings)
    assert file_state(path) == before


async def test_backup_needs_no_key_and_copies_the_encrypted_values_as_they_are(
    tmp_path: Path,
) -> None:
    path, copy = tmp_path / "bot.sqlite3", tmp_path / "copy.sqlite3"
    key = generate_key_text()
    await create(path, key)
    settings = Settings(_env_file=None, database_path=path, bot_encryption_key=None)
    await maintenance.backup(settings, copy)
    database = await Database.open(copy, keys_from(key))
    try:
        await assert_all_load(database)
    finally:
        await database.close()


async def test_backup_of_a_missing_database_refuses_and_creates_nothing(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_path=tmp_path / "data" / "typo.sqlite3")
    with pytest.raises(StorageError, match=r"no database at .*typo\.sqlite3"):
        await maintenance.backup(settings, tmp_path / "backups" / "copy.sqlite3")
    assert os.listdir(tmp_path) == []


async def test_key_list_missing_a_key_some_row_needs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    old, new = generate_key_text(), generate_key_text()
    await create(path, old)
    database = await Database.open(path, keys_from(new, old))
    await database.credentials.save(99, "newer-key", "newer-secret", "hmac")
    await database.close()
    before = file_state(path)
    with pytest.raises(StorageStartupError) as caught:
        await Database.open(path, keys_from(old))
    assert keys_from(new).primary_key_id in str(caught.value)
    assert "rotate-keys" in str(caught.value)
    assert file_state(path) == before


async def test_rotation_moves_every_value_to_the_first_key(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    old, new = generate_key_text(), generate_key_text()
    await create(path, old)
    database = await Database.open(path, keys_from(new, old))
    assert await database.rotate_keys() == 2 * len(USERS)
    assert await database.rotate_keys() == 0
    await assert_all_load(database)
    await database.close()

    database = await Database.open(path, keys_from(new))
    await assert_all_load(database)
    await database.close()
    with pytest.raises(StorageStartupError):
        await Database.open(path, keys_from(old))


async def test_rotation_through_maintenance_with_settings(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    old, new = generate_key_text(), generate_key_text()
    await create(path, old)
    settings = Settings(_env_file=None, database_path=path, bot_encryption_key=f"{new},{old}")
    assert await maintenance.rotate_keys(settings) == 2 * len(USERS)
    database = await Database.open(path, keys_from(new))
    await assert_all_load(database)
    await database.close()


async def test_rotation_stops_unchanged_on_a_value_it_cannot_decrypt(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    old, new = generate_key_text(), generate_key_text()
    await create(path, old)
    database = await Database.open(path, keys_from(new, old))
    # Move user 3's secret onto user 1's row: it still names the old key but cannot decrypt.
    await database._worker.write(
        lambda db: db.execute(
            "UPDATE credentials SET secret = (SELECT secret FROM credentials WHERE user_id = 3) "
            "WHERE user_id = 1"
        )
    )
    with pytest.raises(StorageError, match="cannot rotate keys"):
        await database.rotate_keys()
    loaded = await database.credentials.load(2**33)
    assert loaded is not None
    await database.close()
    database = await Database.open(path, keys_from(old))
    assert await database.credentials.load(2**33) is not None
    await database.close()


async def test_database_from_a_newer_bot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    key = generate_key_text()
    await create(path, key)
    database = await Database.open(path, keys_from(key))
    await database._worker.write(
        lambda db: db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    )
    await database.close()
    before = file_state(path)
    with pytest.raises(StorageStartupError, match="schema version 999"):
        await Database.open(path, keys_from(key))
    assert file_state(path) == before


async def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    run_sql(path, "CREATE TABLE t (x)")
    with pytest.raises(StorageStartupError, match="not a database of this bot"):
        await Database.open(path, keys_from(generate_key_text()))


async def test_open_creates_parent_directories_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "bot.sqlite3"
    database = await Database.open(path, keys_from(generate_key_text()))

    def pragmas(db: object) -> tuple[object, ...]:
        connection = db.conn  # type: ignore[attr-defined]
        return tuple(
            connection.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")
        )

    assert await database._worker.read(pragmas) == ("wal", 5000, 2, 1)
    assert await database.integrity_check() == "ok"
    await database.close()
