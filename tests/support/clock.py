"""Scheduler clocks for tests: one that starts when first asked, one that moves only when told."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta


class ClockFromFirstCall:
    """Shows `start` the first time it is asked, then runs at real speed.

    The bot asks when it schedules (at start-up for stored subscriptions, or at the first
    /subscribe), so a schedule falls due a known time later however long start-up took.
    """

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._started: float | None = None

    def now(self) -> datetime:
        if self._started is None:
            self._started = time.monotonic()
        return self._start + timedelta(seconds=time.monotonic() - self._started)


class ManualClock:
    """Stands still until the test advances it; the scheduler is told and runs what fell due at
    once, so "every 1s" and three periods take no real seconds."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return self._now

    def on_advance(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        for listener in self._listeners:
            listener()
