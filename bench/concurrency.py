"""(2) 500 users refresh at once: with the 3Commas budget at its default (15 calls a second for
the process, the stand-in limiting the IP to as many), and with it lifted against 500 sequential
py3cw calls, then once more with 10% of the sends answered 429; (4) peak RSS of the bot meanwhile.

Users are connected by writing their encrypted credentials and accounts straight into the
database before the bot starts (bench.common.seed_users). The bot runs as a separate
process (`python -m bot run`) so its RSS is its own. The Bot API stand-in enforces Telegram's
limits (per chat, per group, 30/s over the bot's own broadcasts) and counts every 429 it
answers for a broken one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    TELEGRAM_LIMITS,
    Row,
    RssSampler,
    account_id,
    add_keys,
    api_key,
    api_secret,
    bot_process,
    first_poll,
    last_summary_at,
    seed_users,
    summaries_in,
    user_id,
)
from bot.config import DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND, Settings
from bot.threecommas.client import ThreeCommasClient
from bot.threecommas.credentials import Credentials
from standins.demo import running_standins
from standins.threecommas_standin import ThreeCommasStandIn

UPSTREAM_LATENCY = 0.2
REPLIES_WITHIN = 5.0  # seconds: every summary, from the moment the updates were offered
UPSTREAM_RATIO = 100  # every load_balances answered this much faster than sequential py3cw
END_TO_END_RATIO = 20
RANDOM_429S = 0.1
GIVE_UP_AFTER = 120.0
# With the default budget: every summary within users / budget + BUDGET_SLACK seconds, and
# "at once" for the progress message is within the same slack.
BUDGET_SLACK = 2.0
FIRST_ANSWER_WITHIN = BUDGET_SLACK
LIFTED = 0.0  # THREECOMMAS_MAX_REQUESTS_PER_SECOND=0: as an operator with an arrangement


@dataclass
class Burst:
    """What one burst of refreshes at once came to."""

    wall: float  # seconds until the last summary was accepted (or GIVE_UP_AFTER)
    first_answer: float  # seconds until the last user saw a first message (progress or summary)
    upstream: float  # seconds until 3Commas had answered every load_balances
    answered: int
    repeated: int  # users who got more than one summary
    flood_429s: int
    random_429s: int
    peak_rss_mb: float
    ip_429s: int  # answered by the 3Commas stand-in for a broken per-IP limit
    ip_peak: int  # the most 3Commas requests within one second


class _Upstream:
    """Counts the answered load_balances calls, looking at each recorded request once."""

    def __init__(self, threecommas: ThreeCommasStandIn) -> None:
        self._requests = threecommas.requests
        self._seen = 0
        self.answered = 0

    def count(self) -> int:
        while self._seen < len(self._requests):
            request = self._requests[self._seen]
            if not request.status:
                break  # still waiting for its answer
            self.answered += "load_balances" in request.path_qs
            self._seen += 1
        return self.answered


async def burst(data: Path, users: int, budget: float, random_429s: float = 0.0) -> Burst:
    """Every user sends `/refresh <id>` at the same moment; wait for every summary. With a
    `budget` (calls a second), the 3Commas stand-in limits the IP to as many."""
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(data, base, latency=UPSTREAM_LATENCY, **TELEGRAM_LIMITS) as sandbox:
        add_keys(sandbox.threecommas, users)
        await seed_users(sandbox.settings, users)
        botapi, threecommas = sandbox.botapi, sandbox.threecommas
        if budget:
            threecommas.ip_limit_per_second = int(budget)
        if random_429s:
            botapi.set_random_429s(random_429s, seed=20261127, retry_after=1)
        env = {"THREECOMMAS_MAX_REQUESTS_PER_SECOND": str(budget)}
        async with bot_process(sandbox.settings, data, **env) as bot:
            await first_poll(botapi)
            await asyncio.sleep(1.0)
            with RssSampler(bot.pid) as rss:
                started = time.monotonic()
                for index in range(users):
                    botapi.send_text(f"/refresh {account_id(index)}", user_id=user_id(index))
                waiting, unanswered = set(range(users)), set(range(users))
                shown: dict[int, float] = {}
                first: dict[int, float] = {}
                upstream, answers = 0.0, _Upstream(threecommas)
                while waiting and time.monotonic() - started < GIVE_UP_AFTER:
                    await asyncio.sleep(0.01)
                    if not upstream and answers.count() >= users:
                        upstream = time.monotonic() - started
                    for index in list(unanswered):
                        messages = botapi.messages(user_id(index))
                        if messages:
                            first[index] = messages[0].sent_at - started
                            unanswered.discard(index)
                    for index in list(waiting):
                        at = last_summary_at(botapi, user_id(index))
                        if at is not None:
                            shown[index] = at - started
                            waiting.discard(index)
            await asyncio.sleep(1.0)  # anything late or doubled
            repeated = sum(summaries_in(botapi, user_id(i)) > 1 for i in range(users))
    return Burst(
        wall=max(shown.values(), default=GIVE_UP_AFTER) if not waiting else GIVE_UP_AFTER,
        first_answer=max(first.values(), default=GIVE_UP_AFTER)
        if not unanswered
        else GIVE_UP_AFTER,
        upstream=upstream or GIVE_UP_AFTER,
        answered=len(shown),
        repeated=repeated,
        flood_429s=botapi.flood_429s,
        random_429s=botapi.random_429s,
        peak_rss_mb=rss.peak_mb,
        ip_429s=threecommas.ip_429s,
        ip_peak=threecommas.ip_peak_per_second,
    )


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
    """The bot's own 3Commas client, without Telegram: the same calls, all at once (budget
    lifted)."""
    async with ThreeCommasClient(base_url, max_requests_per_second=LIFTED) as client:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                client.load_balances(Credentials(api_key(i), api_secret(i)), account_id(i))
                for i in range(users)
            )
        )
        return time.perf_counter() - started


async def baselines(data: Path, users: int) -> tuple[float, float]:
    """(py3cw one call after another, the bot's client with all calls at once), in seconds."""
    async with running_standins(data, latency=UPSTREAM_LATENCY) as sandbox:
        add_keys(sandbox.threecommas, users)
        base_url = sandbox.threecommas.base_url
        alone = await client_alone(base_url, users)
        sequential = await asyncio.to_thread(py3cw_sequential, base_url, users)
    return sequential, alone


def _limits_note(result: Burst) -> str:
    return f"429s for a broken limit: {result.flood_429s}"


async def measure(data: Path, users: int) -> tuple[Row, Row, Row, Row]:
    budget = float(DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND)
    budgeted = await burst(data / "budget", users, budget)
    plain = await burst(data / "plain", users, LIFTED)
    sequential, alone = await baselines(data / "py3cw", users)
    with_429s = await burst(data / "429s", users, LIFTED, RANDOM_429S)
    summaries_within = users / budget + BUDGET_SLACK
    default_budget = Row(
        2,
        f"Concurrency at the default 3Commas budget ({budget:.0f} calls/s for the process, the "
        f"3Commas stand-in limiting the IP to {budget:.0f} requests in any second): {users} "
        f"connected users refresh at once, upstream latency {UPSTREAM_LATENCY * 1000:.0f} ms",
        f"every user's first answer (the progress message) within {budgeted.first_answer:.2f} s; "
        f"all {budgeted.answered} of {users} summaries accepted within {budgeted.wall:.2f} s "
        f"({users} / {budget:.0f} = {users / budget:.1f} s); 429s from 3Commas for the IP: "
        f"{budgeted.ip_429s}, most requests in one second {budgeted.ip_peak}; "
        f"{_limits_note(budgeted)}",
        f"every first answer within {FIRST_ANSWER_WITHIN} s; every summary within {users} / "
        f"{budget:.0f} + {BUDGET_SLACK:.0f} = {summaries_within:.1f} s; no 429 for the IP",
        budgeted.first_answer <= FIRST_ANSWER_WITHIN
        and budgeted.wall <= summaries_within
        and budgeted.answered == users
        and budgeted.ip_429s == 0,
    )
    upstream_ratio = sequential / plain.upstream
    ratio = sequential / plain.wall
    lost = users - plain.answered
    concurrency = Row(
        2,
        f"Concurrency, 3Commas budget lifted (THREECOMMAS_MAX_REQUESTS_PER_SECOND=0, as with an "
        f"arrangement with 3Commas): {users} connected users refresh at once, upstream latency "
        f"{UPSTREAM_LATENCY * 1000:.0f} ms (users written into the database before start; "
        "stand-in enforcing Telegram's limits)",
        f"all {plain.answered} of {users} summaries accepted within {plain.wall:.2f} s; all "
        f"{users} load_balances answered after {plain.upstream:.2f} s; py3cw one after another: "
        f"{sequential:.2f} s; ratio {upstream_ratio:.0f}x for the 3Commas calls, {ratio:.1f}x "
        f"end to end; the bot's 3Commas client alone, same {users} calls at once: {alone:.2f} s "
        f"({sequential / alone:.0f}x); {_limits_note(plain)}",
        f">= {UPSTREAM_RATIO}x for the 3Commas calls; every reply within "
        f"{REPLIES_WITHIN:.0f} s (>= {END_TO_END_RATIO}x end to end)",
        upstream_ratio >= UPSTREAM_RATIO
        and plain.wall <= REPLIES_WITHIN
        and ratio >= END_TO_END_RATIO
        and lost == 0,
    )
    lost_429 = users - with_429s.answered
    random = Row(
        2,
        f"Concurrency as above (budget lifted), the stand-in answering {RANDOM_429S:.0%} of "
        "sends and edits with 429 (retry_after 1 s)",
        f"{with_429s.answered} of {users} summaries accepted (lost {lost_429}), the last after "
        f"{with_429s.wall:.2f} s; users with more than one summary: {with_429s.repeated}; "
        f"{with_429s.random_429s} random 429s answered; {_limits_note(with_429s)}",
        "0 lost",
        lost_429 == 0 and with_429s.repeated == 0,
    )
    memory = Row(
        4,
        f"Memory: peak RSS of the bot process during (2) ({users} users)",
        f"{plain.peak_rss_mb:.1f} MB",
        "< 120 MB",
        plain.peak_rss_mb < 120,
    )
    return default_budget, concurrency, random, memory
