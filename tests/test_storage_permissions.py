"""The database file, its WAL and shared memory are owner-only (0600) in an owner-only folder."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.database import Database
from tests.support.storage import new_keys, write_then_die


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def database_and_sidecars(path: Path) -> list[Path]:
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm")]


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common umask 022, under which files are created 0644 and folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


async def test_a_new_database_is_owner_only_in_an_owner_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "bot"
    path = folder / "bot.sqlite3"
    _, keys = new_keys()
    database = await Database.open(path, keys)
    try:
        await database.credentials.save(1, "key-1", "secret-1", "hmac")
        files = database_and_sidecars(path)
        assert all(file.exists() for file in files)  # the WAL and shared memory are open now
        assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
        assert mode(folder) == 0o700
    finally:
        await database.close()


async def test_an_existing_database_and_its_wal_are_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    key_text, keys = new_keys()
    write_then_die(path, key_text, writes=2)  # leaves a WAL behind
    for file in database_and_sidecars(path):
        if file.exists():
            file.chmod(0o644)
    database = await Database.open(path, keys)
    try:
        assert await database.credentials.load(1) is not None
        for file in database_and_sidecars(path):
            assert mode(file) == 0o600, file.name
    finally:
        await database.close()


async def test_an_existing_open_folder_is_left_to_the_operator_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    _, keys = new_keys()
    with caplog.at_level(logging.WARNING, logger="bot.storage.database"):
        database = await Database.open(folder / "bot.sqlite3", keys)
    await database.close()
    assert mode(folder) == 0o755
    assert mode(folder / "bot.sqlite3") == 0o600
    assert "consider chmod 700" in caplog.text
