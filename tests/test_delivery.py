"""Posting when Telegram fails for a moment (5xx answers, dropped connections): sends are made
again with backoff within a bound; an alert or a scheduled run counts as delivered only once
Telegram accepted its message; a progress message always settles."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from standins.botapi import BotApiStandIn, SentMessage
from standins.demo import DEMO_API_KEY, DEMO_USER_ID, Sandbox, demo_accounts
from tests.support.bot import Chat, bot_running
from tests.support.clock import ManualClock

GROUP = -100900
FUTURES = 23456789


def alerts_posted(botapi: BotApiStandIn) -> list[SentMessage]:
    return [m for m in botapi.messages(GROUP) if m.plain.startswith("🔔 Alert:")]


def summaries(botapi: BotApiStandIn) -> list[SentMessage]:
    return [m for m in botapi.messages(GROUP) if "$31.21" in m.plain and "Updated" in m.plain]


def in_group(botapi: BotApiStandIn) -> Chat:
    return Chat(botapi, chat_id=GROUP, chat_type="group", first_name="Alice")


def futures_balance(sandbox: Sandbox, balance: str) -> None:
    accounts: list[dict[str, Any]] = demo_accounts()
    for account in accounts:
        if account["id"] == FUTURES:
            account["primary_display_currency_amount"] = {"currency": "USD", "amount": balance}
            account["usd_amount"] = balance
    sandbox.threecommas.set_accounts(DEMO_API_KEY, accounts)


@pytest.fixture
async def alerting(sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    """The bot running, the demo user connected, an alert in the group about to hold."""
    async with bot_running(sandbox):
        await Chat(sandbox.botapi).connect()
        answer = await in_group(sandbox.botapi).reply("/alert futures balance < 25000")
        assert "Alert set" in answer.plain, answer.plain
        futures_balance(sandbox, "24000")
        yield sandbox


@pytest.fixture
async def chat(sandbox: Sandbox) -> AsyncIterator[Chat]:
    """The demo user's private chat; every refresh shows its progress message first."""
    async with bot_running(sandbox, progress_delay_ms=0):
        yield Chat(sandbox.botapi)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same number of attempts, without seconds of backoff between them."""
    monkeypatch.setattr("bot.telegram.transport.replies.RETRY_DELAYS", (0.01, 0.01, 0.01, 0.01))


# --------------------------------------------------------------------------- alerts


async def test_an_alert_met_by_502s_is_posted_once_when_telegram_recovers(
    alerting: Sandbox,
) -> None:
    botapi = alerting.botapi
    botapi.fail("sendMessage", times=3, chat_id=GROUP)
    owner = Chat(botapi)
    await owner.reply(f"/refresh {FUTURES}")
    await botapi.wait_for(lambda: len(alerts_posted(botapi)) == 1, timeout=10)
    assert botapi.failed_calls == 3
    assert "$24,000.00" in alerts_posted(botapi)[0].plain
    await owner.reply(f"/refresh {FUTURES}")  # still true, and it was marked fired
    assert len(alerts_posted(botapi)) == 1


async def test_an_alert_telegram_never_took_is_posted_by_the_next_refresh(
    alerting: Sandbox, quick_retries: None
) -> None:
    botapi = alerting.botapi
    botapi.fail("sendMessage", times=5, chat_id=GROUP)  # every attempt of the first post
    owner = Chat(botapi)
    await owner.reply(f"/refresh {FUTURES}")
    await botapi.wait_for(lambda: botapi.failed_calls == 5, timeout=5)
    assert alerts_posted(botapi) == []
    await owner.reply(f"/refresh {FUTURES}")  # not marked fired: it fires now
    await botapi.wait_for(lambda: len(alerts_posted(botapi)) == 1, timeout=5)
    await owner.reply(f"/refresh {FUTURES}")
    assert len(alerts_posted(botapi)) == 1


# --------------------------------------------------------------------------- scheduled posts


async def test_a_scheduled_summary_met_by_dropped_connections_is_posted_once(
    sandbox: Sandbox,
) -> None:
    botapi = sandbox.botapi
    clock = ManualClock(datetime(2026, 6, 1, 8, 59, 58, tzinfo=UTC))
    async with bot_running(sandbox, clock=clock):
        await Chat(botapi).connect()
        answer = await in_group(botapi).reply("/subscribe 12345678 daily 09:00")
        assert "Next summary: 2026-06-01 09:00" in answer.plain, answer.plain
        botapi.fail("sendMessage", times=3, status=None, chat_id=GROUP)  # no answer at all
        clock.advance(2)  # nine o'clock
        await botapi.wait_for(lambda: bool(summaries(botapi)), timeout=15)
        assert botapi.failed_calls == 3
        # one run, posted once: the summary was not lost to the first attempt
        assert sandbox.threecommas.upstream_calls("load_balances") == 1
        assert len(summaries(botapi)) == 1


async def test_a_scheduled_error_telegram_never_took_is_told_by_the_next_run(
    sandbox: Sandbox, quick_retries: None
) -> None:
    botapi = sandbox.botapi
    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        await Chat(botapi).connect()
        answer = await in_group(botapi).reply("/subscribe 12345678 every 1s")
        assert "Subscribed" in answer.plain, answer.plain
        sandbox.threecommas.set_accounts(DEMO_API_KEY, [])  # every run fails from now on
        botapi.fail("sendMessage", times=5, chat_id=GROUP)  # the first run's error post
        await botapi.wait_for(lambda: botapi.failed_calls == 5, timeout=10)
        told = await botapi.wait_for_text(GROUP, "failed", timeout=10)
    failures = [m for m in botapi.messages(GROUP) if "failed" in m.plain]
    assert failures == [told], "told once, by the run after the one Telegram refused"


# --------------------------------------------------------------------------- progress messages


async def test_a_refresh_whose_edits_fail_for_a_while_ends_as_the_summary(chat: Chat) -> None:
    botapi = chat.botapi
    await chat.connect()
    botapi.fail("editMessageText", seconds=2.0)
    botapi.send_text("/refresh 12345678", user_id=DEMO_USER_ID)
    summary = await botapi.wait_for_text(DEMO_USER_ID, "$31.21", timeout=15)
    assert summary.edits and "Refreshing" in summary.edits[-1]
    assert botapi.failed_calls >= 2


async def test_a_refresh_whose_edits_keep_failing_ends_as_an_error_sentence(
    chat: Chat, quick_retries: None
) -> None:
    botapi = chat.botapi
    await chat.connect()
    botapi.fail("editMessageText", times=5)  # every attempt at the summary
    botapi.send_text("/refresh 12345678", user_id=DEMO_USER_ID)
    settled = await botapi.wait_for_text(DEMO_USER_ID, "Something went wrong", timeout=10)
    assert settled.plain.startswith("❌")
    assert len(settled.edits) == 1 and "Refreshing" in settled.edits[0]


async def test_a_progress_message_that_cannot_be_settled_is_logged(
    chat: Chat, quick_retries: None, caplog: pytest.LogCaptureFixture
) -> None:
    botapi = chat.botapi
    await chat.connect()
    botapi.fail("editMessageText", times=10)  # the summary and the error sentence
    with caplog.at_level(logging.ERROR, logger="bot"):
        botapi.send_text("/refresh 12345678", user_id=DEMO_USER_ID)
        await botapi.wait_for(
            lambda: any("could not be settled" in r.getMessage() for r in caplog.records),
            timeout=10,
        )
    assert botapi.failed_calls == 10
