"""Scheduled summaries in groups, end to end: schedule, restart, who may unsubscribe, upstream
errors told once, Forbidden, migration, /disconnect, daily times in a zone, a burst of due posts,
stored rows that cannot run, limits and duplicates, numbers that stay, forum topics."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
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
from bot.storage.snapshots import KEPT_PER_ACCOUNT
from standins.botapi import BotApiStandIn, SentMessage
from standins.demo import DEMO_USER_ID, Sandbox, running_standins
from standins.threecommas_standin import Fault, demo_account
from tests.support.bot import Chat, ask, bot_running
from tests.support.clock import ManualClock, OnManualClock, bot_on_manual_clock

GROUP = -100700
OTHER_GROUP = -100701
FORUM = -1001000900
OTHER_USER = 2002
ADMIN_USER = 3003
BERLIN = ZoneInfo("Europe/Berlin")
HELP_TITLE = "3Commas balances in Telegram"


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


async def ask_help(chat: Chat, *, topic: int | None = None) -> SentMessage:
    """/help, which answers without replying: the first help text after it."""
    after = max((m.message_id for m in chat.botapi.messages(chat.chat_id)), default=0)
    chat.send("/help", topic=topic)
    found: list[SentMessage] = []

    def answered() -> bool:
        found[:] = [
            m
            for m in chat.botapi.messages(chat.chat_id)
            if m.message_id > after and HELP_TITLE in m.plain
        ]
        return bool(found)

    await chat.botapi.wait_for(answered, timeout=10)
    return found[0]


def in_forum(sandbox: Sandbox, user_id: int = DEMO_USER_ID) -> Chat:
    return Chat(
        sandbox.botapi, user_id=user_id, chat_id=FORUM, chat_type="supergroup", first_name="Alice"
    )


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
        # A scheduled post leaves out the bots' line: one 3Commas call per account per post.
        return [
            line for line in text.splitlines() if not line.startswith(("Updated", "Bots today"))
        ]

    assert without_time(posted[0].plain) == without_time(manual.plain)
    assert "Bots today" in manual.plain and "Bots today" not in posted[0].plain
    assert [label for label, _ in posted[0].buttons] == ["🔄 Refresh", "🪙 Holdings", "📈 Chart"]
    # each run stored a snapshot (the manual /refresh one more)
    assert snapshot_rows(fast) >= before + 4
    # the Refresh button of a posted summary works for its owner
    target = posted[-1]
    await group.press(target, "Refresh")
    assert "Refreshing My Binance US…" in fast.botapi.answered_callbacks.values()
    assert "$31.21" in target.plain


async def test_a_subscription_to_all_accounts_posts_every_account_and_the_total(
    on_clock: OnManualClock,
) -> None:
    fast = on_clock.sandbox
    group = in_group(fast)
    await subscribe(group, "all every 1s")
    await on_clock.advance_until(lambda: len(summaries(fast.botapi, GROUP, "Total")) >= 2)
    posted = summaries(fast.botapi, GROUP, "Total")
    text = posted[0].plain
    for figure in ("My Binance US", "Binance Futures", "Kraken Main", "$25,312.45", "Total"):
        assert figure in text, (figure, text)
    assert [label for label, _ in posted[0].buttons] == [
        "🔄 Refresh all",
        "🪙 Holdings",
        "📈 Chart",
    ]


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
        ("/subscribe all every 1h pie", "posts one of: summary, holdings, chart, profit"),
        ("/subscribe all daily 09:00 charts", "posts one of: summary, holdings, chart, profit"),
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


# --------------------------------------------------------------------------- what is posted


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def test_a_chart_subscription_posts_the_balance_chart(fast: Sandbox) -> None:
    answer = await subscribe(in_group(fast), "12345678 every 1s chart")
    assert "every 1 s · chart" in answer.plain and "Next balance chart" in answer.plain
    sent = await fast.botapi.wait_for_file(GROUP)
    assert sent.method == "sendPhoto" and sent.data.startswith(PNG_SIGNATURE)
    caption = sent.message.plain
    assert "My Binance US" in caption and "Last 30 days" in caption, caption
    assert sent.message.buttons == []  # the summary's buttons stay under summaries
    assert summaries(fast.botapi, GROUP) == []


async def test_a_holdings_subscription_posts_the_holdings_table(fast: Sandbox) -> None:
    await subscribe(in_group(fast), "12345678 every 1s holdings")
    posted = await fast.botapi.wait_for_text(GROUP, "Holdings ·")
    assert "My Binance US" in posted.plain and "more under 1%" in posted.plain, posted.plain
    assert posted.buttons == []
    assert summaries(fast.botapi, GROUP) == []


async def test_a_profit_subscription_posts_the_profit_table(fast: Sandbox) -> None:
    await subscribe(in_group(fast), "all daily 09:00 profit")
    await subscribe(in_group(fast), "all every 1s profit")
    posted = await fast.botapi.wait_for_text(GROUP, "Profit by day")
    assert "all accounts" in posted.plain and "Total" in posted.plain, posted.plain
    assert posted.buttons == []


async def test_the_kind_is_listed_and_only_the_same_kind_is_a_duplicate(fast: Sandbox) -> None:
    group = in_group(fast)
    await subscribe(group, "Kraken every 1h")
    await subscribe(group, "Kraken every 1h chart")
    await subscribe(group, "Kraken every 1h holdings")
    refused = await group.reply("/subscribe Kraken every 60m CHART")
    assert "You already have that subscription here: #2" in refused.plain, refused.plain
    refused = await group.reply("/subscribe Kraken every 1h summary")
    assert "You already have that subscription here: #1" in refused.plain, refused.plain
    assert db_rows(fast, "SELECT id, content FROM subscriptions ORDER BY id") == [
        (1, "summary"),
        (2, "chart"),
        (3, "holdings"),
    ]
    lines = (await group.reply("/subscriptions")).plain.splitlines()
    assert "every 1 h · by Alice" in lines[1], lines[1]
    assert "every 1 h · chart · by Alice" in lines[2], lines[2]
    assert "every 1 h · holdings · by Alice" in lines[3], lines[3]


async def test_a_failing_chart_subscription_is_told_once_then_works_again(
    on_clock: OnManualClock,
) -> None:
    fast = on_clock.sandbox
    await subscribe(in_group(fast), "12345678 every 1s chart")
    await on_clock.advance_one_period()
    first = await fast.botapi.wait_for_file(GROUP)
    private_before = len(fast.botapi.messages(DEMO_USER_ID))
    fast.threecommas.inject(Fault.SERVER_ERROR, times=10_000)
    await on_clock.advance_one_period()
    failed = await fast.botapi.wait_for_text(GROUP, "failed")
    assert "The scheduled balance chart of My Binance US failed" in failed.plain, failed.plain
    failing_since = len(fast.threecommas.requests)
    await on_clock.advance_until(lambda: len(fast.threecommas.requests) >= failing_since + 3)
    assert sum("failed" in m.plain for m in fast.botapi.messages(GROUP)) == 1
    told = fast.botapi.messages(DEMO_USER_ID)[private_before:]
    assert len(told) == 1 and "balance chart" in told[0].plain, [m.plain for m in told]

    fast.threecommas.clear_faults()
    await on_clock.advance_one_period()
    recovered = await fast.botapi.wait_for_file(GROUP, after=failed.message_id, timeout=10)
    assert recovered.message.plain.startswith("✅ Working again."), recovered.message.plain
    assert "Last 30 days" in recovered.message.plain
    assert first.message.message_id < failed.message_id


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
    assert lines[1].startswith("#1 ") and "Kraken Main" in lines[1] and "every 1 h" in lines[1]
    assert "by Alice" in lines[1]
    (created,) = db_rows(fast, "SELECT created_at FROM subscriptions")[0]
    next_run = datetime.fromisoformat(created) + timedelta(hours=1)
    assert f"next {next_run:%Y-%m-%d %H:%M} UTC" in lines[1], lines[1]
    assert lines[2].startswith("#2 ") and "Binance Futures" in lines[2] and "by Alice" in lines[2]
    assert "balance < $25,000.00" in lines[2]


async def test_who_may_unsubscribe(on_clock: OnManualClock) -> None:
    fast = on_clock.sandbox
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
    assert "Subscription #1 (My Binance US) removed." in removed.plain
    assert db_rows(fast, "SELECT COUNT(*) FROM subscriptions") == [(2,)]

    # its creator removes the every-1s one (#3) and its posts stop
    await on_clock.advance_until(lambda: len(summaries(fast.botapi, GROUP)) >= 1)
    removed = await alice.reply("/unsubscribe 3")
    assert "removed" in removed.plain and "My Binance US" in removed.plain
    await on_clock.advance_one_period(0)  # a run that had started is done
    posted = len(summaries(fast.botapi, GROUP))
    for _ in range(2):
        await on_clock.advance_one_period()
    assert len(summaries(fast.botapi, GROUP)) == posted
    listing = await alice.reply("/subscriptions")
    assert "Kraken Main" in listing.plain and "My Binance US" not in listing.plain


# --------------------------------------------------------------------------- upstream errors


@pytest.fixture
async def on_clock(sandbox: Sandbox) -> AsyncIterator[OnManualClock]:
    """Like `fast`, on a manual clock: a subscription runs when the test advances it."""
    async with bot_on_manual_clock(sandbox) as running:
        yield running


@pytest.mark.parametrize(
    ("fault", "selector"),
    [
        (Fault.SERVER_ERROR, "12345678"),
        (Fault.EXCHANGE_KEYS_INVALID, "12345678"),
        (Fault.SERVER_ERROR, "all"),
    ],
)
async def test_an_upstream_error_is_posted_once_and_told_to_the_owner_once(
    on_clock: OnManualClock, fault: Fault, selector: str
) -> None:
    fast = on_clock.sandbox
    group = in_group(fast)
    owner = Chat(fast.botapi)
    figure = "$31.21" if selector != "all" else "Total"
    await subscribe(group, f"{selector} every 1s")
    await on_clock.advance_one_period()
    await wait_for_summaries(fast.botapi, GROUP, 1, figure=figure)
    private_before = len(fast.botapi.messages(DEMO_USER_ID))
    fast.threecommas.inject(fault, times=10_000)
    await on_clock.advance_one_period()
    await fast.botapi.wait_for_text(GROUP, "failed")
    failing_since = len(fast.threecommas.requests)
    for _ in range(3):  # several more scheduled runs, all failing
        await on_clock.advance_one_period()
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
    await on_clock.advance_one_period()
    recovered = await fast.botapi.wait_for_text(GROUP, "Working again", timeout=5)
    assert figure in recovered.plain and recovered.buttons
    count = len(summaries(fast.botapi, GROUP, figure))
    for _ in range(2):
        await on_clock.advance_one_period()
    await wait_for_summaries(fast.botapi, GROUP, count + 2, figure=figure)
    assert sum("Working again" in m.plain for m in fast.botapi.messages(GROUP)) == 1
    assert len(fast.botapi.messages(DEMO_USER_ID)) == private_before + 1
    assert owner.chat_id == DEMO_USER_ID


# --------------------------------------------------------------------------- Forbidden


async def test_a_kicked_bot_pauses_the_chat_and_tells_the_owner_then_resumes(
    on_clock: OnManualClock,
) -> None:
    fast = on_clock.sandbox
    botapi = fast.botapi
    group = in_group(fast)
    await subscribe(group)
    await on_clock.advance_until(lambda: len(summaries(botapi, GROUP)) >= 1)
    botapi.block_chat(GROUP)
    await on_clock.advance_one_period()
    told = await botapi.wait_for_text(DEMO_USER_ID, "can no longer post", timeout=4)
    assert str(GROUP) in told.plain and "paused" in told.plain and "Add me back" in told.plain
    assert db_rows(fast, "SELECT paused FROM subscriptions") == [(1,)]
    sends = botapi.calls["sendMessage"]
    for _ in range(2):
        await on_clock.advance_one_period()
    assert botapi.calls["sendMessage"] == sends, "no more sends to a chat that shut the bot out"
    assert sum("can no longer post" in m.plain for m in botapi.messages(DEMO_USER_ID)) == 1

    posted = len(summaries(botapi, GROUP))
    botapi.add_member_event(GROUP, user_id=DEMO_USER_ID, first_name="Alice")
    next_runs = on_clock.application.bot_data.services.subscriptions.next_runs
    await botapi.wait_for(lambda: bool(next_runs))  # scheduled again
    await on_clock.advance_until(lambda: len(summaries(botapi, GROUP)) >= posted + 2)
    assert db_rows(fast, "SELECT paused FROM subscriptions") == [(0,)]


async def test_a_removal_update_pauses_before_any_failed_send(fast: Sandbox) -> None:
    group = in_group(fast)
    await subscribe(group, "12345678 every 1h")
    fast.botapi.remove_member_event(GROUP, user_id=DEMO_USER_ID, first_name="Alice")
    await fast.botapi.wait_for_text(DEMO_USER_ID, "can no longer post", timeout=4)
    assert db_rows(fast, "SELECT paused FROM subscriptions") == [(1,)]


async def test_the_pause_notice_names_the_group_by_its_title(fast: Sandbox) -> None:
    group = in_group(fast)
    await subscribe(group, "12345678 every 1h")
    fast.botapi.remove_member_event(
        GROUP, user_id=DEMO_USER_ID, first_name="Alice", chat_title="Trading Desk"
    )
    told = await fast.botapi.wait_for_text(DEMO_USER_ID, "can no longer post", timeout=4)
    assert "I can no longer post to Trading Desk (I was removed" in told.plain, told.plain
    assert str(GROUP) not in told.plain


async def test_a_time_zone_after_a_daily_time_points_to_the_timezone_command(
    fast: Sandbox,
) -> None:
    group = in_group(fast)
    for zone_name, shown in (
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("Europe/Berlinn", "Area/City"),
    ):
        answer = await group.reply(f"/subscribe all daily 09:00 {zone_name}")
        assert "daily times follow the chat's zone" in answer.plain, answer.plain
        assert f"/timezone {shown}" in answer.plain, answer.plain
    assert db_rows(fast, "SELECT COUNT(*) FROM subscriptions") == [(0,)]


# --------------------------------------------------------------------------- migration


async def test_a_group_that_becomes_a_supergroup_keeps_its_subscription(
    on_clock: OnManualClock,
) -> None:
    fast = on_clock.sandbox
    botapi = fast.botapi
    supergroup = -1001000700
    group = in_group(fast)
    await subscribe(group)
    botapi.set_admins(GROUP, set(), creator=DEMO_USER_ID)
    await group.reply("/timezone Europe/Berlin")
    await on_clock.advance_until(lambda: len(summaries(botapi, GROUP)) >= 1)
    botapi.migrate_group(GROUP, supergroup)
    await on_clock.advance_until(lambda: len(summaries(botapi, supergroup)) >= 2)
    left_behind = len(summaries(botapi, GROUP))
    for _ in range(2):  # two more runs, each done before the next
        await on_clock.advance_one_period()
    assert len(summaries(botapi, GROUP)) == left_behind, "nothing goes to the old id any more"
    assert db_rows(fast, "SELECT chat_id FROM subscriptions") == [(supergroup,)]
    moved = Chat(botapi, chat_id=supergroup, chat_type="supergroup", first_name="Alice")
    listing = await moved.reply("/subscriptions")
    assert "#1 " in listing.plain and "My Binance US" in listing.plain
    assert "every 1 s" in listing.plain and "Europe/Berlin" in listing.plain


# --------------------------------------------------------------------------- /disconnect


async def test_disconnect_ends_the_owners_subscriptions(on_clock: OnManualClock) -> None:
    fast = on_clock.sandbox
    group = in_group(fast)
    await subscribe(group)
    await on_clock.advance_until(lambda: len(summaries(fast.botapi, GROUP)) >= 1)
    done = await Chat(fast.botapi).reply("/disconnect")
    assert "Done" in done.plain
    await on_clock.advance_one_period(0)  # a run that had started is done
    posted = len(summaries(fast.botapi, GROUP))
    for _ in range(2):
        await on_clock.advance_one_period()
    assert len(summaries(fast.botapi, GROUP)) == posted
    assert db_rows(fast, "SELECT COUNT(*) FROM subscriptions") == [(0,)]
    listing = await group.reply("/subscriptions")
    assert "No subscriptions or alerts in this chat yet" in listing.plain


# --------------------------------------------------------------------------- daily, time zones


async def test_a_daily_summary_at_nine_in_berlin(sandbox: Sandbox) -> None:
    nine = datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)
    clock = ManualClock(nine.astimezone(UTC) - timedelta(seconds=3))
    async with bot_running(sandbox, clock=clock) as application:
        on_clock = OnManualClock(sandbox, application, clock)
        await Chat(sandbox.botapi).connect()
        group = in_group(sandbox)
        sandbox.botapi.set_admins(GROUP, set(), creator=DEMO_USER_ID)
        zone = await group.reply("/timezone europe/berlin")
        assert "Europe/Berlin" in zone.plain
        answer = await group.reply("/subscribe all daily 09:00")
        assert "daily at 09:00" in answer.plain
        assert "Next summary: 2026-12-01 09:00 Europe/Berlin" in answer.plain
        assert clock.now() < nine - timedelta(seconds=1), "setting up took too long"
        await on_clock.advance_one_period(2)  # a second before nine: nothing yet
        assert summaries(sandbox.botapi, GROUP, "Total") == []
        await on_clock.advance_one_period(1)
        posted = await wait_for_summaries(sandbox.botapi, GROUP, 1, timeout=5, figure="Total")
        arrived = clock.now()
        assert nine <= arrived < nine + timedelta(seconds=1.5), arrived
        assert "Kraken Main" in posted[0].plain
        listing = await group.reply("/subscriptions")
        assert "next 2026-12-02 09:00 Europe/Berlin" in listing.plain, listing.plain
        await on_clock.advance_one_period(1)
        assert len(summaries(sandbox.botapi, GROUP, "Total")) == 1


async def test_changing_the_time_zone_moves_a_daily_schedule(sandbox: Sandbox) -> None:
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 Berlin, 03:00 New York
    async with bot_running(sandbox, clock=ShiftedClock(start)):
        await Chat(sandbox.botapi).connect()
        group = in_group(sandbox)
        answer = await group.reply("/subscribe all daily 09:00")
        assert "Next summary: 2026-12-01 09:00 UTC" in answer.plain
        sandbox.botapi.set_admins(GROUP, {DEMO_USER_ID})
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


@pytest.mark.realtime  # Telegram's pacing in real time is the point: starts first under xdist
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
    posted = collections.Counter[int]()
    for n, chat_id in enumerate(groups):
        posted[owners[n % len(owners)]] += len(summaries(botapi, chat_id))
    # each owner's account keeps its last KEPT_PER_ACCOUNT snapshots
    assert snapshot_rows(limited) == sum(min(count, KEPT_PER_ACCOUNT) for count in posted.values())


async def test_a_private_subscription_tells_its_error_once_in_that_chat(
    on_clock: OnManualClock,
) -> None:
    fast = on_clock.sandbox
    owner = Chat(fast.botapi)
    await subscribe(owner)
    await on_clock.advance_until(lambda: len(summaries(fast.botapi, DEMO_USER_ID)) >= 1)
    fast.threecommas.inject(Fault.SERVER_ERROR, times=10_000)
    await on_clock.advance_one_period()
    await fast.botapi.wait_for_text(DEMO_USER_ID, "failed")
    for _ in range(2):
        await on_clock.advance_one_period()
    failures = [m for m in fast.botapi.messages(DEMO_USER_ID) if "failed" in m.plain]
    assert len(failures) == 1, fast.botapi.describe()


# --------------------------------------------------------------------------- stored rows that cannot run


def write_subscription_row(sandbox: Sandbox, **columns: Any) -> None:
    """A subscription written straight into the database, as an older version could have."""
    row = {
        "chat_id": GROUP,
        "user_id": DEMO_USER_ID,
        "account_id": 12345678,
        "schedule_kind": "interval",
        "interval_seconds": None,
        "daily_time": None,
        "paused": 0,
        "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        **columns,
    }
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    path = sandbox.settings.database_path
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(f"INSERT INTO subscriptions ({names}) VALUES ({marks})", list(row.values()))  # noqa: S608


@pytest.mark.parametrize(
    ("columns", "shown"),
    [
        ({"interval_seconds": 9999999 * 86400}, "every 9999999 days"),
        ({"schedule_kind": "daily", "daily_time": "25:61"}, "daily at 25:61"),
    ],
)
async def test_a_stored_subscription_that_cannot_be_scheduled_is_skipped_and_its_owner_told_once(
    sandbox: Sandbox, columns: dict[str, Any], shown: str
) -> None:
    botapi = sandbox.botapi
    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        await Chat(botapi).connect()
        await subscribe(in_group(sandbox))  # #1, every second: it must keep running
    write_subscription_row(sandbox, **columns)  # #2

    def told() -> list[SentMessage]:
        return [m for m in botapi.messages(DEMO_USER_ID) if "cannot be scheduled" in m.plain]

    for _ in range(2):  # the second start must not tell the owner again
        posted = len(summaries(botapi, GROUP))
        async with bot_running(sandbox, subscription_min_interval_seconds=1):
            await ask_help(Chat(botapi))
            await botapi.wait_for(lambda: len(told()) >= 1)
            await wait_for_summaries(botapi, GROUP, posted + 1)
        assert len(told()) == 1, botapi.describe()
    notice = told()[0].plain
    assert f"Your subscription #2 (My Binance US {shown}) in chat {GROUP}" in notice, notice
    assert "/unsubscribe 2" in notice

    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        group = in_group(sandbox)
        listing = await ask(group, "/subscriptions")
        assert f"#2 🕘 My Binance US {shown} · by Alice · cannot be scheduled" in listing.plain
        removed = await ask(group, "/unsubscribe 2")
        assert "Subscription #2 (My Binance US) removed." in removed.plain
    assert db_rows(sandbox, "SELECT id FROM subscriptions") == [(1,)]


async def test_an_unreadable_subscription_row_is_skipped_and_logged(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    botapi = sandbox.botapi
    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        await Chat(botapi).connect()
        await subscribe(in_group(sandbox))  # #1
    write_subscription_row(sandbox, interval_seconds=3600, created_at="yesterday")  # #2
    posted = len(summaries(botapi, GROUP))
    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        await ask_help(Chat(botapi))
        await wait_for_summaries(botapi, GROUP, posted + 1)
        listing = await ask(in_group(sandbox), "/subscriptions")
    assert "#1 " in listing.plain and "#2 " not in listing.plain
    assert "skipping unreadable subscription 2" in caplog.text


async def test_an_interval_longer_than_366_days_is_refused_and_the_bot_restarts(
    sandbox: Sandbox,
) -> None:
    async with bot_running(sandbox):
        await Chat(sandbox.botapi).connect()
        refused = await ask(in_group(sandbox), "/subscribe all every 9999999d")
        assert "The longest interval is 366 days." in refused.plain
        accepted = await ask(in_group(sandbox), "/subscribe all every 366d")
        assert "Subscribed" in accepted.plain and "every 366 days" in accepted.plain
    async with bot_running(sandbox):
        listing = await ask(in_group(sandbox), "/subscriptions")
        assert "every 366 days" in listing.plain and "9999999" not in listing.plain


# --------------------------------------------------------------------------- limits, duplicates


async def test_identical_subscriptions_are_refused_as_duplicates(fast: Sandbox) -> None:
    group = in_group(fast)
    assert "Subscribed" in (await ask(group, "/subscribe 12345678 every 1h")).plain
    for same in ("12345678 every 1h", "12345678 every 60m", "my binance us every 3600 s"):
        refused = await ask(group, f"/subscribe {same}")
        expected = (
            "You already have that subscription here: #1. Send /subscriptions to see the list."
        )
        assert expected in refused.plain, refused.plain
    assert "Subscribed" in (await ask(group, "/subscribe 12345678 every 2h")).plain
    assert "Subscribed" in (await ask(group, "/subscribe all daily 9:00")).plain
    refused = await ask(group, "/subscribe all daily 09:00")
    assert "You already have that subscription here: #3." in refused.plain
    # the same in another chat is another subscription
    elsewhere = await ask(in_group(fast, chat_id=OTHER_GROUP), "/subscribe 12345678 every 1h")
    assert "Subscribed" in elsewhere.plain
    assert db_rows(fast, "SELECT COUNT(*) FROM subscriptions") == [(4,)]


async def test_subscriptions_are_limited_per_chat_and_per_user(sandbox: Sandbox) -> None:
    botapi = sandbox.botapi
    sandbox.threecommas.add_key("bob-key", "bob-secret", [demo_account(99990001, "Bob's")])
    limits = {"max_subscriptions_per_chat": 2, "max_subscriptions_per_user": 3}
    async with bot_running(sandbox, **limits):
        await Chat(botapi).connect()
        await Chat(botapi, user_id=OTHER_USER).connect("bob-key", "bob-secret")
        alice, bob = in_group(sandbox), in_group(sandbox, OTHER_USER)
        alice_elsewhere = in_group(sandbox, chat_id=OTHER_GROUP)
        for schedule in ("every 1h", "every 2h"):
            assert "Subscribed" in (await ask(alice, f"/subscribe all {schedule}")).plain
        chat_full = (
            "This chat already has 2 subscriptions, the most allowed. "
            "Remove one with /unsubscribe first."
        )
        assert chat_full in (await ask(alice, "/subscribe all every 3h")).plain
        assert chat_full in (await ask(bob, "/subscribe all every 3h")).plain
        assert "Subscribed" in (await ask(alice_elsewhere, "/subscribe all every 1h")).plain
        refused = await ask(alice_elsewhere, "/subscribe all every 2h")
        assert (
            "You already have 3 subscriptions across your chats, the most allowed. "
            "Remove one with /unsubscribe first."
        ) in refused.plain
        assert "removed" in (await ask(alice, "/unsubscribe 1")).plain
        assert "Subscribed" in (await ask(alice_elsewhere, "/subscribe all every 2h")).plain
    assert db_rows(sandbox, "SELECT chat_id, COUNT(*) FROM subscriptions GROUP BY chat_id") == [
        (OTHER_GROUP, 2),
        (GROUP, 1),
    ]


# --------------------------------------------------------------------------- /timezone in groups


async def test_only_group_administrators_may_change_the_time_zone(fast: Sandbox) -> None:
    alice, bob, carol = (in_group(fast, u) for u in (DEMO_USER_ID, OTHER_USER, ADMIN_USER))
    fast.botapi.set_admins(GROUP, {ADMIN_USER}, creator=DEMO_USER_ID)
    only_admins = "Only a group administrator may change this group's time zone."
    assert only_admins in (await ask(bob, "/timezone Europe/Berlin")).plain
    assert only_admins in (await ask(bob, "/timezone Mars/Base")).plain
    assert "time zone is UTC" in (await ask(bob, "/timezone")).plain  # looking is fine
    assert "now follow Europe/Berlin" in (await ask(carol, "/timezone Europe/Berlin")).plain
    assert "now follow Asia/Tokyo" in (await ask(alice, "/timezone Asia/Tokyo")).plain  # creator
    assert "time zone is Asia/Tokyo" in (await ask(bob, "/timezone")).plain
    # in a private chat the user decides
    private = await ask(Chat(fast.botapi, user_id=OTHER_USER), "/timezone Europe/Paris")
    assert "now follow Europe/Paris" in private.plain
    assert db_rows(fast, "SELECT chat_id, timezone FROM chat_settings ORDER BY chat_id") == [
        (GROUP, "Asia/Tokyo"),
        (OTHER_USER, "Europe/Paris"),
    ]


# --------------------------------------------------------------------------- stable numbers


def numbers_in(listing: str) -> dict[str, int]:
    """Account name -> the number /subscriptions shows for it."""
    return {
        match[2]: int(match[1])
        for match in re.finditer(
            r"^#(\d+) \S+ (My Binance US|Kraken Main|Binance Futures)", listing, re.M
        )
    }


async def test_unsubscribe_numbers_stay_with_their_entry(fast: Sandbox) -> None:
    group = in_group(fast)
    await ask(group, "/subscribe Kraken every 1h")
    await ask(group, "/subscribe 12345678 every 2h")
    await ask(group, "/alert futures balance < 25000")
    old = numbers_in((await ask(group, "/subscriptions")).plain)
    assert len(set(old.values())) == 3, old
    removed = await ask(group, f"/unsubscribe {old['Kraken Main']}")
    assert f"Subscription #{old['Kraken Main']} (Kraken Main) removed." in removed.plain
    # an admin working from the older list: its number still names the same entry
    removed = await ask(group, f"/unsubscribe #{old['My Binance US']}")
    assert f"Subscription #{old['My Binance US']} (My Binance US) removed." in removed.plain
    listing = (await ask(group, "/subscriptions")).plain
    assert numbers_in(listing) == {"Binance Futures": old["Binance Futures"]}
    # a removed number is never given to a new entry, so an old list cannot hit it by mistake
    await ask(group, "/alert Kraken balance < 1")
    assert numbers_in((await ask(group, "/subscriptions")).plain)["Kraken Main"] not in (
        old.values()
    )
    missing = await ask(group, f"/unsubscribe {old['Kraken Main']}")
    assert "There is no entry with that number here" in missing.plain
    # a number names an entry of this chat only
    elsewhere = await ask(Chat(fast.botapi), f"/unsubscribe {old['Binance Futures']}")
    assert "There is no entry with that number here" in elsewhere.plain
    assert db_rows(fast, "SELECT COUNT(*) FROM alerts") == [(2,)]


# --------------------------------------------------------------------------- forum topics


async def test_a_subscription_made_in_a_forum_topic_posts_into_that_topic(
    on_clock: OnManualClock,
) -> None:
    fast = on_clock.sandbox
    botapi = fast.botapi
    answer = await ask(in_forum(fast), "/subscribe 12345678 every 1s", topic=7)
    assert "Subscribed" in answer.plain and answer.message_thread_id == 7
    await on_clock.advance_until(lambda: len(summaries(botapi, FORUM)) >= 2)
    posted = summaries(botapi, FORUM)
    assert {m.message_thread_id for m in posted} == {7}
    fast.threecommas.inject(Fault.SERVER_ERROR, times=10_000)
    await on_clock.advance_one_period()
    failed = await botapi.wait_for_text(FORUM, "failed")
    assert failed.message_thread_id == 7


async def test_replies_to_commands_stay_in_the_topic_they_came_from(fast: Sandbox) -> None:
    forum = in_forum(fast)
    assert (await ask_help(forum, topic=3)).message_thread_id == 3
    error = await ask(forum, "/subscribe nosuch every 1s", topic=4)
    assert "No account matches" in error.plain and error.message_thread_id == 4
    listing = await ask(forum, "/subscriptions", topic=3)
    assert "No subscriptions" in listing.plain and listing.message_thread_id == 3
    general = await ask(forum, "/subscriptions")
    assert general.message_thread_id is None
    assert (await ask_help(forum)).message_thread_id is None


async def test_posts_go_to_general_once_their_topic_is_deleted(on_clock: OnManualClock) -> None:
    fast = on_clock.sandbox
    botapi = fast.botapi
    await ask(in_forum(fast), "/subscribe 12345678 every 1s", topic=7)
    await on_clock.advance_until(lambda: len(summaries(botapi, FORUM)) >= 1)
    assert summaries(botapi, FORUM)[0].message_thread_id == 7
    botapi.delete_topic(FORUM, 7)
    await on_clock.advance_until(
        lambda: any(m.message_thread_id is None for m in summaries(botapi, FORUM))
    )
