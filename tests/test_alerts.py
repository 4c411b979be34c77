"""Alerts end to end: set, fire once when the condition becomes true (manual and scheduled
refreshes), not again while it stays true, again after it was false in between; duplicates and
limits refused; posted into the forum topic they were set in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from standins.botapi import BotApiStandIn, SentMessage
from standins.demo import DEMO_API_KEY, DEMO_USER_ID, Sandbox, demo_accounts
from tests.support.bot import Chat, ask, bot_running
from tests.support.clock import OnManualClock, bot_on_manual_clock

GROUP = -100800
OTHER_GROUP = -100801
FORUM = -1001000800
FUTURES = 23456789


def set_futures(sandbox: Sandbox, balance: str | None = None, day: str | None = None) -> None:
    """Change Binance Futures' figures at the 3Commas stand-in (display currency USD)."""
    accounts: list[dict[str, Any]] = demo_accounts()
    for account in accounts:
        if account["id"] == FUTURES:
            if balance is not None:
                account["primary_display_currency_amount"] = {"currency": "USD", "amount": balance}
                account["usd_amount"] = balance
            if day is not None:
                # 3Commas' day profit whose share of the day's starting balance is `day` %
                now = Decimal(account["usd_amount"])
                amount = str(now * Decimal(day) / (100 + Decimal(day)))
                account["day_profit_usd"] = amount
                account["day_profit_primary_display_currency"] = {
                    "currency": "USD",
                    "amount": amount,
                }
                account["day_profit_primary_display_currency_percentage"] = {
                    "currency": "USD",
                    "amount": day,
                }
    sandbox.threecommas.set_accounts(DEMO_API_KEY, accounts)


def alerts_posted(botapi: BotApiStandIn, chat_id: int = GROUP) -> list[SentMessage]:
    return [m for m in botapi.messages(chat_id) if m.plain.startswith("🔔 Alert:")]


def group(sandbox: Sandbox) -> Chat:
    return Chat(sandbox.botapi, chat_id=GROUP, chat_type="group", first_name="Alice")


@pytest.fixture
async def on_clock(sandbox: Sandbox) -> AsyncIterator[OnManualClock]:
    """Like `fast`, on a manual clock: a subscription runs when the test advances it."""
    async with bot_on_manual_clock(sandbox) as running:
        yield running


@pytest.fixture
async def fast(sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        await Chat(sandbox.botapi, first_name="Alice").connect()
        yield sandbox


async def test_a_balance_alert_fires_once_per_crossing_on_manual_refreshes(fast: Sandbox) -> None:
    botapi = fast.botapi
    answer = await group(fast).reply("/alert futures balance < 25000")
    assert "Alert set" in answer.plain and "Binance Futures" in answer.plain
    assert "balance < $25,000.00" in answer.plain  # in the account's currency, named
    owner = Chat(botapi)  # refreshes in the private chat; the alert goes to the group

    async def refresh() -> None:
        summary = await owner.reply(f"/refresh {FUTURES}")
        assert "Binance Futures" in summary.plain, summary.plain

    await refresh()  # $25,312.45: false
    assert alerts_posted(botapi) == []
    set_futures(fast, balance="24000")
    await refresh()
    fired = alerts_posted(botapi)
    assert len(fired) == 1, botapi.describe()
    assert "balance < $25,000.00" in fired[0].plain and "$24,000.00" in fired[0].plain
    assert "Binance Futures" in fired[0].plain
    assert not any(m.plain.startswith("🔔 Alert:") for m in botapi.messages(DEMO_USER_ID))
    await refresh()  # still true: nothing new
    await refresh()
    assert len(alerts_posted(botapi)) == 1
    set_futures(fast, balance="26000")
    await refresh()  # false again
    assert len(alerts_posted(botapi)) == 1
    set_futures(fast, balance="24500.5")
    await refresh()  # true again after false in between: fires again
    fired = alerts_posted(botapi)
    assert len(fired) == 2 and "$24,500.50" in fired[1].plain
    # the Refresh button of the group refreshes too
    await owner.reply("/refresh all")
    assert len(alerts_posted(botapi)) == 2


async def test_day_alerts_fire_on_scheduled_runs(on_clock: OnManualClock) -> None:
    fast = on_clock.sandbox
    botapi = fast.botapi
    chat = group(fast)
    down = await chat.reply("/alert Binance Futures day < -5%")
    assert "Alert set" in down.plain and "today < -5.00%" in down.plain, down.plain
    up = await chat.reply("/alert 23456789 day > 3%")
    assert "today > +3.00%" in up.plain, up.plain
    subscribed = await chat.reply("/subscribe futures every 1s")
    assert "Subscribed" in subscribed.plain

    def runs() -> int:
        return sum("$25,312.45" in m.plain or "Total" in m.plain for m in botapi.messages(GROUP))

    async def after_runs(count: int) -> None:
        start = len([m for m in botapi.messages(GROUP) if m.buttons])
        await on_clock.advance_until(
            lambda: len([m for m in botapi.messages(GROUP) if m.buttons]) >= start + count,
            periods=count + 3,
        )

    async def after_alerts(count: int) -> None:
        await on_clock.advance_until(lambda: len(alerts_posted(botapi)) == count, periods=4)

    await after_runs(2)  # +1.25%: neither holds
    assert alerts_posted(botapi) == []
    set_futures(fast, day="-6.5")
    await after_alerts(1)
    fired = alerts_posted(botapi)[0]
    assert "today < -5.00%" in fired.plain and "-6.50%" in fired.plain, fired.plain
    await after_runs(3)  # still below: not again
    assert len(alerts_posted(botapi)) == 1
    set_futures(fast, day="0")
    await after_runs(2)
    set_futures(fast, day="-5.01")
    await after_alerts(2)
    assert "today < -5.00%" in alerts_posted(botapi)[1].plain
    set_futures(fast, day="3.5")
    await after_alerts(3)
    assert "today > +3.00%" in alerts_posted(botapi)[2].plain
    await after_runs(3)
    assert len(alerts_posted(botapi)) == 3
    assert runs() >= 8


async def test_an_alert_checked_by_both_a_manual_and_a_scheduled_refresh_fires_once(
    on_clock: OnManualClock,
) -> None:
    fast = on_clock.sandbox
    botapi = fast.botapi
    chat = group(fast)
    await chat.reply("/alert futures balance < 25000")
    await chat.reply("/subscribe all every 1s")
    owner = Chat(botapi)
    set_futures(fast, balance="1000")
    for _ in range(4):
        await owner.say(f"/refresh {FUTURES}")
        await owner.say("/refresh all")
    await on_clock.advance_until(lambda: len(alerts_posted(botapi)) >= 1, periods=4)
    for _ in range(2):  # more scheduled runs, the condition still true
        await on_clock.advance_one_period()
    assert len(alerts_posted(botapi)) == 1, botapi.describe()


async def test_alerts_are_listed_and_removed(fast: Sandbox) -> None:
    botapi = fast.botapi
    chat = group(fast)
    await chat.reply("/alert futures balance > 1")
    listing = await chat.reply("/subscriptions")
    assert "#1 " in listing.plain and "Binance Futures" in listing.plain
    assert "balance > $1.00" in listing.plain and "by Alice" in listing.plain
    removed = await chat.reply("/unsubscribe 1")
    assert "Alert #1 (Binance Futures) removed." in removed.plain
    await Chat(botapi).reply(f"/refresh {FUTURES}")
    assert alerts_posted(botapi) == []


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("/alert", "Write it as /alert <account> balance < 25000 or /alert <account> day < -5%"),
        ("/alert futures", "Write it as /alert <account> balance < 25000"),
        ("/alert futures volume > 3", "Write it as /alert <account> balance < 25000"),
        ("/alert futures balance = 3", "Write it as /alert <account> balance < 25000"),
        ("/alert futures balance < lots", "Write it as /alert <account> balance < 25000"),
        ("/alert futures balance < 5%", "A balance alert is an amount"),
        ("/alert futures day < -5", "A day alert is a percentage"),
        ("/alert binance balance < 1", "Several accounts match “binance”"),
        ("/alert nosuch balance < 1", "No account matches “nosuch”"),
        ("/alert all balance < 1", "Alerts are per account: set one for each account"),
        ("/alert ALL day < -5%", "Alerts are per account"),
        ("/alert futures balance < " + "9" * 400, "The threshold must be below"),
        ("/alert futures balance > 1000000000000000", "The threshold must be below"),
        ("/alert futures day < -0." + "0" * 399 + "1%", "with at most 8 decimals"),
        ("/alert kraken balance < $25000", "without “$”: a balance alert is in the account's"),
        ("/alert kraken balance < €25000", "without “€”"),
        ("/alert kraken balance < 25k", "in full digits, like 25000: shorthands like 25k"),
        ("/alert kraken balance < -100", "A balance is never below 0, so “balance < -100”"),
        ("/alert kraken balance < 0", "would never be true"),
        ("/alert kraken balance > -5", "“balance > -5” would always be true"),
        ("/alert kraken day < -500%", "A day can lose at most 100%, so “day < -500%” would never"),
        ("/alert kraken day > -101%", "would always be true"),
    ],
)
async def test_bad_alerts_get_a_sentence_and_store_nothing(
    fast: Sandbox, text: str, sentence: str
) -> None:
    answer = await group(fast).reply(text)
    assert sentence in answer.plain, answer.plain
    assert "Alert set" not in answer.plain


async def test_a_fired_alert_names_the_account_and_its_currency_in_the_chats_time(
    fast: Sandbox,
) -> None:
    owner = Chat(fast.botapi)  # alerts set in the private chat are posted there
    await owner.reply("/timezone Asia/Kathmandu")
    await owner.reply("/alert kraken balance < 2000")
    await owner.reply("/alert kraken day < 1%")
    await owner.reply("/refresh kraken")
    fired = alerts_posted(fast.botapi, DEMO_USER_ID)
    headlines = sorted(m.plain.splitlines()[0] for m in fired)
    assert headlines == [
        "🔔 Alert: Kraken Main · balance < €2,000.00",
        "🔔 Alert: Kraken Main · today < +1.00% in EUR",
    ]
    assert all(m.plain.rstrip().endswith("Asia/Kathmandu") for m in fired), fired


async def test_a_balance_alert_names_lists_and_compares_in_the_accounts_currency(
    fast: Sandbox,
) -> None:
    owner = Chat(fast.botapi)  # Kraken Main shows EUR; it was never refreshed here
    answer = await owner.reply("/alert kraken balance < 1250")
    assert "Alert set: Kraken Main balance < €1,250.00." in answer.plain, answer.plain
    listing = await owner.reply("/subscriptions")
    assert "Kraken Main balance < €1,250.00 · by " in listing.plain, listing.plain
    # €1,204.10 is below €1,250 (its $1,301.63 is not below 1,250): compared in euros
    await owner.reply("/refresh kraken")
    fired = alerts_posted(fast.botapi, DEMO_USER_ID)
    assert [m.plain.splitlines()[0] for m in fired] == [
        "🔔 Alert: Kraken Main · balance < €1,250.00"
    ]


async def test_an_alert_without_a_key_says_to_connect(fast: Sandbox) -> None:
    stranger = Chat(fast.botapi, user_id=4004, chat_id=GROUP, chat_type="group")
    answer = await stranger.reply("/alert futures balance < 1")
    assert "You have not connected a 3Commas API key yet" in answer.plain


async def test_an_alert_follows_its_group_to_the_supergroup(fast: Sandbox) -> None:
    botapi = fast.botapi
    supergroup = -1001000800
    await group(fast).reply("/alert futures balance < 25000")
    botapi.migrate_group(GROUP, supergroup)
    await botapi.wait_handled()
    set_futures(fast, balance="20000")
    await Chat(botapi).reply(f"/refresh {FUTURES}")
    await botapi.wait_for(lambda: len(alerts_posted(botapi, supergroup)) == 1)
    assert alerts_posted(botapi, GROUP) == []
    assert "$20,000.00" in alerts_posted(botapi, supergroup)[0].plain


async def test_identical_alerts_are_refused_as_duplicates(fast: Sandbox) -> None:
    chat = group(fast)
    first = await ask(chat, "/alert futures balance < 25000")
    assert "Alert set" in first.plain
    for same in ("Binance Futures balance < 25,000", "23456789 balance<25000.00"):
        refused = await ask(chat, f"/alert {same}")
        expected = "You already have that alert here: #1. Send /subscriptions to see the list."
        assert expected in refused.plain, refused.plain
    assert "Alert set" in (await ask(chat, "/alert futures balance > 25000")).plain
    assert "Alert set" in (await ask(chat, "/alert futures day < -5%")).plain
    assert "already have that alert here: #3" in (await ask(chat, "/alert futures day<-5.0%")).plain
    other = Chat(fast.botapi, chat_id=OTHER_GROUP, chat_type="group", first_name="Alice")
    assert "Alert set" in (await ask(other, "/alert futures balance < 25000")).plain


async def test_alerts_are_limited_per_chat_and_per_user(sandbox: Sandbox) -> None:
    botapi = sandbox.botapi
    async with bot_running(sandbox, max_alerts_per_chat=2, max_alerts_per_user=3):
        await Chat(botapi).connect()
        here = group(sandbox)
        elsewhere = Chat(botapi, chat_id=OTHER_GROUP, chat_type="group", first_name="Alice")
        for threshold in (1, 2):
            assert "Alert set" in (await ask(here, f"/alert futures balance < {threshold}")).plain
        refused = await ask(here, "/alert futures balance < 3")
        assert (
            "This chat already has 2 alerts, the most allowed. Remove one with /unsubscribe first."
        ) in refused.plain
        assert "Alert set" in (await ask(elsewhere, "/alert futures balance < 3")).plain
        refused = await ask(elsewhere, "/alert futures balance < 4")
        assert (
            "You already have 3 alerts across your chats, the most allowed. "
            "Remove one with /unsubscribe first."
        ) in refused.plain
        assert "removed" in (await ask(here, "/unsubscribe 1")).plain
        assert "Alert set" in (await ask(elsewhere, "/alert futures balance < 4")).plain


async def test_an_alert_set_in_a_forum_topic_fires_into_that_topic(fast: Sandbox) -> None:
    botapi = fast.botapi
    forum = Chat(botapi, chat_id=FORUM, chat_type="supergroup", first_name="Alice")
    answer = await ask(forum, "/alert futures balance < 25000", topic=5)
    assert "Alert set" in answer.plain and answer.message_thread_id == 5
    set_futures(fast, balance="24000")
    await ask(Chat(botapi), f"/refresh {FUTURES}")
    await botapi.wait_for(lambda: len(alerts_posted(botapi, FORUM)) == 1)
    assert alerts_posted(botapi, FORUM)[0].message_thread_id == 5


async def test_a_limit_of_one_alert_reads_in_the_singular(sandbox: Sandbox) -> None:
    async with bot_running(sandbox, max_alerts_per_chat=1, max_alerts_per_user=1):
        await Chat(sandbox.botapi).connect()
        here = group(sandbox)
        assert "Alert set" in (await ask(here, "/alert futures balance < 1")).plain
        refused = await ask(here, "/alert futures balance < 2")
        assert "This chat already has 1 alert, the most allowed." in refused.plain, refused.plain
