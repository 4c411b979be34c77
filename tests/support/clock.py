"""A scheduler clock for tests whose schedules must fall due a known time after they are set."""

from __future__ import annotations

import time
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
