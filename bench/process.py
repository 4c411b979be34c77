"""(4) idle RSS of the bot against the floor of its libraries; (5) start-up to the first poll."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from bench.common import REPO, BotProcess, Row, bot_process, first_poll, median
from bot.config import Settings
from standins.botapi import BotApiStandIn
from standins.demo import running_standins

IDLE_AFTER = 3.0  # seconds after the first poll
# The bot's own code and its running state: at most this much above the libraries it imports.
ABOVE_FLOOR_MB = 8.0


async def _max_rss(pid: int, samples: int = 10) -> float:
    process = psutil.Process(pid)
    found = 0.0
    for _ in range(samples):
        found = max(found, float(process.memory_info().rss) / 2**20)
        await asyncio.sleep(0.1)
    return found


async def idle_bot_rss(bot: BotProcess, botapi: BotApiStandIn) -> float:
    """RSS in MB of a bot just spawned, IDLE_AFTER seconds after its first poll."""
    await first_poll(botapi)
    await asyncio.sleep(IDLE_AFTER)
    return await _max_rss(bot.pid)


async def libraries_rss() -> float:
    """RSS in MB of `python -m bench.libraries`: the required libraries imported, nothing run."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.libraries",
        cwd=REPO,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if line.strip() != b"imported":
            raise RuntimeError(f"bench.libraries said {line!r}")
        await asyncio.sleep(1.0)
        assert process.pid is not None
        return await _max_rss(process.pid)
    finally:
        process.terminate()
        await process.wait()


async def idle_rss(data: Path) -> Row:
    floor = await libraries_rss()
    async with (
        running_standins(data, Settings(_env_file=None)) as sandbox,
        bot_process(sandbox.settings, data) as bot,
    ):
        idle = await idle_bot_rss(bot, sandbox.botapi)
    return Row(
        4,
        "Memory: idle RSS of the bot process (empty database, 3 s after its first poll) against "
        "the floor: a process that only imports the required libraries (`python -m "
        "bench.libraries`)",
        f"bot {idle:.1f} MB; floor {floor:.1f} MB; difference {idle - floor:+.1f} MB",
        f"at most {ABOVE_FLOOR_MB:.0f} MB above the floor",
        idle - floor <= ABOVE_FLOOR_MB,
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
