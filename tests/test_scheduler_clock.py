"""The scheduler runs on the clock it is given: a test advances it instead of sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.services.scheduler import Scheduler
from tests.support.clock import ManualClock

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class HourlyJob:
    """Runs job 1 every hour of the clock; notes when each run saw the clock."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.ran: list[datetime] = []
        self.rearmed = asyncio.Event()
        self.scheduler = Scheduler(clock, self)

    async def run(self, job_id: int) -> None:
        self.ran.append(self.clock.now())

    async def rearm(self, job_id: int) -> None:
        self.scheduler.set(job_id, self.clock.now() + HOUR)
        self.rearmed.set()

    async def advance_one_period(self) -> None:
        self.rearmed.clear()
        self.clock.advance(HOUR.total_seconds())
        # at once, not after the scheduler's longest real sleep (60 s)
        await asyncio.wait_for(self.rearmed.wait(), timeout=30)


async def test_advancing_the_clock_three_periods_runs_an_hourly_job_three_times_at_once() -> None:
    job = HourlyJob(ManualClock(START))
    job.scheduler.start({1: START + HOUR})
    try:
        assert job.ran == []  # nothing is due until the clock moves
        for _ in range(3):
            await job.advance_one_period()
    finally:
        await job.scheduler.stop()
    assert job.ran == [START + HOUR, START + 2 * HOUR, START + 3 * HOUR]
    assert job.scheduler.next_runs == {1: START + 4 * HOUR}
