"""A short per-user pause between two uses of something costly (`/connect new`'s key pairs)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class Cooldown:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._last: dict[Hashable, float] = {}

    def start(self, key: Hashable) -> float:
        """Record a use for `key` and return 0, or return the seconds left without recording."""
        if self._seconds <= 0:
            return 0.0
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._seconds:
            return self._seconds - (now - last)
        if len(self._last) > 10_000:
            self._forget_expired(now)
        self._last[key] = now
        return 0.0

    def release(self, key: Hashable) -> None:
        """Forget the use recorded for `key`: it failed, so it does not count."""
        self._last.pop(key, None)

    def _forget_expired(self, now: float) -> None:
        expired = [key for key, last in self._last.items() if now - last >= self._seconds]
        for key in expired:
            del self._last[key]
