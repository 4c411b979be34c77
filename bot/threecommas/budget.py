"""One budget for every 3Commas call of the process: 3Commas limits and bans IP addresses, and
every user's calls leave from the same one.

- A cap of calls a second, sent evenly spaced (a burst would bunch up at the server and break a
  per-second limit there), and `per_second` calls in any 1 s + ARRIVAL_JITTER: evenly spaced at
  exactly the limit, a call and the one `per_second` calls later are a second apart, and any
  delay of the earlier one on the way puts both into one second at the server. Calls a person is waiting for go first; background calls (scheduled
  posts, alerts, feeds, dashboards) run inside `background_calls()` and take what is left.
- A 418 is a ban of the IP: every call fails at once until it ends, the queued ones included.
  Without a Retry-After its length follows 3Commas' documented escalation (2 minutes up to
  3 days for repeated violations), doubled for each ban that follows within a day of the last.
- 429s from several keys within a second mean the IP, not one key, is over the limit: every
  call waits out the second, then the rate is halved until a minute passes without that.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from enum import IntEnum

from bot.config import DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND
from bot.threecommas.errors import DEFAULT_BAN_BLOCK, RateLimited

LONGEST_BAN = 3 * 24 * 3600.0  # "from 2 minutes to 3 days"
BANS_FORGOTTEN_AFTER = 24 * 3600.0  # a ban this long after the last one starts at 2 min again
IP_LIMIT_KEYS = 3  # distinct keys answered 429 within IP_LIMIT_WINDOW: the IP is limited
IP_LIMIT_WINDOW = 1.0
SLOWED_FOR = 60.0  # seconds without another sign of the IP limit before the full rate returns
SLOWEST_RATE = 1.0  # calls a second: halving stops here
ARRIVAL_JITTER = 0.04  # seconds two calls may drift closer on their way and still fit the limit


class Priority(IntEnum):
    PERSON = 0  # someone typed a command and waits for its answer
    BACKGROUND = 1


_priority: ContextVar[Priority] = ContextVar("threecommas_priority", default=Priority.PERSON)


@contextlib.contextmanager
def background_calls() -> Iterator[None]:
    """3Commas calls made inside (and in tasks started inside) wait behind people's calls."""
    token = _priority.set(Priority.BACKGROUND)
    try:
        yield
    finally:
        _priority.reset(token)


class CallBudget:
    """Paces the process's 3Commas calls; `per_second` 0 (or None) lifts the cap, bans and
    IP-limit slowdowns still apply."""

    def __init__(
        self,
        per_second: float | None = DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = per_second if per_second and per_second > 0 else None
        self._clock = clock
        self._next_slot = 0.0
        self._queues: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())
        self._pacer: asyncio.Task[None] | None = None
        self._turns: dict[asyncio.Task[object], asyncio.Future[None]] = {}
        self._promoted: weakref.WeakSet[asyncio.Task[object]] = weakref.WeakSet()
        self._wake = asyncio.Event()
        self._banned_until = 0.0
        self._bans = 0
        self._recent_429s: deque[tuple[float, str]] = deque()
        self._slowed_rate: float | None = None
        self._slowed_at = -math.inf
        self._slowed_until = 0.0

    @property
    def per_second(self) -> float | None:
        """The calls a second allowed now (None: no cap)."""
        if self._slowed_rate is not None and self._clock() >= self._slowed_until:
            self._slowed_rate = None
        return self._slowed_rate if self._slowed_rate is not None else self._rate

    def ban_left(self) -> float:
        return max(0.0, self._banned_until - self._clock())

    def waiting(self) -> int:
        return sum(len(queue) for queue in self._queues)

    def check_ban(self) -> None:
        left = self.ban_left()
        if left > 0:
            raise RateLimited(retry_after=left, banned=True, status=418)

    async def acquire(self) -> None:
        """Wait for this call's turn; RateLimited(banned=True) while the IP is banned."""
        self.check_ban()
        now = self._clock()
        rate = self.per_second
        if not self.waiting() and now >= self._next_slot:
            if rate is not None:
                self._next_slot = now + _spacing(rate)
            return
        turn = asyncio.get_running_loop().create_future()
        task = asyncio.current_task()
        person = _priority.get() is Priority.PERSON or task in self._promoted
        self._queues[Priority.PERSON if person else Priority.BACKGROUND].append(turn)
        if task is not None:
            self._turns[task] = turn
        if self._pacer is None or self._pacer.done():
            self._pacer = asyncio.create_task(self._pace(), name="threecommas-budget")
        try:
            await turn
        except asyncio.CancelledError:
            for queue in self._queues:
                if turn in queue:
                    queue.remove(turn)
            raise
        finally:
            if task is not None:
                self._turns.pop(task, None)

    def promote(self, task: asyncio.Task[object]) -> None:
        """A person now waits for `task` too (a shared call): its queued turn moves up to
        people's calls."""
        self._promoted.add(task)
        turn = self._turns.get(task)
        person, background = self._queues
        if turn is not None and turn in background:
            background.remove(turn)
            person.append(turn)

    @staticmethod
    def for_person() -> bool:
        return _priority.get() is Priority.PERSON

    async def _pace(self) -> None:
        """Hands out turns one slot apart, people's first, until nobody waits."""
        while self.waiting():
            self._wake.clear()
            delay = self._next_slot - self._clock()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue
            turn = next(queue for queue in self._queues if queue).popleft()
            if turn.done():
                continue
            turn.set_result(None)
            rate = self.per_second
            now = self._clock()
            self._next_slot = now + _spacing(rate) if rate is not None else now

    def ban(self, retry_after: float | None, sent_at: float) -> float:
        """3Commas answered 418 to a call sent at `sent_at`: stop every call for `retry_after`
        seconds (None: the documented escalation). Returns the seconds left; every queued call
        fails with them now."""
        now = self._clock()
        if sent_at >= self._banned_until:  # a new ban, not one more answer sent before it began
            if sent_at - self._banned_until >= BANS_FORGOTTEN_AFTER:
                self._bans = 0
            self._bans += 1
        if retry_after is None:
            retry_after = min(LONGEST_BAN, DEFAULT_BAN_BLOCK * 2 ** min(self._bans - 1, 20))
        if now + retry_after > self._banned_until:
            self._banned_until = now + retry_after
            left = retry_after  # not (now + retry_after) - now, which may round up a second
        else:
            left = self._banned_until - now
        for queue in self._queues:
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_exception(RateLimited(retry_after=left, banned=True, status=418))
        return left

    def rate_limited(self, api_key: str, sent_at: float) -> bool:
        """A key's call sent at `sent_at` was answered 429. True when several keys were within
        a second: then every call waits out the IP's second and the rate is halved for a while.
        Answers to calls sent before the last slowdown are no news."""
        if sent_at < self._slowed_at:
            return False
        now = self._clock()
        recent = self._recent_429s
        recent.append((now, api_key))
        while recent and now - recent[0][0] > IP_LIMIT_WINDOW:
            recent.popleft()
        if len({key for _, key in recent}) < IP_LIMIT_KEYS:
            return False
        recent.clear()
        base = self.per_second or float(DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND)
        self._slowed_rate = max(SLOWEST_RATE, base / 2)
        self._slowed_at = now
        self._slowed_until = now + SLOWED_FOR
        self._next_slot = max(self._next_slot, now + IP_LIMIT_WINDOW)
        self._wake.set()
        return True

    def close(self) -> None:
        if self._pacer is not None:
            self._pacer.cancel()
        for queue in self._queues:
            while queue:
                queue.popleft().cancel()


def _spacing(per_second: float) -> float:
    """Seconds between two calls: `per_second` of them in any 1 s + ARRIVAL_JITTER."""
    return (1.0 + ARRIVAL_JITTER) / per_second
