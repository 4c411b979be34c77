"""The in-memory read cache."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.storage.cache import ReadCache

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
