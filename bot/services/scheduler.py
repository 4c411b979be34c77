"""One scheduler for everything that runs by the clock: a heap of (due time, id), one task that
sleeps until the earliest is due and starts its run, at most RUNS_AT_ONCE at a time.

What a run does and when it runs next are its owner's business (`Jobs`): the scheduler only keeps
the due times, starts runs in order and never starts two runs of one id at once. The clock is a
dependency, so a test can advance it instead of waiting (`wake` makes the scheduler look again).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.services.clock import Advancing, Clock

logger = logging.getLogger(__name__)

# Scheduled runs in flight at once: enough to keep 30 posts/s going while 3Commas takes a
# second or two, few enough that answers to people never queue behind many runs' database work.
RUNS_AT_ONCE = 64
# The scheduler looks at the clock at least this often (seconds), so a wall clock that jumps
# is followed within that time.
LONGEST_SLEEP = 60.0


class Jobs(Protocol):
    """What the scheduler runs: `run` one id once it is due, then `rearm` it (after the run
    has finished, so a rearm that is due at once starts a new run)."""

    async def run(self, job_id: int) -> None: ...

    async def rearm(self, job_id: int) -> None: ...


@dataclass(frozen=True)
class JobCalls:
    """`Jobs` made of its owner's two functions (each service hands its own)."""

    run: Callable[[int], Coroutine[Any, Any, None]]
    rearm: Callable[[int], Coroutine[Any, Any, None]]


class Scheduler:
    def __init__(self, clock: Clock, jobs: Jobs) -> None:
        self._clock = clock
        self._jobs = jobs
        # The one truth about what is scheduled; heap entries that disagree with it are stale.
        self.next_runs: dict[int, datetime] = {}
        self._due: list[tuple[float, int]] = []  # a heap of (due timestamp, id)
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(RUNS_AT_ONCE)
        self._running: set[int] = set()  # ids whose run is in flight
        self._runs: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        if isinstance(clock, Advancing):
            clock.on_advance(self.wake)  # a test's clock: what fell due runs at once

    def start(self, planned: dict[int, datetime]) -> None:
        """Start running; `planned`: the due times read at start-up (one set meanwhile keeps
        its own)."""
        for job_id, when in planned.items():
            self.next_runs.setdefault(job_id, when)
        self._due = [(when.timestamp(), id_) for id_, when in self.next_runs.items()]
        heapq.heapify(self._due)
        self._task = asyncio.create_task(self._start_runs_when_due(), name="scheduler")

    async def stop(self) -> None:
        """Start no more runs; wait for those in flight (cancelled if this is cancelled)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._runs:
            await asyncio.gather(*self._runs, return_exceptions=True)

    def wake(self) -> None:
        """Look at the clock again now (a test's clock was advanced)."""
        self._wake.set()

    def idle(self) -> bool:
        """No run in flight (re-arming included) and nothing due by the clock."""
        now = self._clock.now()
        return not self._runs and all(when > now for when in self.next_runs.values())

    def set(self, job_id: int, when: datetime) -> None:
        """It runs next at `when` (instead of any earlier due time)."""
        if self.next_runs.get(job_id) == when:
            return  # already due then
        self.next_runs[job_id] = when
        heapq.heappush(self._due, (when.timestamp(), job_id))
        if self._due[0][1] == job_id:
            self._wake.set()  # earlier than what the scheduler sleeps for
        self._compact()

    def drop(self, job_id: int) -> None:
        """It no longer runs (its heap entry is dropped when it comes up)."""
        self.next_runs.pop(job_id, None)
        self._compact()

    def _compact(self) -> None:
        """Rebuild the heap when stale entries outnumber the live ones."""
        if len(self._due) > 2 * len(self.next_runs) + 1024:
            self._due = [(when.timestamp(), id_) for id_, when in self.next_runs.items()]
            heapq.heapify(self._due)

    async def _start_runs_when_due(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                job_id = await self._next_due()
            except BaseException:
                self._slots.release()
                raise
            self._start_run(job_id)

    async def _next_due(self) -> int:
        """Wait until the earliest scheduled run is due; it leaves the schedule."""
        while True:
            self._wake.clear()
            timeout: float | None = None
            head = self._live_head()
            if head is not None:
                due_at, job_id = head
                timeout = due_at - self._clock.now().timestamp()
                if timeout <= 0:
                    heapq.heappop(self._due)
                    del self.next_runs[job_id]
                    if job_id not in self._running:
                        return job_id
                    # Due again while its last run is still going (rescheduled meanwhile): that
                    # run re-arms it when done, so the two never overlap.
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), None if timeout is None else min(timeout, LONGEST_SLEEP)
                )

    def _live_head(self) -> tuple[float, int] | None:
        """The earliest entry that is still scheduled; stale ones are dropped on the way."""
        while self._due:
            due_at, job_id = self._due[0]
            when = self.next_runs.get(job_id)
            if when is not None and when.timestamp() == due_at:
                return due_at, job_id
            heapq.heappop(self._due)
        return None

    def _start_run(self, job_id: int) -> None:
        self._running.add(job_id)
        task = asyncio.create_task(self._run(job_id))
        self._runs.add(task)

        def finished(_: asyncio.Task[None]) -> None:
            self._runs.discard(task)
            self._slots.release()

        task.add_done_callback(finished)

    async def _run(self, job_id: int) -> None:
        try:
            if self._stopping:
                return  # it runs after the restart
            await self._jobs.run(job_id)
        except Exception:
            logger.exception("the scheduled run of %s failed", job_id)
        finally:
            self._running.discard(job_id)
        try:
            await self._jobs.rearm(job_id)
        except Exception:
            logger.exception("could not re-arm %s", job_id)
