"""(2) 500 users refresh at once vs 500 sequential py3cw calls; (4) peak RSS of the bot meanwhile.

Users are connected by writing their encrypted credentials and accounts straight into the
database before the bot starts (bench.common.seed_users). The bot runs as a separate
process (`python -m bot run`) so its RSS is its own.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.common import (
    Row,
    RssSampler,
    account_id,
    add_keys,
    api_key,
    api_secret,
    bot_process,
    first_poll,
    seed_users,
    user_id,
)
from bot.config import Settings
from bot.threecommas.client import ThreeCommasClient
from bot.threecommas.credentials import Credentials
from standins.botapi import BotApiStandIn
from standins.demo import running_standins
from standins.threecommas_standin import ThreeCommasStandIn

UPSTREAM_LATENCY = 0.2


def _answered(botapi: BotApiStandIn, users: int) -> int:
    done = 0
    for index in range(users):
        sent = botapi.messages(user_id(index))
        if sent and sent[-1].edits and "Updated" in sent[-1].plain:
            done += 1
    return done


def _upstream_answered(threecommas: ThreeCommasStandIn) -> int:
    return sum(1 for r in threecommas.requests if "load_balances" in r.path_qs and r.status)


def py3cw_sequential(base_url: str, users: int) -> float:
    """The same load_balances calls, one after another, the way most 3Commas scripts do it.

    py3cw has no base-URL option: it builds URLs from the module constant
    py3cw.request.API_URL, so this (benchmark) process patches that constant.
    """
    import py3cw.request

    py3cw.request.API_URL = base_url
    started = time.perf_counter()
    for index in range(users):
        client = py3cw.request.Py3CW(
            key=api_key(index),
            secret=api_secret(index),
            request_options={"request_timeout": 30, "nr_of_retries": 0},
        )
        error, data = client.request(
            entity="accounts", action="load_balances", action_id=str(account_id(index))
        )
        if error or data.get("id") != account_id(index):
            raise RuntimeError(f"py3cw call {index} failed: {error}")
    return time.perf_counter() - started


async def client_alone(base_url: str, users: int) -> float:
    """The bot's own 3Commas client, without Telegram: the same calls, all at once."""
    async with ThreeCommasClient(base_url) as client:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                client.load_balances(Credentials(api_key(i), api_secret(i)), account_id(i))
                for i in range(users)
            )
        )
        return time.perf_counter() - started


async def measure(data: Path, users: int) -> tuple[Row, Row]:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(data, base, latency=UPSTREAM_LATENCY) as sandbox:
        add_keys(sandbox.threecommas, users)
        await seed_users(sandbox.settings, users)
        botapi, threecommas = sandbox.botapi, sandbox.threecommas
        async with bot_process(sandbox.settings, data) as bot:
            await first_poll(botapi)
            await asyncio.sleep(1.0)
            with RssSampler(bot.pid) as rss:
                started = time.perf_counter()
                for index in range(users):
                    botapi.send_text(f"/refresh {account_id(index)}", user_id=user_id(index))
                upstream_done = 0.0
                deadline = started + 300
                while _answered(botapi, users) < users:
                    if not upstream_done and _upstream_answered(threecommas) >= users:
                        upstream_done = time.perf_counter() - started
                    if time.perf_counter() > deadline:
                        raise TimeoutError(
                            f"{_answered(botapi, users)} of {users} answered\n{bot.stderr()}"
                        )
                    await asyncio.sleep(0.005)
                wall = time.perf_counter() - started
                if not upstream_done:
                    upstream_done = wall
        alone = await client_alone(threecommas.base_url, users)
        sequential = await asyncio.to_thread(py3cw_sequential, threecommas.base_url, users)
    ratio = sequential / wall
    concurrency = Row(
        2,
        f"Concurrency: {users} connected users refresh at once, upstream latency "
        f"{UPSTREAM_LATENCY * 1000:.0f} ms (users written into the database before start)",
        f"all {users} final replies in {wall:.2f} s (all {users} load_balances answered "
        f"after {upstream_done:.2f} s); py3cw one after another: {sequential:.2f} s; "
        f"ratio {ratio:.1f}x end to end ({sequential / upstream_done:.1f}x for the 3Commas calls); "
        f"the bot's 3Commas client alone, same {users} calls at once: {alone:.2f} s "
        f"({sequential / alone:.0f}x)",
        ">= 60x faster than sequential",
        ratio >= 60,
    )
    memory = Row(
        4,
        f"Memory: peak RSS of the bot process during (2) ({users} users)",
        f"{rss.peak_mb:.1f} MB",
        "< 120 MB",
        rss.peak_mb < 120,
    )
    return concurrency, memory
