"""At most `limit` events in any `period` seconds: the one sliding window the bot counts with.

Telegram's flood limits (bot/telegram/flood.py), 3Commas' requests a minute per API key
(bot/threecommas/client.py) and the stand-ins that model both use it.
"""

from __future__ import annotations

import math
from collections import deque


class SlidingWindow:
    """Events are dated when they count: a request that is `take`n is in flight until its
    answer `release`s it, dated then (the server counted it somewhere in between, so dating it
    by the answer never lets the next one arrive less than `period` after it); an event can also
    be `record`ed at a moment, a future one included (a reserved slot)."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._times: deque[float] = deque()  # counted events, in order
        self._in_flight = 0
        self._paused_until = 0.0

    def _expire(self, now: float) -> None:
        while self._times and now - self._times[0] >= self.period:
            self._times.popleft()

    def ready_at(self, now: float) -> float:
        """When one more event may count: `now` if it may now; inf until an answer arrives."""
        self._expire(now)
        if self._paused_until > now:
            return self._paused_until
        excess = len(self._times) + self._in_flight - self.limit + 1
        if excess <= 0:
            return now
        if excess > len(self._times):
            return math.inf
        return self._times[excess - 1] + self.period

    def free(self, now: float) -> int:
        """How many events may count now, without waiting."""
        self._expire(now)
        return max(0, self.limit - len(self._times) - self._in_flight)

    def record(self, at: float) -> None:
        """An event counted at `at` (now, or a slot reserved for later)."""
        self._times.append(at)

    def take(self) -> None:
        self._in_flight += 1

    def release(self, now: float) -> None:
        """The answer to a taken slot arrived (or the request failed): date the slot `now`."""
        self._in_flight -= 1
        self._times.append(now)

    def give_back(self) -> None:
        """A taken slot that was never used."""
        self._in_flight -= 1

    def pause_until(self, moment: float) -> None:
        self._paused_until = max(self._paused_until, moment)

    def idle(self, now: float) -> bool:
        """Nothing counted within the last period, nothing in flight, no pause."""
        return self.ready_at(now) <= now and not self._in_flight and not self._times
