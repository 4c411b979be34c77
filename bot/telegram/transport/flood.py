"""Outgoing rate limits: replies as fast as Telegram allows, broadcasts paced, every 429 honoured.

Telegram's limits (reference/telegram.md): about 30 messages/s for bulk notifications, about one
message a second in a chat (short bursts tolerated) and 20 a minute in a group. So every
message counts against its chat's window and, in a group, the group's; only the bot's own
broadcasts (scheduled summaries, alerts: the notifier passes `rate_limit_args=BROADCAST`) also
count against the overall 30/s. Answers to people never wait for broadcasts to other chats.

Each limit is a sliding window: at most `limit` messages in any `period` seconds. Per chat that
is N in any N seconds (TELEGRAM_CHAT_BURST, 5 by default): a progress message and its result,
or an answer in three parts, go out at once, and a steady stream is held to one a second. (python-telegram-bot's AIORateLimiter uses leaky
buckets, which let a full bucket out after an idle moment and keep leaking, so one second
could carry twice the limit; and it has no per-chat limit.)

Requests wait in two queues, answers to people before broadcasts; one goes as soon as every
window it counts against has room. A request that has to wait gives its update's slot back
first (bot/telegram/update_slots.py): one busy chat must not keep other users' updates out. A 429 pauses the windows of the request that met it for
its `retry_after` (only that chat, and for a broadcast all broadcasts), then the request is
sent again, until a generous time budget is spent.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.sliding_window import SlidingWindow
from bot.telegram.transport.update_slots import free_update_slot

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]

# Telegram's flood limits count messages: calls that post one or change one.
_MESSAGE_CALLS = ("send", "edit", "copyMessage", "forwardMessage")
_NOT_MESSAGES = frozenset({"sendChatAction"})


class Traffic(Enum):
    """What a request is, as far as the limits go: `rate_limit_args` of a send."""

    REPLY = "reply"  # an answer to a person (the default)
    BROADCAST = "broadcast"  # the bot's own post: a scheduled summary or an alert


BROADCAST = Traffic.BROADCAST


def _retry_after(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        # it becomes a timedelta in a later major version; both are handled
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _counts_as_message(endpoint: str) -> bool:
    return endpoint.startswith(_MESSAGE_CALLS) and endpoint not in _NOT_MESSAGES


@dataclass(eq=False)
class _Waiting:
    windows: tuple[SlidingWindow, ...]
    granted: asyncio.Future[None]


class FloodLimiter(BaseRateLimiter[Traffic]):
    """Per-chat and per-group limits for every message, 30/s overall for broadcasts."""

    def __init__(
        self,
        *,
        broadcasts_per_second: int = 30,
        chat_limit: int = 5,
        chat_period: float = 5.0,
        group_per_minute: int = 20,
        max_in_flight: int = 64,
        retry_budget_seconds: float = 120.0,
    ) -> None:
        self._broadcasts = SlidingWindow(broadcasts_per_second, 1.0)
        self._chat_limit = (chat_limit, chat_period)
        self._group_limit = (group_per_minute, 60.0)
        self._chats: dict[int | str, SlidingWindow] = {}
        self._groups: dict[int | str, SlidingWindow] = {}
        # requests in flight at once: no more than the HTTP connection pool holds
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._retry_budget = retry_budget_seconds
        self._queues: dict[Traffic, deque[_Waiting]] = {traffic: deque() for traffic in Traffic}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for queue in self._queues.values():
            for waiting in queue:
                waiting.granted.cancel()
            queue.clear()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Traffic | None,
    ) -> JSONResult:
        traffic = rate_limit_args or Traffic.REPLY
        windows = self._windows(endpoint, data.get("chat_id"), traffic)
        waited = 0.0
        again = False
        while True:
            await self._granted(traffic, windows, first=again)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as error:
                # Not taken: its slots are given back, and its windows wait for retry_after.
                delay = _retry_after(error)
                for window in windows:
                    window.pause_until(time.monotonic() + delay)
                self._give_back(windows)
                waited += delay
                if waited > self._retry_budget:
                    logger.error("Telegram kept asking to slow down (%s); giving up", endpoint)
                    raise
                logger.warning("Telegram asked to wait %.0f s (%s); sending again", delay, endpoint)
            except BaseException:
                self._release(windows)
                raise
            else:
                self._release(windows)
                return result
            if not windows:
                free_update_slot()
                await asyncio.sleep(delay)
            again = True

    # ------------------------------------------------------------------ windows

    def _windows(
        self, endpoint: str, chat_id: object, traffic: Traffic
    ) -> tuple[SlidingWindow, ...]:
        """The windows a request counts against: its chat's, its group's, and for a
        broadcast the overall one."""
        windows: list[SlidingWindow] = []
        if traffic is Traffic.BROADCAST:
            windows.append(self._broadcasts)
        if chat_id is None or not _counts_as_message(endpoint):
            return tuple(windows)
        try:
            key: int | str = int(str(chat_id))
        except ValueError:
            key = str(chat_id)  # @channelusername
        windows.append(self._window(self._chats, key, self._chat_limit))
        if isinstance(key, str) or key < 0:
            windows.append(self._window(self._groups, key, self._group_limit))
        return tuple(windows)

    def _window(
        self,
        windows: dict[int | str, SlidingWindow],
        key: int | str,
        limit: tuple[int, float],
    ) -> SlidingWindow:
        if len(windows) > 10_000:
            self._forget_idle(windows)
        window = windows.get(key)
        if window is None:
            window = windows[key] = SlidingWindow(*limit)
        return window

    def _forget_idle(self, windows: dict[int | str, SlidingWindow]) -> None:
        now = time.monotonic()
        waiting = {id(w) for q in self._queues.values() for r in q for w in r.windows}
        for key in [k for k, w in windows.items() if w.idle(now) and id(w) not in waiting]:
            del windows[key]

    # ------------------------------------------------------------------ the queues

    async def _granted(
        self, traffic: Traffic, windows: tuple[SlidingWindow, ...], *, first: bool
    ) -> None:
        """Wait until every window has room (answers to people first), and take a slot in each.

        A request sent again after a 429 goes to the front of its queue.
        """
        waiting = _Waiting(windows, asyncio.get_running_loop().create_future())
        queue = self._queues[traffic]
        if first:
            queue.appendleft(waiting)
        else:
            queue.append(waiting)
        self._dispatch()
        if not waiting.granted.done():
            free_update_slot()  # no update slot is held while a chat's window fills up
        try:
            await waiting.granted
        except asyncio.CancelledError:
            if waiting.granted.done() and not waiting.granted.cancelled():
                self._give_back(windows)
            raise

    def _release(self, windows: tuple[SlidingWindow, ...]) -> None:
        now = time.monotonic()
        for window in windows:
            window.release(now)
        self._in_flight -= 1
        self._dispatch()

    def _give_back(self, windows: tuple[SlidingWindow, ...]) -> None:
        for window in windows:
            window.give_back()
        self._in_flight -= 1
        self._dispatch()

    def _dispatch(self) -> None:
        """Let go every waiting request whose windows have room, answers to people first."""
        now = time.monotonic()
        wake = math.inf
        for traffic in (Traffic.REPLY, Traffic.BROADCAST):
            queue = self._queues[traffic]
            blocked: deque[_Waiting] = deque()
            while queue:
                if self._in_flight >= self._max_in_flight:
                    break  # an answer arriving dispatches again
                if traffic is Traffic.BROADCAST:
                    overall = self._broadcasts.ready_at(now)
                    if overall > now:  # every broadcast waits for this one
                        wake = min(wake, overall)
                        break
                waiting = queue.popleft()
                if waiting.granted.done():
                    continue  # its sender was cancelled
                ready = max((w.ready_at(now) for w in waiting.windows), default=now)
                if ready > now:
                    wake = min(wake, ready)
                    blocked.append(waiting)
                    continue
                for window in waiting.windows:
                    window.take()
                self._in_flight += 1
                waiting.granted.set_result(None)
            queue.extendleft(reversed(blocked))
        self._wake_at(wake, now)

    def _wake_at(self, moment: float, now: float) -> None:
        if moment == math.inf or moment >= self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = moment
        # a millisecond late, so the window has surely moved on when it fires
        self._timer = asyncio.get_running_loop().call_later(moment - now + 0.001, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        self._dispatch()
