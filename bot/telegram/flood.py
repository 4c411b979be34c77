"""Outgoing rate limits that hold in every window, so bursts never meet Telegram's 429.

python-telegram-bot's AIORateLimiter uses leaky buckets: after an idle moment they let a full
bucket out at once and then keep leaking, so one second can carry up to twice the allowed
messages. Telegram counts messages per time window, so a burst of due subscriptions met 429s.
Here each limit is a sliding window: at most `limit` requests in any `period` seconds, first
come first served, with no delay at all while a window has room (interactive replies stay fast).
A 429 that still happens pauses every request for its `retry_after`, then retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class SlidingWindow:
    """At most `limit` requests in any `period` seconds, counted as the server sees them.

    A request's slot is taken when it is sent and dated when its answer arrives: Telegram
    counted it somewhere in between, so dating it by the answer never lets the next request
    reach Telegram less than `period` after it (dating it at the send did: requests that took
    longer to arrive than the next one met 429s when 300 were due at once).
    """

    def __init__(self, limit: int, period: float) -> None:
        self._limit = limit
        self._period = period
        self._times: deque[float] = deque()  # answers, in order of arrival
        self._in_flight = 0
        self._turn = asyncio.Lock()
        self._released = asyncio.Event()

    def idle(self) -> bool:
        if self._in_flight:
            return False
        return not self._times or time.monotonic() - self._times[-1] >= self._period

    async def acquire(self) -> None:
        async with self._turn:
            while True:
                now = time.monotonic()
                while self._times and now - self._times[0] >= self._period:
                    self._times.popleft()
                if len(self._times) + self._in_flight < self._limit:
                    self._in_flight += 1
                    return
                self._released.clear()
                if self._times:
                    wait = self._times[0] + self._period - now
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._released.wait(), wait)
                else:
                    await self._released.wait()

    def release(self) -> None:
        """The answer to an acquired request arrived (or it failed): date its slot now."""
        self._in_flight -= 1
        self._times.append(time.monotonic())
        self._released.set()


class FloodLimiter(BaseRateLimiter[int]):
    """Telegram's limits: about 30 messages/s overall and 20 messages/min per group."""

    def __init__(
        self,
        *,
        overall_per_second: int = 30,
        group_per_minute: int = 20,
        max_retries: int = 3,
    ) -> None:
        self._overall = SlidingWindow(overall_per_second, 1.0)
        self._group_per_minute = group_per_minute
        self._groups: dict[int | str, SlidingWindow] = {}
        self._max_retries = max_retries
        self._open = asyncio.Event()
        self._open.set()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def _group_window(self, chat_id: int | str) -> SlidingWindow:
        if len(self._groups) > 10_000:
            self._groups = {key: w for key, w in self._groups.items() if not w.idle()}
        return self._groups.setdefault(chat_id, SlidingWindow(self._group_per_minute, 60.0))

    async def _acquire(self, chat_id: object) -> list[SlidingWindow]:
        """Take a slot in every window the request counts against; returns those windows."""
        if chat_id is None:
            return []
        try:
            numeric: int | str = int(str(chat_id))
        except ValueError:
            numeric = str(chat_id)  # @channelusername
        taken: list[SlidingWindow] = []
        try:
            if isinstance(numeric, str) or numeric < 0:
                group = self._group_window(numeric)
                await group.acquire()
                taken.append(group)
            await self._overall.acquire()
            taken.append(self._overall)
        except BaseException:
            for window in taken:
                window.release()
            raise
        return taken

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        retries = rate_limit_args if rate_limit_args is not None else self._max_retries
        for attempt in range(retries + 1):
            windows = await self._acquire(data.get("chat_id"))
            try:
                await self._open.wait()
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == retries:
                    raise
                logger.warning("Telegram asked to slow down (%s); waiting", endpoint)
                self._open.clear()
                await asyncio.sleep(_seconds(error.retry_after))
                self._open.set()
            finally:
                for window in windows:
                    window.release()
        raise AssertionError("unreachable: the last attempt returns or raises")
