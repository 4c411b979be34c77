"""Every 3Commas failure becomes one clear sentence; the bot keeps serving afterwards."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from telegram import Update

from bot.telegram.views.texts import error_sentence
from bot.telegram.views.translator import ENGLISH
from bot.threecommas.errors import PermissionDenied
from standins.botapi import SentMessage
from standins.demo import DEMO_API_KEY, DEMO_SECRET, DEMO_USER_ID, Sandbox
from standins.threecommas_standin import Fault, demo_account
from tests.support.bot import Chat, bot_running

SEED = 12345678
OTHER_KEY, OTHER_SECRET = "other-key", "other-secret"
OTHER_USER = 2002
RAW = (
    "Traceback",
    "<html",
    "<h1>",
    "error_description",
    "api_key_invalid_or_expired",
    "signature_invalid",
    "invalid_api_key",
    "HTTP ",
    "Unauthorized",
    "Exception",
    "Error:",
)


def assert_clean(message: SentMessage) -> None:
    for raw in RAW:
        assert raw not in message.plain, (raw, message.plain)


async def refresh_until(chat: Chat, text: str, expected: str) -> SentMessage:
    """Send a refresh and wait until a message of the chat says `expected`."""
    chat.botapi.send_text(text, user_id=chat.user_id, chat_id=chat.chat_id)
    message = await chat.botapi.wait_for_text(chat.chat_id, expected, timeout=10.0)
    await chat.botapi.wait_handled()
    return message


async def still_serves(sandbox: Sandbox, chat: Chat, *, same_key: bool = True) -> None:
    """Another refresh works: the same user (unless their key is blocked) and another user."""
    if same_key:
        again = await chat.reply(f"/refresh {SEED}")
        assert "$31.21" in again.plain, again.plain
    other = Chat(sandbox.botapi, user_id=OTHER_USER)
    await other.connect(OTHER_KEY, OTHER_SECRET)
    summary = await other.reply("/refresh Other Account")
    assert "Other Account" in summary.plain and "$31.21" in summary.plain, summary.plain


@pytest.fixture
def other_key(sandbox: Sandbox) -> None:
    sandbox.threecommas.add_key(OTHER_KEY, OTHER_SECRET, [demo_account(99990001, "Other Account")])


CLIENT_ERRORS = [
    pytest.param(Fault.INVALID_API_KEY, 1, None, "3Commas refused your API key", id="401-invalid"),
    pytest.param(
        Fault.SIGNATURE_INVALID, 1, None, "3Commas refused your API key", id="401-signature"
    ),
    pytest.param(Fault.ACCESS_DENIED, 1, None, "lacks a permission", id="403-access-denied"),
    pytest.param(Fault.NOT_FOUND, 1, None, "3Commas has no such account", id="404-not-found"),
    pytest.param(
        Fault.EXCHANGE_KEYS_INVALID,
        1,
        None,
        "Fix the exchange connection in 3Commas",
        id="422-exchange-keys",
    ),
    pytest.param(
        Fault.RATE_LIMITED, 1, 600.0, "limiting how often we may ask. Try again in 10 min", id="429"
    ),
    pytest.param(Fault.BANNED, 1, 7200.0, "temporarily blocked", id="418-banned"),
    pytest.param(Fault.SERVER_ERROR, 3, None, "not answering right now", id="500"),
    pytest.param(Fault.BAD_GATEWAY, 3, None, "not answering right now", id="502-html"),
    pytest.param(Fault.HTML, 3, None, "3Commas sent an unreadable answer", id="200-html"),
    pytest.param(Fault.HUGE_BODY, 3, None, "3Commas sent an unreadable answer", id="huge-body"),
    pytest.param(Fault.DEEP_NESTING, 3, None, "3Commas sent an unreadable answer", id="deep-json"),
    pytest.param(Fault.RESET, 3, None, "not answering right now", id="reset"),
    pytest.param(Fault.TRUNCATED, 3, None, "not answering right now", id="truncated"),
]


@pytest.mark.usefixtures("other_key")
@pytest.mark.parametrize(("fault", "times", "retry_after", "expected"), CLIENT_ERRORS)
async def test_client_error_becomes_its_sentence_and_the_bot_keeps_serving(
    sandbox: Sandbox, fault: Fault, times: int, retry_after: float | None, expected: str
) -> None:
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        sandbox.threecommas.inject(fault, times=times, account_id=SEED, retry_after=retry_after)
        answer = await refresh_until(chat, f"/refresh {SEED}", expected)
        assert "My Binance US" in answer.plain
        assert_clean(answer)
        if fault is Fault.BANNED:
            assert "Try again in 2 h" in answer.plain, answer.plain
            # a ban is the IP's: everyone else is told too, and 3Commas is not asked
            calls = len(sandbox.threecommas.requests)
            other = Chat(sandbox.botapi, user_id=OTHER_USER)
            told = await other.reply(f"/connect {OTHER_KEY} {OTHER_SECRET}")
            assert "temporarily blocked" in told.plain and "Try again in 2 h" in told.plain
            assert len(sandbox.threecommas.requests) == calls
            return
        # a rate limit blocks this key for a while; everyone else is served
        await still_serves(sandbox, chat, same_key=fault is not Fault.RATE_LIMITED)


@pytest.mark.usefixtures("other_key")
async def test_rate_limited_key_is_told_again_when_to_retry_without_asking_3commas(
    sandbox: Sandbox,
) -> None:
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        sandbox.threecommas.inject(Fault.RATE_LIMITED, account_id=SEED, retry_after=600)
        await refresh_until(chat, f"/refresh {SEED}", "Try again in 10 min")
        calls = len(sandbox.threecommas.requests)
        again = await chat.reply(f"/refresh {SEED}")
        assert "Try again in 10 min" in again.plain
        assert len(sandbox.threecommas.requests) == calls


@pytest.mark.usefixtures("other_key")
async def test_timeout_becomes_a_sentence(sandbox: Sandbox) -> None:
    sandbox.threecommas.timeout_delay = 1.5
    async with bot_running(sandbox, threecommas_total_timeout=0.5):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        sandbox.threecommas.inject(Fault.TIMEOUT, times=3, account_id=SEED)
        answer = await refresh_until(chat, f"/refresh {SEED}", "not answering right now")
        assert_clean(answer)
        await still_serves(sandbox, chat)


async def test_not_connected(chat: Chat) -> None:
    for command in ("/refresh 12345678", "/refresh", "/refresh all", "/accounts"):
        answer = await chat.reply(command)
        assert "You have not connected a 3Commas API key yet" in answer.plain, (command, answer)


async def test_refresh_all_twice_within_the_cooldown_answers_both(sandbox: Sandbox) -> None:
    async with bot_running(sandbox, refresh_cooldown_seconds=30):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        first = await chat.reply("/refresh all")
        answer = await chat.reply("/refresh all")
        assert "Total (3 accounts)" in answer.plain and answer.plain == first.plain
        assert "a moment ago" not in answer.plain


@pytest.mark.usefixtures("other_key")
async def test_unreadable_stored_keys_ask_to_connect_again(sandbox: Sandbox) -> None:
    async with bot_running(sandbox):
        await Chat(sandbox.botapi).connect()
        await Chat(sandbox.botapi, user_id=OTHER_USER).connect(OTHER_KEY, OTHER_SECRET)
    with sqlite3.connect(sandbox.settings.database_path) as db:
        db.execute(
            "UPDATE credentials SET api_key = secret, secret = api_key WHERE user_id = ?", [1001]
        )
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        answer = await chat.reply(f"/refresh {SEED}")
        assert "I can no longer read your stored 3Commas keys" in answer.plain
        assert "/connect" in answer.plain
        assert_clean(answer)
        other = await Chat(sandbox.botapi, user_id=OTHER_USER).reply("/refresh Other Account")
        assert "$31.21" in other.plain
        # connecting again repairs it
        await chat.connect()
        summary = await chat.reply(f"/refresh {SEED}")
        assert "$31.21" in summary.plain


async def test_account_name_with_a_lone_surrogate_connects_and_is_shown_cleaned(
    sandbox: Sandbox,
) -> None:
    # "\ud800" is legal in JSON but cannot be stored or sent as UTF-8.
    sandbox.threecommas.set_accounts(DEMO_API_KEY, [demo_account(SEED, "Broken \ud800 name")])
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        answer = await chat.connect()
        assert "Broken" in answer.plain and "name" in answer.plain
        summary = await chat.reply("/refresh broken")
        assert "$31.21" in summary.plain


async def test_unexpected_exception_is_logged_and_answered(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The error handler of last resort: logs with the traceback, tells the chat, goes on."""
    caplog.set_level(logging.ERROR)
    async with bot_running(sandbox) as application:
        chat = Chat(sandbox.botapi)
        await chat.reply("/help")
        update = Update.de_json(
            {
                "update_id": 999_999,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": chat.chat_id, "type": "private"},
                    "text": "/refresh",
                },
            },
            application.bot,
        )
        try:
            raise RuntimeError("a bug nobody foresaw")
        except RuntimeError as error:
            await application.process_error(update, error)
        answer = await sandbox.botapi.wait_for_text(chat.chat_id, "Something went wrong")
        assert_clean(answer)
        failures = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
        assert failures, caplog.text
        other = Chat(sandbox.botapi, user_id=1003)
        assert "Commands" in (await other.reply("/help")).plain


def test_a_missing_permission_named_by_3commas_is_named_to_the_user() -> None:
    named = error_sentence(ENGLISH, PermissionDenied(status=403, permission="ACCOUNTS_WRITE\u202e"))
    assert "lacks the ACCOUNTS_WRITE permission" in named
    assert "\u202e" not in named
    assert "lacks a permission" in error_sentence(ENGLISH, PermissionDenied(status=403))


@pytest.mark.parametrize("fault", [Fault.DEEP_NESTING, Fault.HUGE_BODY])
async def test_an_unreadable_account_does_not_fail_the_rest_of_refresh_all(
    sandbox: Sandbox, fault: Fault
) -> None:
    botapi = sandbox.botapi
    async with bot_running(sandbox):
        botapi.send_text(f"/connect {DEMO_API_KEY} {DEMO_SECRET}", user_id=DEMO_USER_ID)
        await botapi.wait_for_text(DEMO_USER_ID, "Connected", timeout=10)
        sandbox.threecommas.inject(fault, times=3, account_id=23456789)
        botapi.send_text("/refresh all", user_id=DEMO_USER_ID)
        answer = await botapi.wait_for_text(DEMO_USER_ID, "Total", timeout=15)
    blocks = {block.split("\n")[0]: block for block in answer.plain.split("\n\n")}
    futures = next(block for title, block in blocks.items() if "Binance Futures" in title)
    assert "3Commas sent an unreadable answer" in futures
    assert "Balance: $31.21" in answer.plain  # My Binance US
    assert "Kraken Main" in answer.plain and "€1,204.10" in answer.plain
    assert_clean(answer)
