"""Scheduled summaries in groups, end to end: schedule, restart, who may unsubscribe, upstream
errors told once, Forbidden, migration, /disconnect, daily times in a zone, a burst of due posts."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.services.clock import ShiftedClock
from standins.botapi_standin import BotApiStandIn, SentMessage
from standins.demo import DEMO_USER_ID, Sandbox, running_standins
from standins.threecommas_standin import Fault
from tests.support.bot import Chat, bot_running

GROUP = -100700
OTHER_USER = 2002
ADMIN_USER = 3003
BERLIN = ZoneInfo("Europe/Berlin")


def db_rows(sandbox: Sandbox, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the bot's database read-only, as an operator would."""
    path = sandbox.settings.database_path
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return list(db.execute(query, params).fetchall())


def snapshot_rows(sandbox: Sandbox) -> int:
    return int(db_rows(sandbox, "SELECT COUNT(*) FROM snapshots")[0][0])


def summaries(botapi: BotApiStandIn, chat_id: int, figure: str = "$31.21") -> list[SentMessage]:
    """Posted summaries of an account (its figure) that carry the Refresh button."""
    return [
        m
        for m in botapi.messages(chat_id)
        if figure in m.plain and any("Refresh" in label for label, _ in m.buttons)
    ]


async def wait_for_summaries(
    botapi: BotApiStandIn, chat_id: int, count: int, timeout: float = 6.0, figure: str = "$31.21"
) -> list[SentMessage]:
    await botapi.wait_for(lambda: len(summaries(botapi, chat_id, figure)) >= count, timeout)
    return summaries(botapi, chat_id, figure)


def in_group(sandbox: Sandbox, user_id: int = DEMO_USER_ID, chat_id: int = GROUP) -> Chat:
    first_name = {DEMO_USER_ID: "Alice", OTHER_USER: "Bob", ADMIN_USER: "Carol"}.get(user_id, "U")
    return Chat(
        sandbox.botapi,
        user_id=user_id,
        chat_id=chat_id,
        chat_type="group",
        first_name=first_name,
    )


@pytest.fixture
async def fast(sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    """The bot with a 1 s minimum interval, the demo user connected privately."""
    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        await Chat(sandbox.botapi, first_name="Alice").connect()
        yield sandbox


async def subscribe(group: Chat, text: str = "12345678 every 1s") -> SentMessage:
    answer = await group.reply(f"/subscribe {text}")
    assert "Subscribed" in answer.plain, answer.plain
    return answer


# --------------------------------------------------------------------------- posting on schedule


async def test_a_group_subscription_posts_the_refresh_summary_on_schedule(fast: Sandbox) -> None:
    group = in_group(fast)
    before = snapshot_rows(fast)
    answer = await subscribe(group)
    assert "My Binance US" in answer.plain and "every 1 s" in answer.plain
    assert "Next summary" in answer.plain
    started = time.monotonic()
    posted = await wait_for_summaries(fast.botapi, GROUP, 3, timeout=6)
    # every 1 s: three summaries take about two seconds, not much less
    assert time.monotonic() - started >= 1.5
    # the same rendering as /refresh (apart from the time it was updated)
    manual = await Chat(fast.botapi).reply("/refresh 12345678")

    def without_time(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("Updated")]

    assert without_time(posted[0].plain) == without_time(manual.plain)
    assert [label for label, _ in posted[0].buttons] == ["🔄 Refresh"]
    # each run stored a snapshot (the manual /refresh one more)
    assert snapshot_rows(fast) >= before + 4
    # the Refresh button of a posted summary works for its owner
    target = posted[-1]
    await group.press(target, "Refresh")
    await fast.botapi.wait_for(lambda: any("Refreshing" in text for text in target.edits))
    await fast.botapi.wait_for(lambda: "$31.21" in target.plain)


async def test_a_subscription_to_all_accounts_posts_every_account_and_the_total(
    fast: Sandbox,
) -> None:
    group = in_group(fast)
    await subscribe(group, "all every 1s")
    posted = await wait_for_summaries(fast.botapi, GROUP, 2, figure="Total")
    text = posted[0].plain
    for figure in ("My Binance US", "Binance Futures", "Kraken Main", "$25,312.45", "Total"):
        assert figure in text, (figure, text)
    assert [label for label, _ in posted[0].buttons] == ["🔄 Refresh all"]


async def test_the_default_minimum_interval_is_enforced_with_a_sentence(running: Sandbox) -> None:
    await Chat(running.botapi).connect()
    group = in_group(running)
    refused = await group.reply("/subscribe 12345678 every 1s")
    assert "The shortest interval is 15 min." in refused.plain
    refused = await group.reply("/subscribe all every 14m")
    assert "The shortest interval is 15 min." in refused.plain
    accepted = await group.reply("/subscribe all every 15m")
    assert "Subscribed" in accepted.plain and "every 15 min" in accepted.plain
    assert db_rows(running, "SELECT COUNT(*) FROM subscriptions") == [(1,)]


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("/subscribe", "Write it as /subscribe <account|all> every <N><s|m|h|d>"),
        ("/subscribe all hourly", "Write it as /subscribe <account|all> every <N><s|m|h|d>"),
        ("/subscribe all every 5x", "Write it as /subscribe <account|all> every <N><s|m|h|d>"),
        ("/subscribe all daily 25:00", "A daily time is HH:MM between 00:00 and 23:59."),
        ("/subscribe binance every 1s", "Several accounts match “binance”"),
        ("/subscribe nosuch every 1s", "No account matches “nosuch”"),
    ],
)
async def test_bad_subscriptions_get_a_sentence_and_store_nothing(
    fast: Sandbox, text: str, sentence: str
) -> None:
    answer = await in_group(fast).reply(text)
    assert sentence in answer.plain, answer.plain
    if "Several" in sentence:
        assert "My Binance US" in answer.plain and "Binance Futures" in answer.plain
    assert db_rows(fast, "SELECT COUNT(*) FROM subscriptions") == [(0,)]


async def test_subscribing_without_a_key_says_to_connect(fast: Sandbox) -> None:
    answer = await in_group(fast, OTHER_USER).reply("/subscribe all every 1s")
    assert "You have not connected a 3Commas API key yet" in answer.plain
    assert db_rows(fast, "SELECT COUNT(*) FROM subscriptions") == [(0,)]


# --------------------------------------------------------------------------- restart


async def test_schedules_resume_after_a_restart_without_any_command(sandbox: Sandbox) -> None:
    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        await Chat(sandbox.botapi).connect()
        await subscribe(in_group(sandbox))
        await wait_for_summaries(sandbox.botapi, GROUP, 1)
    stopped = len(summaries(sandbox.botapi, GROUP))
    await asyncio.sleep(1.5)
    assert len(summaries(sandbox.botapi, GROUP)) == stopped  # really stopped
    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        posted = await wait_for_summaries(sandbox.botapi, GROUP, stopped + 2)
    assert all("My Binance US" in m.plain for m in posted)


# --------------------------------------------------------------------------- listing, unsubscribe


async def test_listing_shows_number_owner_and_next_run(fast: Sandbox) -> None:
    group = in_group(fast)
    empty = await group.reply("/subscriptions")
    assert "No subscriptions or alerts in this chat yet" in empty.plain
    await subscribe(group, "Kraken every 1h")
    await group.reply("/alert 23456789 balance < 25000")
    listing = await group.reply("/subscriptions")
    lines = listing.plain.splitlines()
    assert "times in UTC" in lines[0]
    assert lines[1].startswith("1.") and "Kraken Main" in lines[1] and "every 1 h" in lines[1]
    assert "by Alice" in lines[1]
    (created,) = db_rows(fast, "SELECT created_at FROM subscriptions")[0]
    next_run = datetime.fromisoformat(created) + timedelta(hours=1)
    assert f"next {next_run:%Y-%m-%d %H:%M} UTC" in lines[1], lines[1]
    assert lines[2].startswith("2.") and "Binance Futures" in lines[2] and "by Alice" in lines[2]
    assert "balance < 25,000" in lines[2]


async def test_who_may_unsubscribe(fast: Sandbox) -> None:
    alice, bob, carol = (in_group(fast, u) for u in (DEMO_USER_ID, OTHER_USER, ADMIN_USER))
    await bob.say("hello")  # the stand-in knows Bob's name
    await subscribe(alice, "12345678 every 1h")
    await subscribe(alice, "Kraken every 1h")
    await subscribe(alice, "12345678 every 1s")

    refused = await bob.reply("/unsubscribe 1")
    assert "Only the one who created it, or a group administrator, may remove it." in refused.plain
    assert db_rows(fast, "SELECT COUNT(*) FROM subscriptions") == [(3,)]
    missing = await alice.reply("/unsubscribe 9")
    assert "There is no entry with that number here" in missing.plain
    syntax = await alice.reply("/unsubscribe please")
    assert "/unsubscribe <number>" in syntax.plain

    fast.botapi.set_admins(GROUP, {ADMIN_USER})
    removed = await carol.reply("/unsubscribe 1")
    assert "Subscription 1 (My Binance US) removed." in removed.plain
    assert db_rows(fast, "SELECT COUNT(*) FROM subscriptions") == [(2,)]

    # the every-1s one is now number 2; its creator removes it and its posts stop
    await wait_for_summaries(fast.botapi, GROUP, 1)
    removed = await alice.reply("/unsubscribe 2")
    assert "removed" in removed.plain and "My Binance US" in removed.plain
    await asyncio.sleep(0.3)
    posted = len(summaries(fast.botapi, GROUP))
    await asyncio.sleep(2)
    assert len(summaries(fast.botapi, GROUP)) == posted
    listing = await alice.reply("/subscriptions")
    assert "Kraken Main" in listing.plain and "My Binance US" not in listing.plain


# --------------------------------------------------------------------------- upstream errors


@pytest.mark.parametrize(
    ("fault", "selector"),
    [
        (Fault.SERVER_ERROR, "12345678"),
        (Fault.EXCHANGE_KEYS_INVALID, "12345678"),
        (Fault.SERVER_ERROR, "all"),
    ],
)
async def test_an_upstream_error_is_posted_once_and_told_to_the_owner_once(
    fast: Sandbox, fault: Fault, selector: str
) -> None:
    group = in_group(fast)
    owner = Chat(fast.botapi)
    figure = "$31.21" if selector != "all" else "Total"
    await subscribe(group, f"{selector} every 1s")
    await wait_for_summaries(fast.botapi, GROUP, 1, figure=figure)
    private_before = len(fast.botapi.messages(DEMO_USER_ID))
    fast.threecommas.inject(fault, times=10_000)
    await fast.botapi.wait_for_text(GROUP, "failed")
    failing_since = len(fast.threecommas.requests)
    await asyncio.sleep(3.5)  # several more scheduled runs, all failing
    assert len(fast.threecommas.requests) >= failing_since + 3, "the runs go on while failing"
    failures = [m for m in fast.botapi.messages(GROUP) if "failed" in m.plain]
    assert len(failures) == 1, fast.botapi.describe()
    assert "scheduled summary" in failures[0].plain and "will say when it works again" in (
        failures[0].plain
    )
    told = fast.botapi.messages(DEMO_USER_ID)[private_before:]
    assert len(told) == 1 and "failed" in told[0].plain, [m.plain for m in told]
    after_failure = fast.botapi.messages(GROUP)
    after_failure = after_failure[after_failure.index(failures[0]) + 1 :]
    assert not any(figure in m.plain for m in after_failure), "no summary while failing"

    fast.threecommas.clear_faults()
    recovered = await fast.botapi.wait_for_text(GROUP, "Working again", timeout=5)
    assert figure in recovered.plain and recovered.buttons
    count = len(summaries(fast.botapi, GROUP, figure))
    await wait_for_summaries(fast.botapi, GROUP, count + 2, figure=figure)
    assert sum("Working again" in m.plain for m in fast.botapi.messages(GROUP)) == 1
    assert len(fast.botapi.messages(DEMO_USER_ID)) == private_before + 1
    assert owner.chat_id == DEMO_USER_ID


# --------------------------------------------------------------------------- Forbidden


async def test_a_kicked_bot_pauses_the_chat_and_tells_the_owner_then_resumes(
    fast: Sandbox,
) -> None:
    botapi = fast.botapi
    group = in_group(fast)
    await subscribe(group)
    await wait_for_summaries(botapi, GROUP, 1)
    botapi.block_chat(GROUP)
    told = await botapi.wait_for_text(DEMO_USER_ID, "can no longer post", timeout=4)
    assert str(GROUP) in told.plain and "paused" in told.plain and "Add me back" in told.plain
    assert db_rows(fast, "SELECT paused FROM subscriptions") == [(1,)]
    sends = botapi.calls["sendMessage"]
    await asyncio.sleep(2.5)
    assert botapi.calls["sendMessage"] == sends, "no more sends to a chat that shut the bot out"
    assert sum("can no longer post" in m.plain for m in botapi.messages(DEMO_USER_ID)) == 1

    posted = len(summaries(botapi, GROUP))
    botapi.add_member_event(GROUP, user_id=DEMO_USER_ID, first_name="Alice")
    await wait_for_summaries(botapi, GROUP, posted + 2)
    assert db_rows(fast, "SELECT paused FROM subscriptions") == [(0,)]


async def test_a_removal_update_pauses_before_any_failed_send(fast: Sandbox) -> None:
    group = in_group(fast)
    await subscribe(group, "12345678 every 1h")
    fast.botapi.remove_member_event(GROUP, user_id=DEMO_USER_ID, first_name="Alice")
    await fast.botapi.wait_for_text(DEMO_USER_ID, "can no longer post", timeout=4)
    assert db_rows(fast, "SELECT paused FROM subscriptions") == [(1,)]


# --------------------------------------------------------------------------- migration


async def test_a_group_that_becomes_a_supergroup_keeps_its_subscription(fast: Sandbox) -> None:
    botapi = fast.botapi
    supergroup = -1001000700
    group = in_group(fast)
    await subscribe(group)
    await group.reply("/timezone Europe/Berlin")
    await wait_for_summaries(botapi, GROUP, 1)
    botapi.migrate_group(GROUP, supergroup)
    await wait_for_summaries(botapi, supergroup, 2)
    left_behind = len(summaries(botapi, GROUP))
    await asyncio.sleep(1.5)
    assert len(summaries(botapi, GROUP)) == left_behind, "nothing goes to the old id any more"
    assert db_rows(fast, "SELECT chat_id FROM subscriptions") == [(supergroup,)]
    moved = Chat(botapi, chat_id=supergroup, chat_type="supergroup", first_name="Alice")
    listing = await moved.reply("/subscriptions")
    assert "1." in listing.plain and "My Binance US" in listing.plain
    assert "every 1 s" in listing.plain and "Europe/Berlin" in listing.plain


# --------------------------------------------------------------------------- /disconnect


async def test_disconnect_ends_the_owners_subscriptions(fast: Sandbox) -> None:
    group = in_group(fast)
    await subscribe(group)
    await wait_for_summaries(fast.botapi, GROUP, 1)
    done = await Chat(fast.botapi).reply("/disconnect")
    assert "Done" in done.plain
    await asyncio.sleep(0.3)
    posted = len(summaries(fast.botapi, GROUP))
    await asyncio.sleep(2)
    assert len(summaries(fast.botapi, GROUP)) == posted
    assert db_rows(fast, "SELECT COUNT(*) FROM subscriptions") == [(0,)]
    listing = await group.reply("/subscriptions")
    assert "No subscriptions or alerts in this chat yet" in listing.plain


# --------------------------------------------------------------------------- daily, time zones


async def test_a_daily_summary_at_nine_in_berlin(sandbox: Sandbox) -> None:
    nine = datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)
    clock = ShiftedClock(nine.astimezone(UTC) - timedelta(seconds=3))
    async with bot_running(sandbox, clock=clock):
        await Chat(sandbox.botapi).connect()
        group = in_group(sandbox)
        zone = await group.reply("/timezone europe/berlin")
        assert "Europe/Berlin" in zone.plain
        answer = await group.reply("/subscribe all daily 09:00")
        assert "daily at 09:00" in answer.plain
        assert "Next summary: 2026-12-01 09:00 Europe/Berlin" in answer.plain
        assert clock.now() < nine - timedelta(seconds=1), "setting up took too long"
        assert summaries(sandbox.botapi, GROUP, "Total") == []
        posted = await wait_for_summaries(sandbox.botapi, GROUP, 1, timeout=5, figure="Total")
        arrived = clock.now()
        assert nine <= arrived < nine + timedelta(seconds=1.5), arrived
        assert "Kraken Main" in posted[0].plain
        listing = await group.reply("/subscriptions")
        assert "next 2026-12-02 09:00 Europe/Berlin" in listing.plain, listing.plain
        await asyncio.sleep(1)
        assert len(summaries(sandbox.botapi, GROUP, "Total")) == 1


async def test_changing_the_time_zone_moves_a_daily_schedule(sandbox: Sandbox) -> None:
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 Berlin, 03:00 New York
    async with bot_running(sandbox, clock=ShiftedClock(start)):
        await Chat(sandbox.botapi).connect()
        group = in_group(sandbox)
        answer = await group.reply("/subscribe all daily 09:00")
        assert "Next summary: 2026-12-01 09:00 UTC" in answer.plain
        await group.reply("/timezone America/New_York")
        listing = await group.reply("/subscriptions")
        assert "next 2026-12-01 09:00 America/New_York" in listing.plain, listing.plain
        bad = await group.reply("/timezone Mars/Base")
        assert "is not a time zone" in bad.plain


async def test_interval_schedules_follow_a_shifted_clock(sandbox: Sandbox) -> None:
    """The clock is the bot's notion of now: an interval schedule runs on it too, even when
    it shows a moment before the real one."""
    clock = ShiftedClock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    async with bot_running(sandbox, clock=clock, subscription_min_interval_seconds=1):
        await Chat(sandbox.botapi).connect()
        answer = await subscribe(in_group(sandbox))
        assert "Next summary: 2026-06-01 12:00 UTC" in answer.plain, answer.plain
        await wait_for_summaries(sandbox.botapi, GROUP, 2, timeout=5)


# --------------------------------------------------------------------------- a burst


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """Stand-ins whose Bot API answers 429 past 30 messages/s or 20/min per group."""
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(
        tmp_path, base, messages_per_second=30, group_messages_per_minute=20
    ) as running:
        yield running


async def test_sixty_groups_due_at_once_all_get_their_summary_without_429s(
    limited: Sandbox,
) -> None:
    botapi = limited.botapi
    groups = [-200_000 - n for n in range(60)]
    owners = [DEMO_USER_ID, 5001, 5002]
    async with bot_running(limited, subscription_min_interval_seconds=1):
        for owner in owners:
            await Chat(botapi, user_id=owner).connect()
        for n, chat_id in enumerate(groups):
            botapi.send_text(
                "/subscribe 12345678 every 1s",
                user_id=owners[n % len(owners)],
                chat_id=chat_id,
                chat_type="group",
            )
        await botapi.wait_for(lambda: all(summaries(botapi, g) for g in groups), timeout=15)
        await asyncio.sleep(2)
    for chat_id in groups:
        texts = [m.plain for m in botapi.messages(chat_id)]
        assert any("Subscribed" in t for t in texts), (chat_id, texts)
        assert summaries(botapi, chat_id), (chat_id, texts)
    assert botapi.flood_429s == 0
    # nothing lost: every sendMessage the bot made was accepted, and every scheduled run that
    # refreshed (and stored a snapshot) got its summary posted, shutdown included
    assert botapi.calls["sendMessage"] == len(botapi.all_messages())
    posted = sum(len(summaries(botapi, chat_id)) for chat_id in groups)
    assert snapshot_rows(limited) == posted


async def test_a_private_subscription_tells_its_error_once_in_that_chat(fast: Sandbox) -> None:
    owner = Chat(fast.botapi)
    await subscribe(owner)
    await wait_for_summaries(fast.botapi, DEMO_USER_ID, 1)
    fast.threecommas.inject(Fault.SERVER_ERROR, times=10_000)
    await fast.botapi.wait_for_text(DEMO_USER_ID, "failed")
    await asyncio.sleep(2.5)
    failures = [m for m in fast.botapi.messages(DEMO_USER_ID) if "failed" in m.plain]
    assert len(failures) == 1, fast.botapi.describe()
