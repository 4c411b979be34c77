"""(12) the deal feed at scale: 20,000 deal subscriptions over 10,000 keys, DEALS_POLL_SECONDS=60.

The database is seeded directly: 10,000 connected users (one account each, the one their key
sees in the 3Commas stand-in); per user a feed of that account (in a chat of its own) and a
feed of all their accounts with `losses` (in another chat). The bot runs as a child process
(`python -m bot run`) against the stand-ins, the Bot API stand-in enforcing Telegram's limits.

- Budget lifted: the stand-in counts the deals calls a second over one whole period (after a
  first period to settle): the spread (max a second against the mean) and the bot's CPU per
  poll. Then 1,000 keys each close a take-profit deal, one every 60 ms (so within one minute),
  while five other users send /refresh 10 s apart: each deal's post in its account feed's chat
  (1,000 chats), its delay after the close, lost, twice, and the rate against the ideal
  max(1,000 / 30 msg/s, close spread + one period): a deal is only seen by the next poll of
  its key, up to a period after it closed. The `losses` feeds see take profits only: nothing.
- Memory: idle RSS (3 s after the first getUpdates, every feed watched) against the bot with
  an empty database.
- Default budget (15 calls/s for the process): the time until every key was polled once (the
  round), the most calls in any second, and /refresh answers meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    BUDGET_LIFTED,
    TELEGRAM_LIMITS,
    BotProcess,
    Row,
    account_id,
    add_keys,
    api_key,
    bot_process,
    first_poll,
    median,
    seed_users,
    summary_shown_at,
    user_id,
)
from bench.process import idle_bot_rss
from bench.scale import _empty_idle_rss
from bot.config import DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND, Settings
from bot.storage.columns import time_text
from standins.botapi import BotApiStandIn
from standins.bots_and_deals import DealClose
from standins.demo import Sandbox, running_standins
from standins.threecommas_standin import RecordedRequest

PERIOD = 60
RATE = 30  # Telegram's messages a second
DELAY_TARGET = 90.0  # seconds from a deal's close to its post
ANSWER_TARGET = 2.0
ABOVE_EMPTY_MB = 25.0
CLOSE_SPREAD = 60.0  # the burst's deals close within this many seconds
ASKERS = 5
FIRST_ASK = 5.0
ASK_EVERY = 10.0
DEFAULT_ASKERS = 3


def feed_chat(index: int) -> int:
    """The chat of feed `index` (feeds 0..keys-1: an account each; then `all losses`)."""
    return -(10**12) - 2_000_000 - index


def seed_feeds(database: Path, keys: int, feeds: int) -> None:
    """`feeds` deal feeds from now: feed i of user i % keys, of their account for i < keys, of
    all their accounts with `losses` after; each in a chat of its own."""
    created = time_text(datetime.now(UTC))
    subscriptions = []
    marks = []
    for index in range(feeds):
        owner = index % keys
        target = account_id(owner) if index < keys else None
        subscriptions.append((index + 1, feed_chat(index), user_id(owner), target, PERIOD, created))
        marks.append((index + 1, int(index >= keys), created))
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.executemany(
            "INSERT INTO subscriptions (id, chat_id, user_id, account_id, schedule_kind, "
            "interval_seconds, daily_time, paused, last_error, created_at, content) "
            "VALUES (?, ?, ?, ?, 'interval', ?, NULL, 0, NULL, ?, 'deals')",
            subscriptions,
        )
        db.executemany(
            "INSERT INTO deal_feeds (subscription_id, quiet, losses, mark_at, seen) "
            "VALUES (?, 0, ?, ?, '{}')",
            marks,
        )


@dataclass
class DealCalls:
    """Every deals call the stand-in received: when, and for which key."""

    arrivals: list[float] = field(default_factory=list)
    keys_seen: dict[str, float] = field(default_factory=dict)  # key -> its first call

    def note(self, request: RecordedRequest) -> None:
        if "/deals" not in request.path_qs:
            return
        self.arrivals.append(request.arrived_at)
        if request.api_key is not None:
            self.keys_seen.setdefault(request.api_key, request.arrived_at)

    def per_second(self, start: float, seconds: int) -> list[int]:
        buckets = Counter(int(at - start) for at in self.arrivals if start <= at < start + seconds)
        return [buckets.get(second, 0) for second in range(seconds)]


async def _prepared(sandbox: Sandbox, keys: int, feeds: int) -> DealCalls:
    add_keys(sandbox.threecommas, keys)
    await seed_users(sandbox.settings, keys)
    seed_feeds(sandbox.settings.database_path, keys, feeds)
    calls = DealCalls()
    sandbox.threecommas.on_request = calls.note
    return calls


async def _watched(bot: BotProcess, timeout: float = 120.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while "deal feeds of" not in bot.stderr():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not log that it watches the feeds")
        await asyncio.sleep(0.05)


@dataclass
class Asking:
    """People sending /refresh while the feed works: how long each waited for the answer."""

    botapi: BotApiStandIn
    users: list[int]  # indexes
    asked: dict[int, tuple[int, float]] = field(default_factory=dict)
    answers: dict[int, float] = field(default_factory=dict)

    def ask(self, number: int) -> None:
        index = self.users[number]
        last = self.botapi.last_message(user_id(index))
        self.botapi.send_text(f"/refresh {account_id(index)}", user_id=user_id(index))
        self.asked[number] = (last.message_id if last else 0, time.monotonic())

    def check(self) -> None:
        for number, (after, at) in self.asked.items():
            if number not in self.answers:
                shown = summary_shown_at(self.botapi, user_id(self.users[number]), after)
                if shown is not None:
                    self.answers[number] = shown - at

    def waits(self) -> list[float]:
        return [self.answers.get(n, math.inf) for n in range(len(self.users))]


@dataclass
class Burst:
    delays: list[float]  # seconds from each deal's close to its post (inf: never posted)
    twice: int
    elsewhere: int  # posts in the `losses` feeds' chats (take profits only: none expected)
    took: float  # first close to last post
    waits: list[float]
    flood_429s: int


async def _burst(sandbox: Sandbox, keys: int, count: int) -> Burst:
    botapi, threecommas = sandbox.botapi, sandbox.threecommas
    asking = Asking(botapi, [keys - 1 - n for n in range(ASKERS)])
    closed_at: dict[int, float] = {}
    posted: dict[int, float] = {}
    started = time.monotonic()
    deadline = started + CLOSE_SPREAD + PERIOD + DELAY_TARGET + 30
    spacing = CLOSE_SPREAD / count
    while (len(posted) < count or len(asking.answers) < ASKERS) and time.monotonic() < deadline:
        now = time.monotonic()
        while len(closed_at) < count and now >= started + len(closed_at) * spacing:
            index = len(closed_at)
            book = threecommas.book(api_key(index), account_id(index))
            oldest = book.oldest_active_deal()
            assert oldest is not None, "every bench account has active deals"
            threecommas.close_deal(api_key(index), oldest[1]["id"], DealClose.TAKE_PROFIT)
            closed_at[index] = time.monotonic()
        if (
            len(asking.asked) < ASKERS
            and now >= started + FIRST_ASK + len(asking.asked) * ASK_EVERY
        ):
            asking.ask(len(asking.asked))
        asking.check()
        for index in closed_at:
            if index not in posted:
                last = botapi.last_message(feed_chat(index))
                if last is not None:
                    posted[index] = botapi.messages(feed_chat(index))[0].sent_at
        await asyncio.sleep(0.01)
    await asyncio.sleep(2.0)  # anything late or twice
    twice = sum(len(botapi.messages(feed_chat(i))) > 1 for i in range(count))
    elsewhere = sum(len(botapi.messages(feed_chat(keys + i))) for i in range(keys))
    delays = [posted[i] - closed_at[i] if i in posted else math.inf for i in range(count)]
    took = max(posted.values(), default=math.inf) - started if len(posted) == count else math.inf
    return Burst(delays, twice, elsewhere, took, asking.waits(), botapi.flood_429s)


async def _lifted(data: Path, keys: int, feeds: int, burst_size: int) -> list[Row]:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(data, base, **TELEGRAM_LIMITS) as sandbox:
        calls = await _prepared(sandbox, keys, feeds)
        async with bot_process(
            sandbox.settings,
            data,
            LOG_LEVEL="INFO",
            DEALS_POLL_SECONDS=str(PERIOD),
            **BUDGET_LIFTED,
        ) as bot:
            await first_poll(sandbox.botapi)
            await _watched(bot)
            idle_rss = await idle_bot_rss(bot, sandbox.botapi)
            # a first period to settle, then one whole period counted
            await asyncio.sleep(PERIOD)
            start, cpu_before, polls_before = (
                time.monotonic(),
                bot.cpu_seconds(),
                len(calls.arrivals),
            )
            await asyncio.sleep(PERIOD)
            cpu = bot.cpu_seconds() - cpu_before
            polls = len(calls.arrivals) - polls_before
            seconds = calls.per_second(start, PERIOD)
            burst = await _burst(sandbox, keys, burst_size)
            tracebacks = bot.stderr().count("Traceback")
    empty_rss = await _empty_idle_rss(data / "empty")
    return _lifted_rows(keys, feeds, seconds, polls, cpu, burst, tracebacks, idle_rss, empty_rss)


def _lifted_rows(
    keys: int,
    feeds: int,
    seconds: list[int],
    polls: int,
    cpu: float,
    burst: Burst,
    tracebacks: int,
    idle_rss: float,
    empty_rss: float,
) -> list[Row]:
    mean = sum(seconds) / len(seconds) if seconds else float("nan")
    count = len(burst.delays)
    lost = sum(1 for delay in burst.delays if math.isinf(delay))
    slowest = max(burst.delays, default=math.inf)
    ideal = max(count / RATE, CLOSE_SPREAD + PERIOD)
    share = ideal / burst.took if burst.took > 0 else float("nan")
    waits = ", ".join(f"{w:.2f}" for w in burst.waits)
    stored = f"{feeds:,} deal subscriptions over {keys:,} keys, DEALS_POLL_SECONDS={PERIOD}"
    return [
        Row(
            12,
            f"Deal feed at scale: {stored}, budget lifted: deals calls a second over one "
            "period, and the bot's CPU per poll",
            f"{polls:,} calls in {PERIOD} s ({polls / keys:.2f} per key); a second: mean "
            f"{mean:.0f}, max {max(seconds, default=0)}, min {min(seconds, default=0)}; CPU "
            f"{cpu * 1000 / max(1, polls):.2f} ms per poll ({cpu / PERIOD:.0%} of a core)",
            "one call per key per period; max a second <= 1.5 x the mean (no burst)",
            abs(polls / keys - 1) <= 0.02 and max(seconds, default=0) <= 1.5 * mean,
        ),
        Row(
            12,
            f"Deal feed at scale: {count:,} deals closing within one minute (one every "
            f"{CLOSE_SPREAD / count * 1000:.0f} ms, a key each) posted to {count:,} chats, "
            f"Bot API stand-in enforcing Telegram's limits",
            f"every post {median(burst.delays):.1f} s (median), {slowest:.1f} s (max) after "
            f"its close; all in {burst.took:.1f} s (ideal {ideal:.0f} s: a close is seen by "
            f"the next poll of its key): {share:.0%}; lost {lost}; twice {burst.twice}; "
            f"posts in the `losses` feeds' chats {burst.elsewhere}; 429s "
            f"{burst.flood_429s}; tracebacks {tracebacks}",
            f"each within {DELAY_TARGET:.0f} s, >= 90% of {RATE} msg/s (of the ideal), 0 lost, "
            "0 twice",
            slowest <= DELAY_TARGET
            and share >= 0.9
            and lost == 0
            and burst.twice == 0
            and burst.elsewhere == 0,
        ),
        Row(
            12,
            f"Deal feed at scale: during those closes, {ASKERS} other users send /refresh "
            f"({FIRST_ASK:.0f} s in, then every {ASK_EVERY:.0f} s)",
            f"summaries after {waits} s (slowest {max(burst.waits):.2f} s)",
            f"each < {ANSWER_TARGET:.0f} s",
            max(burst.waits) < ANSWER_TARGET,
        ),
        Row(
            12,
            f"Memory: idle RSS of the bot with {stored} (3 s after its first poll, every feed "
            "watched) against the same bot with an empty database",
            f"{idle_rss:.1f} MB; empty database {empty_rss:.1f} MB; difference "
            f"{idle_rss - empty_rss:+.1f} MB",
            f"at most {ABOVE_EMPTY_MB:.0f} MB above the empty database",
            idle_rss - empty_rss <= ABOVE_EMPTY_MB,
        ),
    ]


async def _default_budget(data: Path, keys: int, feeds: int) -> Row:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    budget = float(DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND)
    expected = keys * (1 + 0.04) / budget  # the budget spaces calls (1 + ARRIVAL_JITTER) / rate
    async with running_standins(data, base, **TELEGRAM_LIMITS) as sandbox:
        calls = await _prepared(sandbox, keys, feeds)
        asking = Asking(sandbox.botapi, [keys - 1 - n for n in range(DEFAULT_ASKERS)])
        async with bot_process(
            sandbox.settings, data, LOG_LEVEL="INFO", DEALS_POLL_SECONDS=str(PERIOD)
        ) as bot:
            await first_poll(sandbox.botapi)
            await _watched(bot)
            deadline = time.monotonic() + expected * 2 + 60
            while len(calls.keys_seen) < keys and time.monotonic() < deadline:
                if not calls.arrivals:
                    await asyncio.sleep(0.05)
                    continue
                first = calls.arrivals[0]
                now = time.monotonic()
                due = first + 20 + len(asking.asked) * (expected / (DEFAULT_ASKERS + 1))
                if len(asking.asked) < DEFAULT_ASKERS and now >= due:
                    asking.ask(len(asking.asked))
                asking.check()
                await asyncio.sleep(0.05)
            while len(asking.answers) < len(asking.asked) and time.monotonic() < deadline:
                asking.check()
                await asyncio.sleep(0.05)
            tracebacks = bot.stderr().count("Traceback")
    first = calls.arrivals[0] if calls.arrivals else math.nan
    seen = len(calls.keys_seen)
    round_time = max(calls.keys_seen.values()) - first if seen == keys else math.inf
    seconds = calls.per_second(first, int(min(round_time, expected * 2)))
    waits = asking.waits()
    return Row(
        12,
        f"Deal feed at scale: {feeds:,} deal subscriptions over {keys:,} keys, "
        f"DEALS_POLL_SECONDS={PERIOD}, default budget ({budget:.0f} calls/s for the process): "
        f"the round (every key polled once), with {DEFAULT_ASKERS} /refresh meanwhile",
        f"round {round_time:.0f} s (keys / budget: {expected:.0f} s), so one process watches "
        f"about {int(PERIOD * budget / 1.04):,} keys at a {PERIOD} s period; max "
        f"{max(seconds, default=0)} calls in a second; /refresh answered after "
        + ", ".join(f"{w:.2f}" for w in waits)
        + f" s; tracebacks {tracebacks}",
        f"round within 10% of keys / budget; /refresh each < {ANSWER_TARGET:.0f} s",
        round_time <= expected * 1.1 and max(waits) < ANSWER_TARGET,
    )


async def measure(data: Path, keys: int, feeds: int, burst: int) -> list[Row]:
    rows = await _lifted(data / "lifted", keys, feeds, burst)
    rows.append(await _default_budget(data / "default", keys, feeds))
    return rows
