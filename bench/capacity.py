"""(9) capacity: refreshes a second one bot process sustains on one core, and CPU per refresh.

The bot (`python -m bot run`) is pinned to one core, the benchmark process with the stand-ins
to the others. IN_FLIGHT users keep one /refresh each outstanding: each sends the next as soon
as its summary is accepted. Telegram's per-chat pacing and the per-key request limit are
lifted (they would measure Telegram and 3Commas, not the process); 3Commas answers in 10 ms.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from bench.common import (
    BUDGET_LIFTED,
    SUMMARY,
    BotProcess,
    Row,
    account_id,
    add_keys,
    bot_process,
    first_poll,
    seed_users,
    user_id,
)
from bot.config import Settings
from standins.botapi import BotApiStandIn
from standins.demo import running_standins

IN_FLIGHT = 100
UPSTREAM_LATENCY = 0.010
WARM_UP = 3.0


@dataclass
class Load:
    refreshes: int
    seconds: float
    cpu_seconds: float
    cores: str


@contextlib.contextmanager
def _pinned(bot: BotProcess) -> Iterator[str]:
    """The bot (every thread of it) on the last core this process may use, this process on
    the others."""
    ours = psutil.Process(os.getpid())
    allowed = ours.cpu_affinity()
    if len(allowed) < 2:
        yield f"one core shared with the stand-ins (only {len(allowed)} available)"
        return
    for thread in psutil.Process(bot.pid).threads():
        # per thread: the SQLite and executor threads run already; new ones inherit it
        os.sched_setaffinity(thread.id, [allowed[-1]])
    ours.cpu_affinity(allowed[:-1])
    try:
        yield f"bot on core {allowed[-1]}, stand-ins on {', '.join(map(str, allowed[:-1]))}"
    finally:
        ours.cpu_affinity(allowed)


class _Users:
    """IN_FLIGHT users, each with one /refresh outstanding."""

    def __init__(self, botapi: BotApiStandIn) -> None:
        self._botapi = botapi
        self._after = dict.fromkeys(range(IN_FLIGHT), 0)  # their last message id when asking
        self.answered = 0

    def ask(self, index: int) -> None:
        last = self._botapi.last_message(user_id(index))
        self._after[index] = last.message_id if last else 0
        self._botapi.send_text(f"/refresh {account_id(index)}", user_id=user_id(index))

    def _done(self, index: int) -> bool:
        last = self._botapi.last_message(user_id(index))
        return last is not None and last.message_id > self._after[index] and SUMMARY in last.plain

    def any_done(self) -> bool:
        return any(self._done(index) for index in range(IN_FLIGHT))

    def ask_again(self) -> None:
        for index in range(IN_FLIGHT):
            if self._done(index):
                self.answered += 1
                self.ask(index)


async def _load(botapi: BotApiStandIn, bot: BotProcess, seconds: float) -> Load:
    users = _Users(botapi)
    for index in range(IN_FLIGHT):
        users.ask(index)
    measured_from = time.monotonic() + WARM_UP
    until = measured_from + seconds
    started: tuple[int, float, float] | None = None  # answered, CPU seconds, time
    with _pinned(bot) as cores:
        while time.monotonic() < until:
            await botapi.wait_for(users.any_done, timeout=30)
            users.ask_again()
            if started is None and time.monotonic() >= measured_from:
                started = (users.answered, bot.cpu_seconds(), time.monotonic())
        assert started is not None
        answered, cpu, at = users.answered, bot.cpu_seconds(), time.monotonic()
        return Load(
            refreshes=answered - started[0],
            seconds=at - started[2],
            cpu_seconds=cpu - started[1],
            cores=cores,
        )


async def measure(data: Path, seconds: float) -> Row:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(data, base, latency=UPSTREAM_LATENCY) as sandbox:
        add_keys(sandbox.threecommas, IN_FLIGHT)
        await seed_users(sandbox.settings, IN_FLIGHT)
        async with bot_process(
            sandbox.settings,
            data,
            THREECOMMAS_REQUESTS_PER_MINUTE="1000000",
            TELEGRAM_CHAT_BURST="1000000",
            **BUDGET_LIFTED,
        ) as bot:
            await first_poll(sandbox.botapi)
            load = await _load(sandbox.botapi, bot, seconds)
            tracebacks = bot.stderr().count("Traceback")
    rate = load.refreshes / load.seconds
    cpu_per = load.cpu_seconds / load.refreshes
    busy = load.cpu_seconds / load.seconds
    return Row(
        9,
        f"Capacity: {IN_FLIGHT} users each keep one /refresh outstanding for {load.seconds:.0f} "
        f"s (after {WARM_UP:.0f} s warm-up), 3Commas {UPSTREAM_LATENCY * 1000:.0f} ms, no "
        f"per-chat pacing; {load.cores}",
        f"{rate:.0f} refreshes/s with the bot's core {busy:.0%} busy; CPU per refresh "
        f"{cpu_per * 1000:.2f} ms, i.e. at most {1 / cpu_per:.0f} refreshes/s per core; "
        f"tracebacks in the bot's log: {tracebacks}",
        "(capacity: no target)",
        None,
    )
