"""(1) Bot overhead per /refresh, against the floor of a minimal python-telegram-bot handler.

Both run as their own process: the bot as `python -m bot run`, the floor as
`python -m bench.floor` (a bare Application whose /refresh only replies). The Bot API and
3Commas stand-ins run here, in the benchmark process, so their CPU time is not counted on
either side (it used to be: the bot once ran inside this process, on the stand-ins' loop).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    BUDGET_LIFTED,
    BotProcess,
    Row,
    bot_process,
    first_poll,
    floor_process,
    last_message_id,
    median,
    percentile,
    summary_shown_at,
)
from bot.config import Settings
from standins.botapi import BotApiStandIn
from standins.demo import DEMO_API_KEY, DEMO_SECRET, DEMO_USER_ID, running_standins
from standins.threecommas_standin import ThreeCommasStandIn

UPSTREAM_LATENCY = 0.010  # the 3Commas stand-in's configured latency
WARM_UP = 20
# Refreshes start at most 14 per second, all in one chat. The bot paces one chat to about a
# message a second, as Telegram asks; that is lifted here (TELEGRAM_CHAT_BURST) so this
# measures the bot, not the flood limit. (The pace dates from when every message counted
# against 30/s; it is kept so the figures stay comparable.)
PACE = 1 / 14


@dataclass
class Samples:
    latencies: list[float]  # seconds, the upstream time already subtracted
    cpu_per_request: float  # seconds of the child process's CPU per measured request
    upstream: list[float]  # seconds the 3Commas stand-in held each call (empty for the floor)

    def p(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000


async def _paced(start: float) -> None:
    await asyncio.sleep(max(0.0, start + PACE - time.perf_counter()))


async def _offer_and_wait(
    botapi: BotApiStandIn, threecommas: ThreeCommasStandIn, text: str, chat_id: int
) -> tuple[float, float]:
    """(Seconds from the update being offered until the stand-in accepted the summary (the one
    reply, or the edit that turned a progress message into it), seconds the 3Commas stand-in
    held the refresh's load_balances call)."""
    after = last_message_id(botapi, chat_id)
    calls_before = len(threecommas.requests)
    start = time.monotonic()
    botapi.send_text(text, user_id=DEMO_USER_ID)
    await botapi.wait_for(lambda: summary_shown_at(botapi, chat_id, after) is not None, 30)
    shown_at = summary_shown_at(botapi, chat_id, after)
    assert shown_at is not None
    (call,) = threecommas.requests[calls_before:]
    assert call.held is not None and "load_balances" in call.path_qs, call
    return shown_at - start, call.held


async def _offer_and_wait_reply(
    botapi: BotApiStandIn, text: str, chat_id: int
) -> tuple[float, float]:
    """(Seconds from the update being offered until the stand-in accepted the bot's reply, 0:
    the floor calls no 3Commas)."""
    after = last_message_id(botapi, chat_id)
    start = time.monotonic()
    botapi.send_text(text, user_id=DEMO_USER_ID)
    reply = await botapi.next_message(chat_id, after=after, timeout=30)
    return reply.sent_at - start, 0.0


async def _sample(
    child: BotProcess, count: int, one: Callable[[], Awaitable[tuple[float, float]]]
) -> Samples:
    """WARM_UP + count paced requests; `one()` offers one and returns (its latency, the
    upstream time in it), the latter subtracted."""
    latencies: list[float] = []
    upstream: list[float] = []
    cpu_start = 0.0
    for index in range(WARM_UP + count):
        if index == WARM_UP:
            cpu_start = child.cpu_seconds()
        started = time.perf_counter()
        took, held = await one()
        await _paced(started)
        if index >= WARM_UP:
            latencies.append(took - held)
            upstream.append(held)
    return Samples(latencies, (child.cpu_seconds() - cpu_start) / count, upstream)


async def floor_latencies(data: Path, count: int) -> Samples:
    async with (
        running_standins(data, Settings(_env_file=None)) as sandbox,
        floor_process(sandbox.settings, data) as floor,
    ):
        botapi = sandbox.botapi
        await first_poll(botapi)
        return await _sample(
            floor, count, lambda: _offer_and_wait_reply(botapi, "/refresh", DEMO_USER_ID)
        )


async def bot_latencies(data: Path, count: int) -> Samples:
    async with (
        running_standins(data, Settings(_env_file=None), latency=UPSTREAM_LATENCY) as sandbox,
        bot_process(
            sandbox.settings,
            data,
            # one key, 500 refreshes: the per-key limiter is not the subject
            THREECOMMAS_REQUESTS_PER_MINUTE="1000000",
            TELEGRAM_CHAT_BURST="1000000",
            **BUDGET_LIFTED,
        ) as bot,
    ):
        botapi = sandbox.botapi
        await first_poll(botapi)
        botapi.send_text(f"/connect {DEMO_API_KEY} {DEMO_SECRET}", user_id=DEMO_USER_ID)
        await botapi.wait_for_text(DEMO_USER_ID, "Connected", timeout=30)
        samples = await _sample(
            bot,
            count,
            lambda: _offer_and_wait(botapi, sandbox.threecommas, "/refresh 12345678", DEMO_USER_ID),
        )
        final = botapi.messages(DEMO_USER_ID)[-1]
        assert "$31.21" in final.plain, final.plain
        errors = [line for line in bot.stderr().splitlines() if "Traceback" in line]
        assert not errors, bot.stderr()
    return samples


async def measure(data: Path, count: int) -> Row:
    logging.getLogger("telegram").setLevel(logging.WARNING)
    floor = await floor_latencies(data / "floor", count)
    ours = await bot_latencies(data / "bot", count)
    difference = ours.p(0.5) - floor.p(0.5)
    held = median(ours.upstream) * 1000
    nominal = (
        median(
            [a + b - UPSTREAM_LATENCY for a, b in zip(ours.latencies, ours.upstream, strict=True)]
        )
        * 1000
    )
    return Row(
        1,
        f"Bot overhead per /refresh ({count} sequential, at most 14/s, until the summary is "
        f"accepted, 3Commas latency set to {UPSTREAM_LATENCY * 1000:.0f} ms, the time the "
        "3Commas stand-in held each call subtracted; bot and floor each in their own process, "
        "stand-ins in the benchmark process)",
        f"bot p50 {ours.p(0.5):.2f} ms, p99 {ours.p(0.99):.2f} ms; floor (bare PTB app that "
        f"replies once) p50 {floor.p(0.5):.2f} ms, p99 {floor.p(0.99):.2f} ms; "
        f"p50 difference {difference:+.2f} ms, p99 difference "
        f"{ours.p(0.99) - floor.p(0.99):+.2f} ms; the stand-in held each call median "
        f"{held:.2f} ms (with {UPSTREAM_LATENCY * 1000:.0f} ms subtracted instead, as until "
        f"2026-11-27: bot p50 {nominal:.2f} ms, difference {nominal - floor.p(0.5):+.2f} ms); "
        f"CPU per request: bot {ours.cpu_per_request * 1000:.2f} ms, floor "
        f"{floor.cpu_per_request * 1000:.2f} ms",
        "p50 within 2 ms of the floor",
        difference <= 2.0,
    )
