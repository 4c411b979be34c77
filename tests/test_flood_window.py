"""The flood limiter on its own: windows dated by the answer, answers to people before the bot's
broadcasts, per-chat bursts, and 429s honoured per chat.

The end-to-end cases (the real bot against the Bot API stand-in's limits) are in
tests/test_flood_limits.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.telegram.transport.flood import BROADCAST, FloodLimiter, Traffic

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class Recorder:
    """Fake Bot API calls through the limiter; records when each one reached the 'server'."""

    def __init__(self, limiter: FloodLimiter) -> None:
        self.limiter = limiter
        self.started: dict[str, float] = {}
        self.order: list[str] = []

    async def send(
        self,
        name: str,
        chat_id: int,
        traffic: Traffic | None = None,
        *,
        takes: float = 0.0,
        refuse: int = 0,
    ) -> None:
        refusals = [refuse]

        async def call() -> dict[str, Any]:
            if refusals[0]:
                refusals[0] -= 1
                raise RetryAfter(1)
            self.started[name] = time.monotonic()
            self.order.append(name)
            if takes:
                await asyncio.sleep(takes)  # the request is slow to arrive and be answered
            return {}

        await self.limiter.process_request(
            call, (), {}, "sendMessage", {"chat_id": chat_id}, traffic
        )


async def test_a_slot_is_dated_by_the_answer_not_the_send() -> None:
    calls = Recorder(FloodLimiter(chat_limit=2, chat_period=0.3))
    await asyncio.gather(calls.send("a", 5, takes=0.2), calls.send("b", 5, takes=0.2))
    answered = time.monotonic()
    await calls.send("c", 5)
    # a window dated at the send would have let "c" go 0.1 s after the answers
    assert calls.started["c"] - answered >= 0.29


async def test_requests_in_flight_hold_their_slots() -> None:
    calls = Recorder(FloodLimiter(chat_limit=1, chat_period=0.05))
    await asyncio.gather(calls.send("slow", 5, takes=0.2), calls.send("next", 5))
    # far past the period, but "slow" was still in flight: "next" waited for its answer
    assert calls.started["next"] - calls.started["slow"] >= 0.2


async def test_a_chat_takes_a_short_burst_then_one_message_a_second() -> None:
    calls = Recorder(FloodLimiter(chat_limit=3, chat_period=0.6))
    await asyncio.gather(*(calls.send(str(n), 5) for n in range(4)))
    burst = [calls.started[str(n)] for n in range(3)]
    assert max(burst) - min(burst) < 0.1, "three at once"
    assert calls.started["3"] - calls.started["0"] >= 0.59, "the fourth waits for the window"


async def test_answers_to_people_do_not_wait_behind_broadcasts() -> None:
    calls = Recorder(FloodLimiter(broadcasts_per_second=2))
    broadcasts = [calls.send(f"b{n}", -1000 - n, BROADCAST) for n in range(6)]
    queued = [asyncio.ensure_future(b) for b in broadcasts]
    await asyncio.sleep(0)  # the broadcasts are queued first
    await calls.send("reply", 42)
    assert calls.order[:3] == ["b0", "b1", "reply"], calls.order
    await asyncio.gather(*queued)
    # the broadcasts themselves are paced: 2 in any second
    assert calls.started["b2"] - calls.started["b0"] >= 0.99


async def test_in_a_busy_chat_an_answer_goes_before_queued_broadcasts() -> None:
    calls = Recorder(FloodLimiter(chat_limit=1, chat_period=0.1))
    queued = [asyncio.ensure_future(calls.send(f"b{n}", -7, BROADCAST)) for n in range(3)]
    await asyncio.sleep(0)
    await asyncio.gather(calls.send("reply", -7), *queued)
    assert calls.order == ["b0", "reply", "b1", "b2"]


async def test_a_429_pauses_that_chat_for_retry_after_then_the_message_goes() -> None:
    calls = Recorder(FloodLimiter())
    refused = asyncio.ensure_future(calls.send("refused", 5, refuse=1))
    await asyncio.sleep(0)
    asked_at = time.monotonic()
    await calls.send("other chat", 6)
    same_chat = asyncio.ensure_future(calls.send("same chat", 5))
    await asyncio.gather(refused, same_chat)
    assert calls.started["other chat"] - asked_at < 0.5, "other chats go on"
    assert calls.started["refused"] - asked_at >= 0.99, "sent again after retry_after"
    assert calls.started["same chat"] - asked_at >= 0.99, "its chat waits as well"
