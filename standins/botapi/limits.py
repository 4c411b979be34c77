"""Flood limits and faults: when the stand-in answers a send with 429, or fails a call like a
server in trouble.

Flood limits, each off unless given, each a sliding window (at most N messages in any window),
counted over sendMessage and editMessageText:
- ``per_chat_per_second``: per chat, in bursts of up to ``per_chat_burst`` messages
  (``per_chat_burst`` messages in any ``per_chat_burst / per_chat_per_second`` seconds);
- ``group_messages_per_minute``: per group;
- ``messages_per_second``: over all chats, counting only the bot's unsolicited messages,
  as Telegram's limit on bulk notifications: a message is unsolicited when no update came
  from its chat in the last ``reply_window`` seconds. Answers to people do not count.
"""

from __future__ import annotations

import collections
import math
import random
import time
from dataclasses import dataclass

from bot.sliding_window import SlidingWindow
from standins.botapi.html import JSONDict


class _Windows:
    """The bot's sliding window (bot/sliding_window.py) per key: a chat, a group, or all."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._windows: dict[object, SlidingWindow] = {}

    @classmethod
    def per_second(cls, rate: float) -> _Windows:
        window = max(1.0, 1.0 / rate)
        return cls(max(1, round(rate * window)), window)

    def _of(self, key: object) -> SlidingWindow:
        return self._windows.setdefault(key, SlidingWindow(self.limit, self.window))

    def retry_after(self, key: object, now: float) -> int:
        """Seconds to wait before one more event is allowed; 0 when allowed now."""
        ready = self._of(key).ready_at(now)
        return 0 if ready <= now else max(1, math.ceil(ready - now))

    def record(self, key: object, now: float) -> None:
        self._of(key).record(now)


class FloodLimits:
    """The flood limits of the stand-in, and 429s at random (``set_random_429s``)."""

    def __init__(
        self,
        *,
        messages_per_second: float | None,
        group_messages_per_minute: int | None,
        per_chat_per_second: float | None,
        per_chat_burst: int,
        reply_window: float,
    ) -> None:
        self.flood_429s = 0  # 429s for a broken flood limit
        self.random_429s = 0  # 429s of set_random_429s
        self._global_limit = (
            _Windows.per_second(messages_per_second) if messages_per_second else None
        )
        self._group_limit = (
            _Windows(group_messages_per_minute, 60.0) if group_messages_per_minute else None
        )
        self._chat_limit = (
            _Windows(per_chat_burst, per_chat_burst / per_chat_per_second)
            if per_chat_per_second
            else None
        )
        self.reply_window = reply_window
        self._last_update_from: dict[int, float] = {}  # chat id -> time.monotonic()
        self._random_429_rate = 0.0
        self._random_429_retry_after = 1
        self._random = random.Random(0)

    def set_random_429s(self, fraction: float, seed: int, retry_after: int) -> None:
        self._random_429_rate = fraction
        self._random = random.Random(seed)
        self._random_429_retry_after = retry_after

    def note_update_from(self, chat_id: int) -> None:
        """An update came from the chat: the bot's messages there answer someone for a while."""
        self._last_update_from[chat_id] = time.monotonic()

    def retry_after(self, chat_id: int) -> int:
        """Count one send or edit to the chat and return 0 when the limits allow it; else the
        seconds a 429 asks to wait, and nothing is counted."""
        now = time.monotonic()
        if self._random_429_rate and self._random.random() < self._random_429_rate:
            self.random_429s += 1
            return self._random_429_retry_after
        checks: list[tuple[_Windows, object]] = []
        if self._global_limit is not None and self._unsolicited(chat_id, now):
            checks.append((self._global_limit, None))
        if self._group_limit is not None and chat_id < 0:
            checks.append((self._group_limit, chat_id))
        if self._chat_limit is not None:
            checks.append((self._chat_limit, chat_id))
        retry_after = max((limit.retry_after(key, now) for limit, key in checks), default=0)
        if retry_after:
            self.flood_429s += 1
            return retry_after
        for limit, key in checks:
            limit.record(key, now)
        return 0

    def _unsolicited(self, chat_id: int, now: float) -> bool:
        """No update came from the chat lately: the message is not an answer to anyone."""
        last = self._last_update_from.get(chat_id)
        return last is None or now - last > self.reply_window


@dataclass
class Failure:
    """Calls of one method that fail: the next `times`, or every one until `until`."""

    status: int | None  # None: the connection is dropped without an answer
    times: int
    until: float | None
    chat_id: int | None  # only calls for this chat; None: any

    def applies(self, params: JSONDict, now: float) -> bool:
        if self.chat_id is not None and str(params.get("chat_id")) != str(self.chat_id):
            return False
        return now < self.until if self.until is not None else self.times > 0

    def spent(self, now: float) -> bool:
        return now >= self.until if self.until is not None else self.times <= 0


class Faults:
    """Calls that fail on purpose (``fail``), by method name."""

    def __init__(self) -> None:
        self.failed_calls = 0  # calls answered by a failure
        self._failures: dict[str, list[Failure]] = collections.defaultdict(list)

    def add(
        self,
        method: str,
        *,
        times: int,
        seconds: float | None,
        status: int | None,
        chat_id: int | None,
    ) -> None:
        until = time.monotonic() + seconds if seconds is not None else None
        self._failures[method.lower()].append(Failure(status, times, until, chat_id))

    def take(self, method: str, params: JSONDict) -> Failure | None:
        """The failure this call of ``method`` meets, if any (counted in ``failed_calls``)."""
        now = time.monotonic()
        failures = self._failures.get(method.lower(), [])
        failures[:] = [f for f in failures if not f.spent(now)]
        for failure in failures:
            if failure.applies(params, now):
                failure.times -= 1
                self.failed_calls += 1
                return failure
        return None
