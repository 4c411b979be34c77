"""(7) the bot at the size of a popular community bot: start-up and idle memory; (8) a minute in
which 1,800 of its subscriptions fall due, while other people refresh.

The database is seeded directly (bench.common.seed_users, seed_scheduled): 100,000 users, each
with credentials and 3 accounts; 20,000 subscriptions, interval and daily, in 5,000 chats
across 8 time zones; 5,000 alerts (which never hold). 1,800 of the subscriptions, each in a chat
of its own, fall due in one whole minute: the daily ones at its first second, the hourly ones
spread over it; nothing else falls due until well after. The bot is started three times on it
(start-up to the first poll); the third stays up, idle until the minute, then posts the burst
to the Bot API stand-in, which enforces Telegram's limits. Meanwhile five other users send
/refresh, ten seconds apart.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import (
    BUDGET_LIFTED,
    TELEGRAM_LIMITS,
    ZONES,
    BotProcess,
    Row,
    ScalePlan,
    account_id,
    add_keys,
    api_key,
    api_secret,
    bot_process,
    first_poll,
    median,
    scale_chat_id,
    seed_scheduled,
    seed_users,
    summary_shown_at,
    user_id,
)
from bench.process import idle_bot_rss
from bot.config import Settings
from standins.botapi import BotApiStandIn
from standins.demo import running_standins
from standins.threecommas_standin import demo_account

ACCOUNTS_PER_USER = 3
STARTUP_RUNS = 3
UPSTREAM_LATENCY = 0.2
RATE = 30  # Telegram's messages a second over the bot's own broadcasts
STARTUP_TARGET = 2.0
ABOVE_EMPTY_MB = 25.0
ANSWER_TARGET = 2.0
ASKERS = 5
FIRST_ASK = 5.0  # seconds into the minute
ASK_EVERY = 10.0
# From seeding to the due minute at least: room for the start-ups and the idle measurement.
LEAD = timedelta(seconds=25)


@dataclass
class Burst:
    took: float  # seconds from the minute's start to the last due chat's post
    delivered: int
    repeated: int  # due chats with more than one message
    elsewhere: int  # messages in chats with nothing due
    answers: list[float]  # seconds each asker waited for their summary
    flood_429s: int


def _asker(plan_users: int, number: int) -> int:
    """The user index of the `number`th person refreshing during the burst (not an owner)."""
    return plan_users - 1 - number


def _next_minute(after: datetime) -> datetime:
    return after.replace(second=0, microsecond=0) + timedelta(minutes=1)


async def _burst(botapi: BotApiStandIn, plan: ScalePlan, users: int, minute_at: float) -> Burst:
    """Watch the due minute (`minute_at`, time.monotonic()) until every due chat has its post."""
    ideal = max(plan.due / RATE, plan.due_spread_seconds)
    deadline = minute_at + ideal * 3 + 30
    posted: dict[int, float] = {}
    waiting = set(range(plan.due))
    asked: dict[int, tuple[int, float]] = {}  # asker -> (their last message id, when asked)
    answers: dict[int, float] = {}
    while (waiting or len(answers) < ASKERS) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        now = time.monotonic()
        next_asker = len(asked)
        if next_asker < ASKERS and now >= minute_at + FIRST_ASK + next_asker * ASK_EVERY:
            index = _asker(users, next_asker)
            last = botapi.last_message(user_id(index))
            botapi.send_text(f"/refresh {account_id(index)}", user_id=user_id(index))
            asked[next_asker] = (last.message_id if last else 0, now)
        for number, (after, at) in asked.items():
            if number not in answers:
                shown = summary_shown_at(botapi, user_id(_asker(users, number)), after)
                if shown is not None:
                    answers[number] = shown - at
        for index in list(waiting):
            if botapi.last_message(scale_chat_id(index)) is not None:
                posted[index] = botapi.messages(scale_chat_id(index))[0].sent_at
                waiting.discard(index)
    await asyncio.sleep(2.0)  # anything late or doubled
    repeated = sum(len(botapi.messages(scale_chat_id(i))) > 1 for i in range(plan.due))
    elsewhere = sum(len(botapi.messages(scale_chat_id(i))) for i in range(plan.due, plan.chats))
    return Burst(
        took=max(posted.values(), default=deadline) - minute_at if not waiting else math.inf,
        delivered=len(posted),
        repeated=repeated,
        elsewhere=elsewhere,
        answers=[answers.get(n, math.inf) for n in range(ASKERS)],
        flood_429s=botapi.flood_429s,
    )


async def _empty_idle_rss(data: Path) -> float:
    async with (
        running_standins(data, Settings(_env_file=None)) as sandbox,
        bot_process(sandbox.settings, data) as bot,
    ):
        return await idle_bot_rss(bot, sandbox.botapi)


async def measure(data: Path, users: int, plan: ScalePlan) -> list[Row]:
    empty_rss = await _empty_idle_rss(data / "empty")
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(
        data / "scale", base, latency=UPSTREAM_LATENCY, **TELEGRAM_LIMITS
    ) as sandbox:
        botapi, settings = sandbox.botapi, sandbox.settings
        add_keys(sandbox.threecommas, plan.due)
        for number in range(ASKERS):
            index = _asker(users, number)
            account = demo_account(account_id(index), f"Bench {index}")
            sandbox.threecommas.add_key(api_key(index), api_secret(index), [account])
        await seed_users(settings, users, accounts_per_user=ACCOUNTS_PER_USER)
        minute = _next_minute(datetime.now(UTC) + LEAD)
        seed_scheduled(settings.database_path, plan, minute)
        minute_at = time.monotonic() + (minute - datetime.now(UTC)).total_seconds()
        startups: list[float] = []
        planned: list[float] = []
        for run in range(STARTUP_RUNS):
            botapi.calls.clear()
            async with bot_process(
                settings, data / f"run{run}", LOG_LEVEL="INFO", **BUDGET_LIFTED
            ) as bot:
                startups.append(await first_poll(botapi) - bot.started_at)
                planned.append(await _all_scheduled(bot) - bot.started_at)
                if run < STARTUP_RUNS - 1:
                    continue
                idle_rss = await idle_bot_rss(bot, botapi)
                if time.monotonic() > minute_at - 1:
                    raise RuntimeError("the start-ups took until the due minute; raise LEAD")
                burst = await _burst(botapi, plan, users, minute_at)
                tracebacks = bot.stderr().count("Traceback")
    return _rows(users, plan, (startups, planned), idle_rss, empty_rss, burst, tracebacks)


async def _all_scheduled(bot: BotProcess, timeout: float = 60.0) -> float:  # noqa: ASYNC109
    """When (time.monotonic()) the bot logged that every subscription is scheduled."""
    deadline = time.monotonic() + timeout
    while "subscriptions scheduled" not in bot.stderr():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the subscriptions were not scheduled within {timeout} s")
        await asyncio.sleep(0.01)
    return time.monotonic()


def _rows(
    users: int,
    plan: ScalePlan,
    startups: tuple[list[float], list[float]],
    idle_rss: float,
    empty_rss: float,
    burst: Burst,
    tracebacks: int,
) -> list[Row]:
    stored = (
        f"{users:,} users (credentials, {ACCOUNTS_PER_USER} accounts each), "
        f"{plan.subscriptions:,} subscriptions (interval and daily, {len(ZONES)} time zones, "
        f"{plan.chats:,} chats), {plan.alerts:,} alerts"
    )
    polls, planned = startups
    ideal = max(plan.due / RATE, plan.due_spread_seconds)
    share = ideal / burst.took if burst.took > 0 else float("nan")
    lost = plan.due - burst.delivered
    slowest = max(burst.answers)
    answers = ", ".join(f"{a:.2f}" for a in burst.answers)
    return [
        Row(
            7,
            f"Scale, start-up: {stored}; `python -m bot run` spawned to its first getUpdates "
            f"({len(polls)} runs)",
            f"median {median(polls):.2f} s, max {max(polls):.2f} s; every subscription "
            f"scheduled (logged) after median {median(planned):.2f} s, max {max(planned):.2f} s",
            f"< {STARTUP_TARGET:.0f} s",
            median(polls) < STARTUP_TARGET,
        ),
        Row(
            7,
            "Scale, memory: idle RSS of the bot with that database (3 s after its first poll, "
            "every subscription scheduled) against the same bot with an empty database",
            f"{idle_rss:.1f} MB; empty database {empty_rss:.1f} MB; difference "
            f"{idle_rss - empty_rss:+.1f} MB",
            f"at most {ABOVE_EMPTY_MB:.0f} MB above the empty database",
            idle_rss - empty_rss <= ABOVE_EMPTY_MB,
        ),
        Row(
            8,
            f"Scale, a minute in which {plan.due:,} subscriptions fall due (half daily at its "
            f"first second in their chats' zones, half hourly spread over it; a chat each), "
            f"3Commas {UPSTREAM_LATENCY * 1000:.0f} ms, Bot API stand-in enforcing Telegram's "
            "limits",
            f"all delivered {burst.took:.2f} s after the minute began (ideal {ideal:.0f} s): "
            f"{share:.0%} of {RATE} msg/s; lost {lost}; chats posted to twice: {burst.repeated}; "
            f"posts to chats with nothing due: {burst.elsewhere}; 429s received "
            f"{burst.flood_429s}; tracebacks in the bot's log: {tracebacks}",
            f">= 90% of {RATE} msg/s, nothing lost, no 429",
            share >= 0.9 and lost == 0 and burst.flood_429s == 0,
        ),
        Row(
            8,
            f"Scale, during that minute: {ASKERS} other users each send /refresh "
            f"({FIRST_ASK:.0f} s into it, then every {ASK_EVERY:.0f} s)",
            f"summaries accepted after {answers} s (slowest {slowest:.2f} s)",
            f"each < {ANSWER_TARGET:.0f} s",
            slowest < ANSWER_TARGET,
        ),
    ]
