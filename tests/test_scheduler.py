"""The one scheduler of every subscription: start-up plans each stored subscription once, in its
chat's time zone; runs wait for a free slot in order of due time and see what changed meanwhile;
two runs of one subscription never overlap; the notifier does not reach back into the handlers'
context."""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bench.common import (
    ScalePlan,
    account_id,
    add_keys,
    scale_chat_id,
    seed_scheduled,
    seed_users,
    user_id,
)
from bench.fanout import group_chat_id, seed_subscriptions
from standins.botapi import BotApiStandIn, SentMessage
from standins.demo import DEMO_USER_ID, Sandbox
from tests.support.bot import Chat, bot_running
from tests.support.clock import ManualClock

DUE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # 05:00 in New York (EDT)
GROUP = -100990


def before_due() -> ManualClock:
    """Seeded subscriptions fall due when the test advances this clock by 2 s."""
    return ManualClock(DUE - timedelta(seconds=2))


def bench_summaries(botapi: BotApiStandIn, chat_id: int, index: int) -> list[SentMessage]:
    """Posted summaries of bench user `index`'s first account in a chat."""
    return [
        m for m in botapi.messages(chat_id) if f"Bench {index}" in m.plain and "Updated" in m.plain
    ]


def in_group(botapi: BotApiStandIn, chat_id: int, user: int) -> Chat:
    return Chat(botapi, user_id=user, chat_id=chat_id, chat_type="group", first_name="Bench")


async def test_start_up_plans_every_stored_subscription_once_in_its_chats_zone(
    sandbox: Sandbox,
) -> None:
    botapi = sandbox.botapi
    plan = ScalePlan(subscriptions=600, chats=150, alerts=100, due=60, due_spread_seconds=2.0)
    add_keys(sandbox.threecommas, plan.due)
    await seed_users(sandbox.settings, plan.subscriptions, accounts_per_user=3)
    seed_scheduled(sandbox.settings.database_path, plan, DUE)
    due_chats = [scale_chat_id(i) for i in range(plan.due)]
    clock = before_due()
    # the 3Commas budget (15 requests/s) is not what this test is about: the 60 due runs
    # queued 4 s for it
    async with bot_running(
        sandbox, clock=clock, threecommas_max_requests_per_second=0
    ) as application:
        next_runs = application.bot_data.services.subscriptions.next_runs
        assert sorted(next_runs) == list(range(1, plan.subscriptions + 1))
        # daily and hourly, across zones: all due within the plan's two seconds
        assert sum(DUE <= when < DUE + timedelta(seconds=2) for when in next_runs.values()) == 60
        clock.advance(4)  # past those two seconds
        await botapi.wait_for(
            lambda: all(bench_summaries(botapi, due_chats[i], i) for i in range(plan.due)),
            timeout=20,
        )
        # every run re-armed once: an hour later on its grid, or the next day at its time
        await botapi.wait_for(lambda: len(next_runs) == plan.subscriptions, timeout=10)
        assert all(when > DUE + timedelta(minutes=2) for when in next_runs.values())
        # chat 2 keeps America/New_York: its four daily subscriptions, one of them due today
        new_york = in_group(botapi, scale_chat_id(2), user_id(2))
        listing = (await new_york.reply("/subscriptions")).plain
    assert "times in America/New_York" in listing, listing
    expected = {3: "06-02 05:00", 153: "06-01 19:00", 303: "06-01 09:00", 453: "06-01 19:00"}
    for number, local in expected.items():
        assert any(
            line.startswith(f"#{number} ") and f"next 2026-{local} America/New_York" in line
            for line in listing.splitlines()
        ), (number, listing)
    for index, chat_id in enumerate(due_chats):
        assert len(bench_summaries(botapi, chat_id, index)) == 1
    # nothing else was posted: no other run, and no alert (the seeded ones never hold)
    assert sum("Updated" in m.plain for m in botapi.all_messages()) == plan.due
    assert not any(botapi.messages(scale_chat_id(i)) for i in range(plan.due, plan.chats))
    assert not any("Alert" in m.plain for m in botapi.all_messages())


@pytest.mark.realtime  # runs outlasting a 1 s interval in real time: starts first under xdist
async def test_a_run_never_overlaps_the_last_run_of_the_same_subscription(
    sandbox: Sandbox,
) -> None:
    botapi, threecommas = sandbox.botapi, sandbox.threecommas
    owner = Chat(botapi)

    def waiting_for_3commas(after: int) -> bool:
        """A run's call is in flight, and it is not one of the first `after`."""
        calls = [r for r in threecommas.requests if "load_balances" in r.path_qs]
        return len(calls) > after and not calls[-1].status

    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        await owner.connect()
        threecommas.latency = 1.5  # each run outlasts the 1 s interval
        assert "Subscribed" in (await owner.reply("/subscribe 12345678 every 1s")).plain
        for zone in ("Europe/Berlin", "Asia/Tokyo", "UTC"):
            made = threecommas.upstream_calls("load_balances")
            await botapi.wait_for(lambda: waiting_for_3commas(made), timeout=10)  # noqa: B023
            # reschedules the chat's subscriptions: due again before the running one is done
            assert "now follow" in (await owner.reply(f"/timezone {zone}")).plain
    posted = [
        m for m in botapi.messages(DEMO_USER_ID) if "$31.21" in m.plain and "Updated" in m.plain
    ]
    # concurrent runs would share one 3Commas call and post twice
    assert len(posted) == threecommas.upstream_calls("load_balances") >= 3
    gaps = [later.sent_at - earlier.sent_at for earlier, later in itertools.pairwise(posted)]
    assert min(gaps) > 1.0, gaps


async def test_runs_waiting_for_a_free_slot_see_removals_pauses_and_new_subscriptions(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.services.scheduler.RUNS_AT_ONCE", 1)
    botapi, threecommas, count = sandbox.botapi, sandbox.threecommas, 6
    add_keys(threecommas, count)
    await seed_users(sandbox.settings, count)
    seed_subscriptions(sandbox.settings.database_path, count, DUE)  # ids 1-6, chats 0-5
    newcomer = in_group(botapi, GROUP, user_id(0))
    clock = before_due()
    async with bot_running(sandbox, clock=clock, subscription_min_interval_seconds=1):
        threecommas.latency = 1.0  # one run a second: five wait behind the first
        clock.advance(2)  # all six fall due
        await botapi.wait_for(lambda: bool(bench_summaries(botapi, group_chat_id(0), 0)), 10)
        removed = await in_group(botapi, group_chat_id(5), user_id(5)).reply("/unsubscribe 6")
        assert "Subscription #6 (Bench 5) removed." in removed.plain
        botapi.remove_member_event(group_chat_id(4), user_id=user_id(4))
        await botapi.wait_for_text(user_id(4), "can no longer post")
        assert "Subscribed" in (await newcomer.reply(f"/subscribe {account_id(0)} every 1s")).plain
        clock.advance(1)  # the newcomer falls due while the others still wait
        await botapi.wait_for(lambda: bool(bench_summaries(botapi, GROUP, 0)), timeout=15)
    for index in (1, 2, 3):
        assert len(bench_summaries(botapi, group_chat_id(index), index)) == 1
    for index in (4, 5):
        assert bench_summaries(botapi, group_chat_id(index), index) == []
        # not even refreshed: the run never started
        assert threecommas.upstream_calls(f"/accounts/{account_id(index)}/load_balances") == 0


async def test_a_daily_subscription_in_a_chat_with_an_unknown_stored_zone_is_told_once(
    sandbox: Sandbox,
) -> None:
    botapi = sandbox.botapi
    path = sandbox.settings.database_path
    async with bot_running(sandbox):
        await Chat(botapi).connect()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "INSERT INTO subscriptions (chat_id, user_id, account_id, schedule_kind, "
            "daily_time, created_at) VALUES (?, ?, 12345678, 'daily', '09:00', ?)",
            [GROUP, DEMO_USER_ID, DUE.isoformat()],
        )
        db.execute(
            "INSERT INTO chat_settings (chat_id, timezone) VALUES (?, 'Mars/Olympus')", [GROUP]
        )

    def told() -> list[SentMessage]:
        return [m for m in botapi.messages(DEMO_USER_ID) if "cannot be scheduled" in m.plain]

    for _ in range(2):  # the second start must not tell the owner again
        async with bot_running(sandbox) as application:
            await botapi.wait_for(lambda: len(told()) >= 1)
            assert application.bot_data.services.subscriptions.next_runs == {}
            await Chat(botapi).reply("/help")
    assert len(told()) == 1
    assert f"(My Binance US daily at 09:00) in chat {GROUP} cannot be scheduled" in told()[0].plain


def test_the_notifier_does_not_import_the_handlers_context() -> None:
    """Its dependencies come through its constructor, not out of the handlers' bot_data."""
    code = "import sys, bot.telegram.notifications; print('bot.telegram.context' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "False"
