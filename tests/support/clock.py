"""Scheduler clocks for tests: one that starts when first asked, one that moves only when told."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.telegram.context import BotApplication
from standins.demo import Sandbox
from tests.support.bot import Chat, bot_running


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


@dataclass
class OnManualClock:
    """The bot on a clock that moves only when the test advances it."""

    sandbox: Sandbox
    application: BotApplication
    clock: ManualClock

    async def advance_one_period(self, seconds: float = 1) -> None:
        """The clock moves on by `seconds`; returns once every subscription that fell due has
        run and is scheduled again (or ended)."""
        self.clock.advance(seconds)
        scheduler = self.application.bot_data.services.subscriptions.scheduler
        await self.sandbox.botapi.wait_for(scheduler.idle)

    async def advance_until(self, holds: Callable[[], bool], periods: int = 10) -> None:
        """One period at a time until `holds()`, within `periods`."""
        for _ in range(periods):
            if holds():
                return
            await self.advance_one_period()
        assert holds(), self.sandbox.botapi.describe()


@contextlib.asynccontextmanager
async def bot_on_manual_clock(sandbox: Sandbox) -> AsyncIterator[OnManualClock]:
    """The bot with a 1 s minimum interval on a manual clock, the demo user connected."""
    clock = ManualClock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    async with bot_running(sandbox, clock=clock, subscription_min_interval_seconds=1) as app:
        await Chat(sandbox.botapi, first_name="Alice").connect()
        yield OnManualClock(sandbox, app, clock)
