"""(4) idle RSS with 10,000 users stored; (5) start-up: process start to the first poll."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.common import Row, bot_process, first_poll, median, seed_users
from bot.config import Settings
from standins.demo import running_standins


async def idle_rss(data: Path, users: int) -> Row:
    async with running_standins(data, Settings(_env_file=None)) as sandbox:
        await seed_users(sandbox.settings, users)
        async with bot_process(sandbox.settings, data) as bot:
            await first_poll(sandbox.botapi)
            await asyncio.sleep(3.0)
            samples = []
            for _ in range(10):
                samples.append(bot.rss_mb())
                await asyncio.sleep(0.1)
    idle = max(samples)
    return Row(
        4,
        f"Memory: idle RSS of the bot process with {users:,} users stored",
        f"{idle:.1f} MB (3 s after the first poll)",
        "< 70 MB",
        idle < 70,
    )


async def startup(data: Path, runs: int) -> Row:
    took: list[float] = []
    async with running_standins(data, Settings(_env_file=None)) as sandbox:
        for run in range(runs):
            sandbox.botapi.calls.clear()
            async with bot_process(sandbox.settings, data / f"run{run}") as bot:
                polled = await first_poll(sandbox.botapi)
                took.append(polled - bot.started_at)
    first, typical, worst = took[0], median(took), max(took)
    return Row(
        5,
        f"Start-up: `python -m bot run` spawned to its first getUpdates ({runs} runs)",
        f"median {typical:.2f} s, max {worst:.2f} s (first run, creating the database: "
        f"{first:.2f} s)",
        "< 1 s",
        typical < 1.0,
    )


def now() -> float:
    return time.monotonic()
