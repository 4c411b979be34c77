"""Hostile account names, message splitting, the plain-text fallback, and secrets kept out."""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from secrets import token_hex
from typing import Any

import pytest

from bot.telegram.transport.replies import send_html
from standins.botapi import SentMessage, parse_telegram_html
from standins.demo import DEMO_API_KEY, DEMO_SECRET, DEMO_USER_ID, Sandbox, demo_accounts
from standins.threecommas_standin import SEED_ACCOUNT, JsonNumber, demo_account
from tests.support.answers import answer_to
from tests.support.bot import Chat, bot_running

HTML_NAME = '<b>&"</b><script>alert(1)</script>'
BIDI_NAME = "Evil\u202eSUJNIB\u202c \u2066Isolated\u2069"
ZERO_WIDTH_NAME = "Zero\u200bWidth\u200dJoin\ufeffer"
LONG_NAME = "L" * 10_000
INVISIBLE = ("\u202e", "\u202c", "\u2066", "\u2069", "\u200b", "\u200d", "\ufeff")
SEED_API_KEY = str(SEED_ACCOUNT["api_key"])
LIMIT = 4096


def hostile_accounts() -> list[dict[str, Any]]:
    return [
        demo_account(1, HTML_NAME, exchange_name="<i>Ex&change</i>"),
        demo_account(2, BIDI_NAME),
        demo_account(3, ZERO_WIDTH_NAME),
        demo_account(4, LONG_NAME, api_keys_state="<u>weird & state</u>"),
    ]


async def refresh_all(chat: Chat) -> list[SentMessage]:
    """`/refresh all`, once the Total arrived: the messages it posted (the progress one first)."""
    before = {m.message_id for m in chat.botapi.messages(chat.chat_id)}
    chat.botapi.send_text("/refresh all", user_id=chat.user_id)
    await chat.botapi.wait_for_text(chat.chat_id, "Total (", timeout=30)
    await chat.botapi.wait_handled()
    return [m for m in chat.botapi.messages(chat.chat_id) if m.message_id not in before]


def all_texts(sandbox: Sandbox) -> list[str]:
    """Every text the bot ever sent, edits included."""
    return [t for m in sandbox.botapi.all_messages() for t in (*m.edits, m.text)]


def assert_valid_html(message: SentMessage) -> None:
    """Sent as HTML (no plain-text fallback was needed) and accepted by the stand-in."""
    assert message.parse_mode is not None and message.parse_mode.lower() == "html", message.text
    parse_telegram_html(message.text)
    assert len(message.plain) <= LIMIT


async def test_hostile_names_are_escaped_cleaned_and_shortened(sandbox: Sandbox) -> None:
    sandbox.threecommas.set_accounts(DEMO_API_KEY, hostile_accounts())
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        connected = await chat.connect()
        listing = await chat.reply("/accounts")
        everything = await refresh_all(chat)
        singles = [await chat.reply(f"/refresh {n}") for n in (1, 2, 3, 4)]
        for message in [connected, listing, *everything, *singles]:
            assert_valid_html(message)
            for char in INVISIBLE:
                assert char not in message.plain, (char, message.plain)
            for label, _ in message.buttons:
                assert not any(char in label for char in INVISIBLE), label
                assert len(label) <= 64
        # the HTML name is shown literally, never interpreted
        assert HTML_NAME in listing.plain and HTML_NAME in singles[0].plain
        assert "<i>Ex&change</i>" in singles[0].plain
        assert "<script>" not in singles[0].text
        # bidi and zero-width characters are gone, the visible letters kept
        assert "EvilSUJNIB Isolated" in singles[1].plain
        assert "ZeroWidthJoiner" in singles[2].plain
        # a 10,000-character name is shortened everywhere
        for message in (listing, singles[3], *everything):
            assert "L" * 200 not in message.plain
        assert "L" * 40 in singles[3].plain and "…" in singles[3].plain
        assert "<u>weird & state</u>" in singles[3].plain  # the key state is escaped too
        # the refreshes still show the figures
        assert all("$31.21" in message.plain for message in singles)


async def test_no_argument_and_no_match_lists_are_valid_with_hostile_names(
    sandbox: Sandbox,
) -> None:
    sandbox.threecommas.set_accounts(DEMO_API_KEY, hostile_accounts())
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        for command in ("/refresh", "/refresh nothing-like-this", f"/refresh {HTML_NAME}"):
            answer = await chat.reply(command)
            assert_valid_html(answer)
        assert "$31.21" in answer.plain  # the exact (HTML) name resolves to its account


def long_names(count: int) -> list[str]:
    return [f"Account {number:03d} ".ljust(60, "xyz"[number % 3]) for number in range(count)]


async def test_long_answers_are_split_on_line_boundaries_and_nothing_is_lost(
    sandbox: Sandbox,
) -> None:
    names = long_names(150)
    assert all(len(name) == 60 for name in names)
    accounts = [demo_account(50_000_000 + n, name) for n, name in enumerate(names)]
    sandbox.threecommas.set_accounts(DEMO_API_KEY, accounts)
    # the 3Commas budget (15 requests/s) is not what this test is about: under it, the 150
    # accounts' balances took 10 s to fetch
    async with bot_running(
        sandbox, threecommas_requests_per_minute=1000, threecommas_max_requests_per_second=0
    ):
        chat = Chat(sandbox.botapi)
        connected = await chat.say(f"/connect {DEMO_API_KEY} {DEMO_SECRET}")
        listing = await chat.say("/accounts")
        no_match = await chat.say("/refresh no such account")
        everything = await refresh_all(chat)
        for answer in (connected, listing, no_match, everything):
            assert len(answer) > 1, [len(m.plain) for m in answer]
            for message in answer:
                assert_valid_html(message)
                assert len(message.text) <= LIMIT
            lines = [line for message in answer for line in message.plain.split("\n")]
            for name in names:
                # every account on a whole line of its own message: nothing cut or lost
                assert sum(1 for line in lines if name in line) == 1, name
        assert "Total (150 accounts)" in everything[-1].plain
        assert everything[-1].buttons  # the keyboard goes on the last part


async def test_html_refused_by_telegram_goes_out_as_plain_text(sandbox: Sandbox) -> None:
    @dataclass
    class Context:
        bot: Any

    async with bot_running(sandbox) as app:
        chat = Chat(sandbox.botapi)
        await chat.reply("/help")  # the chat exists
        message = await send_html(app.bot, DEMO_USER_ID, "Tom & Jerry <b>unclosed")
        sent = sandbox.botapi.messages(DEMO_USER_ID)[-1]
        assert sent.message_id == message.message_id
        assert sent.parse_mode is None
        assert sent.text == "Tom & Jerry unclosed"


def secret_values(sandbox: Sandbox) -> tuple[str, ...]:
    return (
        DEMO_API_KEY,
        DEMO_SECRET,
        SEED_API_KEY,
        sandbox.settings.telegram_bot_token.get_secret_value(),
    )  # type: ignore[union-attr]


async def full_session(chat: Chat) -> None:
    await chat.reply("/connect")
    await chat.reply(DEMO_API_KEY)
    await chat.reply(DEMO_SECRET)
    await chat.connect()
    await chat.reply("/accounts")
    await chat.reply("/refresh all")
    await chat.reply("/refresh 12345678")
    await chat.reply("/refresh binance")
    await chat.reply("/connect demo-key wrong-secret")


async def test_keys_and_the_accounts_api_key_never_appear_in_a_message(sandbox: Sandbox) -> None:
    async with bot_running(sandbox):
        await full_session(Chat(sandbox.botapi))
    texts = all_texts(sandbox)
    assert len(texts) > 10
    for text in texts:
        for secret in secret_values(sandbox):
            assert secret not in text, (secret, text)


async def test_no_secret_appears_in_any_log_record(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, debug_log: io.StringIO
) -> None:
    root = logging.getLogger()
    root.addHandler(caplog.handler)  # after the redacting handler, as a second sink
    try:
        async with bot_running(sandbox):
            await full_session(Chat(sandbox.botapi))
    finally:
        root.removeHandler(caplog.handler)
    records = caplog.records
    assert any(r.levelno == logging.DEBUG for r in records)
    written = debug_log.getvalue()
    assert "Processing update" in written  # the libraries' DEBUG lines were written too
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in secret_values(sandbox):
            assert secret not in text, (secret, record.name, text)
    for secret in secret_values(sandbox):
        assert secret not in written, secret


def test_library_debug_lines_show_the_shape_of_payloads_never_their_text(
    debug_log: io.StringIO,
) -> None:
    @dataclass
    class FakeUpdate:
        update_id: int
        text: str

    library = logging.getLogger("telegram.ext.Application")
    key = token_hex(32)
    library.debug("Processing update %s", FakeUpdate(7, key))
    library.debug("Getting updates: %s", [7, 8])
    library.debug("Webhook received data: %s", f'{{"message": {{"text": "{key}"}}}}')
    library.debug("one dict: %s", {"text": key})
    library.debug("named: %(endpoint)s %(data)s", {"endpoint": "sendMessage", "data": [key]})
    library.debug("bytes: %r", key.encode())
    written = debug_log.getvalue()
    assert key not in written and key.encode().hex() not in written
    for line in (
        "Processing update <Update 7>",
        "Getting updates: [7, 8]",
        "Webhook received data: <",
        "one dict: <dict of 1 items>",
        "named: sendMessage <list of 1 items>",
        "bytes: '<64 bytes>'",  # %r of the shape
    ):
        assert line in written, written


def encoded_forms(secret: str) -> set[str]:
    """The secret as a log could show it: plain, hex, and base64 at each byte alignment."""
    raw = secret.encode()
    forms = {secret, raw.hex(), raw.hex().upper()}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        core = encoded[4 if shift else 0 : -4]  # the edges mix with the neighbouring bytes
        forms |= {core, core.replace("+", "-").replace("/", "_")}
    return forms


async def test_keys_sent_in_one_or_two_steps_reach_no_debug_log_line_in_any_encoding(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, debug_log: io.StringIO
) -> None:
    one_step = (token_hex(32), token_hex(64))
    two_steps = (token_hex(32), token_hex(64))
    for key, secret in (one_step, two_steps):
        sandbox.threecommas.add_key(key, secret, demo_accounts())
    botapi = sandbox.botapi
    root = logging.getLogger()
    root.addHandler(caplog.handler)  # after the redacting handler, as a second sink
    try:
        async with bot_running(sandbox):
            sent = botapi.send_text(f"/connect {one_step[0]} {one_step[1]}", user_id=3001)
            await answer_to(botapi, 3001, sent, "Checking your keys")
            await botapi.wait_for_text(3001, "Connected", timeout=15)
            await answer_to(botapi, 3002, botapi.send_text("/connect", user_id=3002), "API key")
            sent = botapi.send_text(two_steps[0], user_id=3002)
            await answer_to(botapi, 3002, sent, "Now send the secret")
            sent = botapi.send_text(two_steps[1], user_id=3002)
            await answer_to(botapi, 3002, sent, "Checking your keys")
            await botapi.wait_for_text(3002, "Connected", timeout=15)
    finally:
        root.removeHandler(caplog.handler)
    records = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    log = debug_log.getvalue() + records
    assert "Processing update" in log and "getUpdates" in log  # DEBUG of the library was on
    for value in (*one_step, *two_steps):
        for form in encoded_forms(value):
            assert form not in log, form


async def test_an_ordinary_word_sent_during_connect_is_not_scrubbed_from_logs(
    sandbox: Sandbox, debug_log: io.StringIO
) -> None:
    word, phrase = "grapefruit-marmalade", "plum jam on toast"
    botapi = sandbox.botapi
    async with bot_running(sandbox):
        for text, answer in ((word, "Now send the secret"), (phrase, "one word without spaces")):
            for said, expected in (
                ("/connect", "API key"),
                (text, answer),
                ("/cancel", "Cancelled"),
            ):
                sent = botapi.send_text(said, user_id=DEMO_USER_ID)
                await answer_to(botapi, DEMO_USER_ID, sent, expected)
    logging.getLogger("bot.tests").warning("an operator's line: %s, %s", word, phrase)
    assert f"an operator's line: {word}, {phrase}" in debug_log.getvalue()


async def test_absurdly_large_figures_are_shown_instead_of_failing(sandbox: Sandbox) -> None:
    # A profit percentage over a near-zero base can be enormous; amounts beyond 28 digits
    # exceed Decimal's default precision when rounded to cents.
    huge = "123456789012345678901234567890.5"
    sandbox.threecommas.set_accounts(
        DEMO_API_KEY,
        [
            demo_account(
                12345678,
                "My Binance US",
                primary_display_currency_profit_percentage={"currency": "USD", "amount": huge},
                primary_display_currency_amount={"currency": "USD", "amount": "1e999999"},
            ),
            demo_account(23456789, "Binance Futures"),
        ],
    )
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        summary = await chat.reply("/refresh 12345678")
        assert_valid_html(summary)
        assert "Something went wrong" not in summary.plain
        assert "My Binance US" in summary.plain and "Balance:" in summary.plain
        assert "+$2.63" in summary.plain  # the ordinary figures are still exact
        everything = await refresh_all(chat)
        assert "Total (2 accounts)" in everything[-1].plain
        for message in everything:
            assert_valid_html(message)


async def test_an_account_amount_of_1e999999999_leaves_refresh_all_working(
    sandbox: Sandbox,
) -> None:
    beyond = JsonNumber("1e999999999")  # past Decimal's exponent limit: arithmetic overflows
    sandbox.threecommas.set_accounts(
        DEMO_API_KEY,
        [
            demo_account(
                12345678,
                "My Binance US",
                usd_amount=beyond,
                btc_amount=beyond,
                primary_display_currency_amount={"currency": "USD", "amount": beyond},
            ),
            demo_account(23456789, "Binance Futures"),
        ],
    )
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        everything = await refresh_all(chat)
        text = "\n".join(message.plain for message in everything)
        assert "Something went wrong" not in text
        assert "Binance Futures" in text and "Total (2 accounts)" in text
        for message in everything:
            assert_valid_html(message)


@pytest.mark.parametrize(
    "odd", [{"id": 2**63}, {"id": 10**30}, {"id": -5}], ids=["2**63", "10**30", "negative"]
)
async def test_an_account_with_an_unusable_id_is_left_out_and_the_others_connect(
    sandbox: Sandbox, odd: dict[str, Any]
) -> None:
    accounts = [*demo_accounts(), {**demo_account(1, "Odd One"), **odd}]
    sandbox.threecommas.set_accounts(DEMO_API_KEY, accounts)
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        connected = await chat.connect()
        assert "Your key sees 3 accounts" in connected.plain
        assert "one more account with figures I cannot read" in connected.plain
        assert "Odd One" not in connected.plain
        assert "$31.21" in (await chat.reply("/refresh 12345678")).plain


async def test_a_nan_amount_makes_that_figure_unknown_not_the_key_unusable(
    sandbox: Sandbox,
) -> None:
    nan = JsonNumber("NaN")
    odd = demo_account(1, "Odd One", usd_amount=nan, usd_profit=nan)
    odd["primary_display_currency_amount"] = {"currency": "USD", "amount": nan}
    sandbox.threecommas.set_accounts(DEMO_API_KEY, [*demo_accounts(), odd])
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        connected = await chat.connect()
        assert "Your key sees 4 accounts" in connected.plain and "Odd One" in connected.plain
        everything = await refresh_all(chat)
        text = "\n".join(message.plain for message in everything)
        assert "Something went wrong" not in text
        assert "Odd One" in text and "Total (4 accounts)" in text


@pytest.mark.parametrize(
    "command",
    [
        "/timezone Europe/" + "x" * 4073,  # a 4,080-character zone
        "/refresh " + "bitfinex " * 450,
        "/subscribe " + "x" * 4000 + " every 1h",
        "/alert " + "x" * 4000 + " balance < 1",
    ],
)
async def test_what_a_user_wrote_is_echoed_cut_short_with_an_ellipsis(
    chat: Chat, command: str
) -> None:
    await chat.connect()
    changed = await chat.say(command)
    assert len(changed) == 1, [m.plain[:80] for m in changed]
    quoted = changed[0].plain.split("“", 1)[1].split("”", 1)[0]
    assert quoted.endswith("…") and len(quoted) <= 64, quoted
    assert len(changed[0].plain) < 1000
