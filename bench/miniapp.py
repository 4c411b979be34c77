"""(11) The Mini App's server: the data endpoint with 100 dashboards opening at once, from the
database alone (3Commas untouched); idle RSS with PORT unset (the Mini App's code not imported)
and set."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.common import (
    Row,
    account_id,
    bot_process,
    first_poll,
    median,
    percentile,
    seed_users,
    user_id,
)
from bench.process import ABOVE_FLOOR_MB, idle_bot_rss, libraries_rss
from bot.config import Settings
from bot.storage.columns import time_text
from standins.demo import running_standins
from standins.miniapp import free_port, init_data

DASHBOARDS = 100
ACCOUNTS_PER_USER = 3
P50_TARGET_MS = 20.0
PORTFOLIO = "/app/api/portfolio"


def seed_snapshots(database: Path, users: int, accounts_per_user: int) -> None:
    """A refresh of every account an hour ago, as the dashboard's last known figures."""
    taken = datetime.now(UTC) - timedelta(hours=1)
    rows = [
        (
            user_id(index),
            account_id(index, nth),
            time_text(taken),
            "USD",
            "12345.67",
            "12345.67",
            "0.19",
            "1000.5",
            "8.8",
            "120.25",
            "0.98",
            "120.25",
            time_text(taken),
        )
        for index in range(users)
        for nth in range(accounts_per_user)
    ]
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.executemany(
            "INSERT INTO snapshots (user_id, account_id, taken_at, currency, amount, usd_amount, "
            "btc_amount, profit, profit_percentage, day_profit, day_profit_percentage, "
            "day_profit_usd, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


async def _open(session: aiohttp.ClientSession, url: str, authorization: str) -> tuple[float, int]:
    started = time.perf_counter()
    async with session.get(url, headers={"Authorization": authorization}) as response:
        await response.read()
        return time.perf_counter() - started, response.status


async def data_endpoint(data: Path, rounds: int) -> Row:
    port = free_port()
    async with running_standins(data, Settings(_env_file=None)) as sandbox:
        settings = sandbox.settings
        await seed_users(settings, DASHBOARDS, accounts_per_user=ACCOUNTS_PER_USER)
        seed_snapshots(settings.database_path, DASHBOARDS, ACCOUNTS_PER_USER)
        token = sandbox.botapi.token
        authorizations = [
            "tma " + init_data(token, {"id": user_id(index), "first_name": f"Bench {index}"})
            for index in range(DASHBOARDS)
        ]
        url = f"http://127.0.0.1:{port}{PORTFOLIO}"
        async with bot_process(settings, data / "bot", PORT=str(port)) as bot:
            await first_poll(sandbox.botapi)
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                # warm-up: connections open, each user's key decrypted once
                await asyncio.gather(*(_open(session, url, a) for a in authorizations))
                sandbox.threecommas.clear_requests()
                cpu_before = bot.cpu_seconds()
                took: list[float] = []
                statuses: set[int] = set()
                for _ in range(rounds):
                    answers = await asyncio.gather(
                        *(_open(session, url, a) for a in authorizations)
                    )
                    took += [seconds * 1000 for seconds, _ in answers]
                    statuses |= {status for _, status in answers}
                cpu_ms = (bot.cpu_seconds() - cpu_before) * 1000 / len(took)
                load = os.getloadavg()[0]  # the machine may be shared: p50 depends on it
        upstream = len(sandbox.threecommas.requests)
    p50, p99 = median(took), percentile(took, 0.99)
    return Row(
        11,
        f"Mini App data: {DASHBOARDS} dashboards open at once (`GET {PORTFOLIO}`, each its own "
        f"user with {ACCOUNTS_PER_USER} accounts and signed init data, over kept-alive "
        f"connections), {rounds} rounds after one warm-up; bot process with PORT set, client "
        "in the benchmark process",
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(took):.1f} ms of {len(took)}; "
        f"answers {sorted(statuses)}; 3Commas requests meanwhile: {upstream}; bot CPU per "
        f"request {cpu_ms:.2f} ms; load average {load:.1f} on {os.cpu_count()} cores",
        f"p50 <= {P50_TARGET_MS:.0f} ms, 3Commas untouched, every answer 200",
        p50 <= P50_TARGET_MS and upstream == 0 and statuses == {200},
    )


async def idle_rss(data: Path) -> Row:
    floor = await libraries_rss()
    found: dict[str, float] = {}
    async with running_standins(data, Settings(_env_file=None)) as sandbox:
        for name, extra in (("unset", {}), ("set", {"PORT": str(free_port())})):
            sandbox.botapi.calls.clear()
            async with bot_process(sandbox.settings, data / f"port-{name}", **extra) as bot:
                found[name] = await idle_bot_rss(bot, sandbox.botapi)
    unset, served = found["unset"], found["set"]
    return Row(
        11,
        "Mini App, memory: idle RSS of the bot (empty database, 3 s after its first poll) with "
        "PORT unset (the Mini App's code is not imported: tests/test_miniapp.py checks it) and "
        "with PORT set (HTTP server, /healthz and the Mini App), against the floor of (4)",
        f"PORT unset {unset:.1f} MB ({unset - floor:+.1f} MB above the floor {floor:.1f} MB); "
        f"PORT set {served:.1f} MB ({served - unset:+.1f} MB more)",
        f"PORT unset: at most {ABOVE_FLOOR_MB:.0f} MB above the floor, as (4)",
        unset - floor <= ABOVE_FLOOR_MB,
    )


async def measure(data: Path, rounds: int) -> list[Row]:
    return [await data_endpoint(data / "data", rounds), await idle_rss(data / "idle")]
