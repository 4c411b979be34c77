"""Wall-clock time as a dependency, so schedules can be tested at any instant."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


@runtime_checkable
class Advancing(Protocol):
    """A clock that moves only when told (a test's): whoever waits on it is told when it moved,
    so that what fell due runs at once instead of after a real wait."""

    def now(self) -> datetime: ...

    def on_advance(self, listener: Callable[[], None]) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """Runs at real speed from a chosen starting instant (tests and demos of daily schedules)."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._started)
