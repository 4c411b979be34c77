"""A bounded in-memory cache of values read from the database, kept right by the writes."""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Fill:
    """One load under way; stale once its key was invalidated while it ran."""

    __slots__ = ("stale",)

    def __init__(self) -> None:
        self.stale = False


class ReadCache(Generic[K, V]):
    """The `size` values used last (LRU), each loaded once by `get` and kept until evicted or
    invalidated (`update`, `forget`, `clear`).

    Every write of what a value was loaded from goes inside `written(key)`, which invalidates
    the value after the write. A load that started before an invalidation of its key returns
    its value but does not store it: it may have read the state before the write.

    It runs on the event loop only, so it needs no lock.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one value")
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._fills: dict[K, list[_Fill]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or `load()`'s (stored unless invalidated meanwhile)."""
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        fill = _Fill()
        self._fills.setdefault(key, []).append(fill)
        try:
            value = await load()
        finally:
            self._end(key, fill)
        if not fill.stale:
            self._store(key, value)
        return value

    @contextlib.contextmanager
    def written(self, key: K, change: Callable[[V], V | None] | None = None) -> Iterator[None]:
        """Around a write of what `key`'s value was loaded from: once it committed, the value
        becomes `change(value)`, or is forgotten without `change`; when the write's wait ends
        otherwise it is forgotten too, since a cancelled wait may still commit."""
        try:
            yield
        except BaseException:
            self.forget(key)
            raise
        if change is None:
            self.forget(key)
        else:
            self.update(key, change)

    def update(self, key: K, change: Callable[[V], V | None]) -> None:
        """After a write: the cached value becomes `change(value)`; None forgets it (always
        safe). Nothing cached: nothing to change."""
        self._stale(key)
        if key not in self._entries:
            return
        changed = change(self._entries[key])
        if changed is None:
            del self._entries[key]
        else:
            self._entries[key] = changed

    def forget(self, key: K) -> None:
        self._stale(key)
        self._entries.pop(key, None)

    def clear(self) -> None:
        for fills in self._fills.values():
            for fill in fills:
                fill.stale = True
        self._entries.clear()

    def _stale(self, key: K) -> None:
        for fill in self._fills.get(key, ()):
            fill.stale = True

    def _end(self, key: K, fill: _Fill) -> None:
        fills = self._fills[key]
        fills.remove(fill)
        if not fills:
            del self._fills[key]

    def _store(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
