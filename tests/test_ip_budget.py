"""3Commas limits and bans IP addresses, and every user's calls leave from the bot's one: a ban
stops every call, one budget paces them all with people's commands first, and 429s from
several keys at once slow every call."""

from __future__ import annotations

import asyncio
import bisect
from datetime import UTC, datetime, timedelta

import pytest

from bench.common import account_id, add_keys, api_key, last_summary_at, seed_users, user_id
from bench.fanout import seed_subscriptions
from bot.threecommas.budget import CallBudget, background_calls
from bot.threecommas.credentials import Credentials
from bot.threecommas.errors import RateLimited
from standins.demo import Sandbox
from standins.threecommas_standin import Fault, ThreeCommasStandIn, demo_account
from tests.support.bot import Chat, bot_running
from tests.support.clock import ClockFromFirstCall
from tests.support.threecommas import (
    HMAC_CREDENTIALS,
    OTHER_CREDENTIALS,
    fast_client,
    running_standin,
)

BANNED = "3Commas has temporarily blocked requests from this bot. Try again in 10 min."


def load_balances_calls(threecommas: ThreeCommasStandIn) -> list[str]:
    """The API key of every load_balances call the stand-in received, in order."""
    return [r.api_key or "" for r in threecommas.requests if "load_balances" in r.path_qs]


def most_in_one_second(threecommas: ThreeCommasStandIn) -> int:
    """The most requests the stand-in received within any one second."""
    arrived = sorted(r.arrived_at for r in threecommas.requests)
    return max(
        (bisect.bisect_right(arrived, t + 0.999) - i for i, t in enumerate(arrived)), default=0
    )


async def test_a_ban_for_one_key_stops_every_call_and_each_waiting_user_is_told_once(
    sandbox: Sandbox,
) -> None:
    botapi, threecommas = sandbox.botapi, sandbox.threecommas
    add_keys(threecommas, 5)
    await seed_users(sandbox.settings, 5)
    chats = [Chat(botapi, user_id=user_id(i)) for i in range(5)]
    # one call every 4 s: after the first user's, the next three wait in the budget
    async with bot_running(sandbox, threecommas_max_requests_per_second=0.25):
        assert "Updated" in (await chats[4].reply(f"/refresh {account_id(4)}")).plain
        for index in range(3):
            chats[index].send(f"/refresh {account_id(index)}")
        # each sees the progress message: their calls wait in the budget
        await botapi.wait_for(lambda: all(botapi.messages(c.chat_id) for c in chats[:3]), 10)
        threecommas.inject(Fault.BANNED, retry_after=600)  # for whichever key goes next
        for chat in chats[:3]:
            await botapi.wait_for_text(chat.chat_id, BANNED, timeout=15)
        await botapi.wait_handled()
        # another key, after the ban: told at once, and 3Commas is not asked
        later = await chats[3].reply(f"/refresh {account_id(3)}")
        assert BANNED in later.plain, later.plain
    for chat in chats[:3]:
        messages = botapi.messages(chat.chat_id)
        assert len(messages) == 1, [m.plain for m in messages]  # the progress, edited: once
        assert BANNED in messages[0].plain
    assert len(load_balances_calls(threecommas)) == 2  # the first user's, and the banned one


async def test_many_users_refreshing_at_once_never_exceed_the_budget_at_3commas(
    sandbox: Sandbox,
) -> None:
    botapi, threecommas = sandbox.botapi, sandbox.threecommas
    users, budget = 10, 3
    threecommas.ip_limit_per_second = budget
    add_keys(threecommas, users)
    await seed_users(sandbox.settings, users)
    chats = [Chat(botapi, user_id=user_id(i)) for i in range(users)]
    async with bot_running(sandbox, threecommas_max_requests_per_second=budget):
        for index, chat in enumerate(chats):
            chat.send(f"/refresh {account_id(index)}")
        await botapi.wait_for(
            lambda: all(last_summary_at(botapi, chat.chat_id) for chat in chats), timeout=30
        )
    statuses = [(r.status, round(r.arrived_at, 3)) for r in threecommas.requests]
    # no 429 for the IP (load_balances answers 201, the summary's bots/stats 200)
    assert all(r.status in (200, 201) for r in threecommas.requests), statuses
    assert len(load_balances_calls(threecommas)) == users
    assert most_in_one_second(threecommas) <= budget


async def test_a_typed_command_goes_ahead_of_queued_scheduled_posts(sandbox: Sandbox) -> None:
    botapi, threecommas = sandbox.botapi, sandbox.threecommas
    subscriptions = 10
    person = subscriptions  # one more seeded user, without subscriptions
    add_keys(threecommas, subscriptions + 1)
    await seed_users(sandbox.settings, subscriptions + 1)
    due = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    seed_subscriptions(sandbox.settings.database_path, subscriptions, due)
    clock = ClockFromFirstCall(due - timedelta(seconds=1))
    # one call a second: the ten posts falling due together queue for ten seconds
    async with bot_running(sandbox, clock=clock, threecommas_max_requests_per_second=1):
        await botapi.wait_for(lambda: len(load_balances_calls(threecommas)) >= 2, timeout=20)
        summary = await Chat(botapi, user_id=user_id(person)).reply(
            f"/refresh {account_id(person)}", timeout=30
        )
        assert "Updated" in summary.plain, summary.plain
        await botapi.wait_for(
            lambda: len(load_balances_calls(threecommas)) == subscriptions + 1, timeout=30
        )
    calls = load_balances_calls(threecommas)
    # the posts' calls queued before the command still waited: at least four went after it
    assert len(calls) - 1 - calls.index(api_key(person)) >= 4, calls


async def test_429s_from_several_keys_within_a_second_slow_every_call() -> None:
    third = Credentials("third-key-00000000000", "third-secret")
    fourth = Credentials("fourth-key-0000000000", "fourth-secret")
    async with (
        running_standin() as standin,
        fast_client(standin.base_url) as client,
    ):
        for extra, number in ((third, 21), (fourth, 31)):
            standin.add_key(extra.api_key, extra.secret, [demo_account(number, "Extra")])
        standin.inject(Fault.RATE_LIMITED, times=3, retry_after=60)
        for credentials, number in ((HMAC_CREDENTIALS, 1), (OTHER_CREDENTIALS, 9), (third, 21)):
            with pytest.raises(RateLimited):
                await client.get_account(credentials, number)
        limited_at = standin.requests[-1].arrived_at
        # a fourth key, never answered 429: its calls wait out the IP's second, then slower
        await asyncio.gather(*(client.get_account(fourth, 31) for _ in range(5)))
    arrived = [r.arrived_at for r in standin.requests[3:]]
    assert min(arrived) - limited_at >= 0.9
    # half the default 15 a second: 4 gaps of 133 ms (unslowed: of 67 ms)
    assert max(arrived) - min(arrived) >= 0.45


def test_a_ban_without_retry_after_grows_from_2_minutes_with_repeated_bans() -> None:
    now = [1000.0]
    budget = CallBudget(15, clock=lambda: now[0])
    lengths = []
    for _ in range(3):
        lengths.append(budget.ban(None, sent_at=now[0]))
        now[0] += lengths[-1] + 5  # the next call after the ban ended is banned again
    assert lengths == [120, 240, 480]
    now[0] += 2 * 24 * 3600  # a quiet day: the next ban starts at 2 minutes again
    assert budget.ban(None, sent_at=now[0]) == 120
    now[0] += 200
    assert budget.ban(3600, sent_at=now[0]) == 3600  # Retry-After says how long


async def test_a_person_joining_a_queued_background_call_takes_it_ahead() -> None:
    async with (
        running_standin() as standin,
        fast_client(standin.base_url, max_requests_per_second=4) as client,
    ):
        await client.get_account(HMAC_CREDENTIALS, 1)  # takes this quarter second's slot
        with background_calls():
            queued = [
                asyncio.create_task(client.load_balances(credentials, number))
                for credentials, number in (
                    (HMAC_CREDENTIALS, 2),
                    (HMAC_CREDENTIALS, 3),
                    (OTHER_CREDENTIALS, 9),
                    (HMAC_CREDENTIALS, 1),
                )
            ]
        for _ in range(1000):  # until every background call waits in the budget
            if client.budget.waiting() == len(queued):
                break
            await asyncio.sleep(0.01)
        assert (await client.load_balances(HMAC_CREDENTIALS, 1)).id == 1
        await asyncio.gather(*queued)
    refreshed = [r.path_qs.split("/")[-2] for r in standin.requests if "load_balances" in r.path_qs]
    assert refreshed == ["1", "2", "3", "9"]  # the shared call went first, once
