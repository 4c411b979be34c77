"""The in-memory read caches: ReadCache itself, then the account lists and chat time zones the
stores answer from memory, right after every write that goes through the stores."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from bot.storage.cache import ReadCache
from bot.storage.database import Database
from bot.storage.encryption import MasterKeys
from bot.storage.records import KnownAccount
from tests.support.storage import new_keys, run_sql, snapshot_for

USER = 7
OTHER_CHAT = -1001000700
SOON = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
ACCOUNTS = [
    KnownAccount(3, "Zed", None),
    KnownAccount(1, "binance", "binance"),
    KnownAccount(2, "Kraken", "kraken", SOON - timedelta(days=1)),
]


# --------------------------------------------------------------------------- ReadCache


class Loads:
    """A load function that counts its calls and returns `value` as it is then."""

    def __init__(self, value: str = "v1") -> None:
        self.value = value
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        return self.value


async def test_a_value_is_loaded_once_then_served_from_memory() -> None:
    cache: ReadCache[str, str] = ReadCache(size=2)
    load = Loads()
    assert await cache.get("a", load) == "v1"
    load.value = "v2"
    assert await cache.get("a", load) == "v1"
    assert load.calls == 1


async def test_none_is_a_value_like_any_other() -> None:
    cache: ReadCache[str, str | None] = ReadCache(size=2)
    calls = 0

    async def nothing() -> str | None:
        nonlocal calls
        calls += 1
        return None

    assert await cache.get("a", nothing) is None
    assert await cache.get("a", nothing) is None
    assert calls == 1


async def test_the_least_recently_used_value_goes_first_past_the_size() -> None:
    cache: ReadCache[str, str] = ReadCache(size=2)
    loads = {key: Loads(key) for key in "abc"}
    await cache.get("a", loads["a"])
    await cache.get("b", loads["b"])
    await cache.get("a", loads["a"])  # used last: "b" is now the oldest
    await cache.get("c", loads["c"])
    await cache.get("a", loads["a"])
    await cache.get("b", loads["b"])
    assert {key: load.calls for key, load in loads.items()} == {"a": 1, "b": 2, "c": 1}


async def test_forget_and_clear_load_again() -> None:
    cache: ReadCache[str, str] = ReadCache(size=2)
    load = Loads()
    await cache.get("a", load)
    cache.forget("a")
    load.value = "v2"
    assert await cache.get("a", load) == "v2"
    cache.clear()
    load.value = "v3"
    assert await cache.get("a", load) == "v3"
    assert load.calls == 3


async def test_update_changes_a_cached_value_and_none_forgets_it() -> None:
    cache: ReadCache[str, str] = ReadCache(size=2)
    load = Loads()
    cache.update("a", lambda value: value + "!")  # nothing cached: nothing to change
    await cache.get("a", load)
    cache.update("a", lambda value: value + "!")
    assert await cache.get("a", load) == "v1!"
    cache.update("a", lambda _value: None)
    assert await cache.get("a", load) == "v1"
    assert load.calls == 2


async def test_a_value_written_is_forgotten_or_changed_and_forgotten_when_the_write_fails() -> None:
    cache: ReadCache[str, str] = ReadCache(size=2)
    load = Loads()
    await cache.get("a", load)
    with cache.written("a", lambda value: value + "!"):
        pass
    assert await cache.get("a", load) == "v1!"
    with cache.written("a"):
        load.value = "v2"
    assert await cache.get("a", load) == "v2"
    with pytest.raises(RuntimeError), cache.written("a", lambda value: value + "!"):
        load.value = "v3"
        raise RuntimeError("the write may have committed")
    assert await cache.get("a", load) == "v3"
    assert load.calls == 3


async def test_a_failed_load_stores_nothing() -> None:
    cache: ReadCache[str, str] = ReadCache(size=2)

    async def failing() -> str:
        raise RuntimeError("the database is gone")

    with pytest.raises(RuntimeError):
        await cache.get("a", failing)
    assert await cache.get("a", Loads()) == "v1"


class HeldLoad:
    """A load that reads "before", then waits to be let go: a write lands meanwhile."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.go_on = asyncio.Event()

    async def __call__(self) -> str:
        self.started.set()
        await self.go_on.wait()
        return "before"


INVALIDATIONS: dict[str, Callable[[ReadCache[str, str]], None]] = {
    "forget": lambda cache: cache.forget("a"),
    "update": lambda cache: cache.update("a", lambda _value: "after"),
    "clear": lambda cache: cache.clear(),
}


@pytest.mark.parametrize("invalidate", INVALIDATIONS.values(), ids=INVALIDATIONS.keys())
async def test_a_load_that_started_before_an_invalidation_is_not_kept(
    invalidate: Callable[[ReadCache[str, str]], None],
) -> None:
    cache: ReadCache[str, str] = ReadCache(size=2)
    held = HeldLoad()
    filling = asyncio.create_task(cache.get("a", held))
    await held.started.wait()
    invalidate(cache)
    held.go_on.set()
    assert await filling == "before"  # its caller gets what it read
    assert await cache.get("a", Loads("after")) == "after"


async def test_invalidating_one_key_keeps_the_load_of_another() -> None:
    cache: ReadCache[str, str] = ReadCache(size=2)
    held = HeldLoad()
    filling = asyncio.create_task(cache.get("a", held))
    await held.started.wait()
    cache.forget("b")
    held.go_on.set()
    await filling
    assert await cache.get("a", Loads("after")) == "before"


# --------------------------------------------------------------------------- through the stores


@pytest.fixture
def keys() -> MasterKeys:
    return new_keys()[1]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "bot.sqlite3"


@pytest.fixture
async def database(path: Path, keys: MasterKeys) -> AsyncIterator[Database]:
    database = await Database.open(path, keys)
    await database.accounts.replace(USER, ACCOUNTS)
    yield database
    await database.close()


async def stored(path: Path, keys: MasterKeys, user_id: int = USER) -> list[KnownAccount]:
    """The user's accounts as a second, fresh connection reads them from the file."""
    fresh = await Database.open(path, keys)
    try:
        return await fresh.accounts.list(user_id)
    finally:
        await fresh.close()


def names(accounts: list[KnownAccount]) -> list[str]:
    return [account.name for account in accounts]


async def test_a_second_list_answers_from_memory(database: Database, path: Path) -> None:
    first = await database.accounts.list(USER)
    assert names(first) == ["binance", "Kraken", "Zed"]
    # Behind the stores' back, so not seen: every write must go through the stores.
    run_sql(path, "UPDATE accounts SET name = 'Changed' WHERE account_id = 1")
    assert await database.accounts.list(USER) == first


async def test_each_list_is_a_new_list_the_caller_may_keep(database: Database) -> None:
    listed = await database.accounts.list(USER)
    listed.clear()
    assert names(await database.accounts.list(USER)) == ["binance", "Kraken", "Zed"]


async def test_replace_and_upsert_show_in_the_next_list(
    database: Database, path: Path, keys: MasterKeys
) -> None:
    await database.accounts.list(USER)
    await database.accounts.replace(USER, [KnownAccount(3, "Alpha"), KnownAccount(4, "New")])
    assert names(await database.accounts.list(USER)) == ["Alpha", "New"]
    await database.accounts.upsert(USER, KnownAccount(5, "Middle", "okx"))
    listed = await database.accounts.list(USER)
    assert names(listed) == ["Alpha", "Middle", "New"]
    assert listed == await stored(path, keys)


async def test_a_refresh_updates_the_time_and_exchange_in_memory_in_place(
    database: Database, path: Path, keys: MasterKeys
) -> None:
    await database.accounts.list(USER)
    run_sql(path, "UPDATE accounts SET name = 'Changed' WHERE account_id = 2")  # not seen
    account = KnownAccount(1, "binance", "binance_us", SOON)
    await database.snapshots.add(snapshot_for(USER, 1, None), account)
    listed = await database.accounts.list(USER)
    assert names(listed) == ["binance", "Kraken", "Zed"]  # no reload
    assert listed[0] == account


@pytest.mark.parametrize(
    "written",
    [
        KnownAccount(2, "Kraken", "kraken", SOON + timedelta(hours=1)),
        KnownAccount(2, "Kraken", None, None),  # a snapshot without a time keeps the known one
        KnownAccount(3, "Aardvark", "okx", SOON),  # renamed: sorts first now
        KnownAccount(2, "kraken", "kraken", SOON),  # renamed in case only
        KnownAccount(9, "Later", None, SOON),  # new
    ],
    ids=["refreshed", "no-time", "renamed", "case", "new"],
)
async def test_after_a_snapshot_the_list_is_what_the_file_holds(
    database: Database, path: Path, keys: MasterKeys, written: KnownAccount
) -> None:
    await database.accounts.list(USER)
    await database.snapshots.add(snapshot_for(USER, written.account_id, None), written)
    listed = await database.accounts.list(USER)
    assert written.name in names(listed)
    assert listed == await stored(path, keys)


async def test_forgetting_a_user_empties_their_list_and_their_chats_zone(
    database: Database,
) -> None:
    await database.chats.set_timezone(USER, "Asia/Tokyo")
    assert await database.accounts.list(USER)
    assert await database.chats.get_timezone(USER) == "Asia/Tokyo"
    await database.forget_user(USER)
    assert await database.accounts.list(USER) == []
    assert await database.chats.get_timezone(USER) is None


async def test_no_time_zone_is_remembered_too_and_setting_one_shows(
    database: Database, path: Path
) -> None:
    assert await database.chats.get_timezone(USER) is None
    # Behind the store's back (7 is USER): not seen.
    run_sql(path, "INSERT INTO chat_settings (chat_id, timezone) VALUES (7, 'Europe/Oslo')")
    assert await database.chats.get_timezone(USER) is None
    await database.chats.set_timezone(USER, "Asia/Tokyo")
    assert await database.chats.get_timezone(USER) == "Asia/Tokyo"
    await database.chats.set_timezone(USER, "Europe/Berlin")
    assert await database.chats.get_timezone(USER) == "Europe/Berlin"


async def test_a_migrated_chat_takes_its_zone_along(database: Database) -> None:
    await database.chats.set_timezone(USER, "Europe/Berlin")
    assert await database.chats.get_timezone(USER) == "Europe/Berlin"
    assert await database.chats.get_timezone(OTHER_CHAT) is None
    await database.subscriptions.migrate_chat(USER, OTHER_CHAT)
    assert await database.chats.get_timezone(USER) is None
    assert await database.chats.get_timezone(OTHER_CHAT) == "Europe/Berlin"


class HeldWrite:
    """The database's next write holds inside its transaction until `release`: a caller that
    stops waiting then (cancelled) leaves a write that still commits."""

    def __init__(self, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.running = asyncio.Event()
        self.release = threading.Event()
        worker = database._worker
        write = worker.write
        loop = asyncio.get_running_loop()

        async def held(work: Callable[[sqlite_utils.Database], object]) -> object:
            def holding(db: sqlite_utils.Database) -> object:
                loop.call_soon_threadsafe(self.running.set)
                self.release.wait(timeout=10)
                return work(db)

            return await write(holding)

        monkeypatch.setattr(worker, "write", held)


async def cancel_while_held(held: HeldWrite, writing: asyncio.Task[None]) -> None:
    try:
        await held.running.wait()
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
    finally:
        held.release.set()


async def test_a_snapshot_whose_caller_was_cancelled_still_shows_its_account(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await database.accounts.list(USER)
    held = HeldWrite(database, monkeypatch)
    renamed = KnownAccount(3, "Aardvark", "okx", SOON)
    adding = asyncio.create_task(database.snapshots.add(snapshot_for(USER, 3, None), renamed))
    await cancel_while_held(held, adding)
    assert names(await database.accounts.list(USER)) == ["Aardvark", "binance", "Kraken"]


async def test_a_time_zone_whose_caller_was_cancelled_still_shows(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await database.chats.get_timezone(USER) is None
    held = HeldWrite(database, monkeypatch)
    setting = asyncio.create_task(database.chats.set_timezone(USER, "Asia/Tokyo"))
    await cancel_while_held(held, setting)
    assert await database.chats.get_timezone(USER) == "Asia/Tokyo"
