"""/holdings, /chart and /profit end to end, and the one shape every per-account command shares."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator

import pytest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.telegram.context import BotApplication
from bot.telegram.handlers.account_command import AccountCommand, Request
from bot.telegram.views.reply import Reply, TextReply
from standins.demo import DEMO_USER_ID, Sandbox
from standins.threecommas_standin import Fault
from tests.support.bot import Chat, bot_running

GROUP = -100800
OTHER_USER = 2002


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
async def connected(running: Sandbox) -> Sandbox:
    await Chat(running.botapi).connect()
    return running


async def test_holdings_lists_coins_by_value_and_folds_the_dust(connected: Sandbox) -> None:
    chat = Chat(connected.botapi)
    answer = await chat.reply("/holdings 12345678")
    text = answer.plain
    assert "Holdings" in text and "My Binance US" in text
    assert "more under 1%" in text, text
    assert all(len(line) <= 34 for line in text.split("\n")[2:] if line), text
    full = await chat.press(answer, "All")
    assert full and "more under 1%" not in full[-1].plain
    assert full[-1].message_id == answer.message_id  # the full list replaces the short one


async def test_holdings_all_is_one_summary_call(connected: Sandbox) -> None:
    before = connected.threecommas.upstream_calls("account_table_data")
    answer = await Chat(connected.botapi).reply("/holdings all")
    assert "Holdings" in answer.plain and "all accounts" in answer.plain
    assert connected.threecommas.upstream_calls("summary/account_table_data") == 1
    assert connected.threecommas.upstream_calls("account_table_data") == before + 1


async def test_chart_sends_a_png_with_its_period_and_change_net_of_deposits(
    connected: Sandbox,
) -> None:
    chat = Chat(connected.botapi)
    await chat.say("/chart 23456789 90d")
    sent = await connected.botapi.wait_for_file(DEMO_USER_ID)
    assert sent.method == "sendPhoto"
    width, _ = png_size(sent.file.data)
    assert width >= 600
    caption = sent.message.plain
    assert "Last 90 days" in caption and "Change net of deposits" in caption, caption
    assert len(caption) <= 1024


async def test_a_period_that_does_not_exist_gets_a_sentence(connected: Sandbox) -> None:
    answer = await Chat(connected.botapi).reply("/chart 23456789 2y")
    assert "7d, 30d, 90d, 1y" in answer.plain, answer.plain
    assert connected.botapi.files_in(DEMO_USER_ID) == []


async def test_profit_by_weeks_for_all_accounts_ends_with_a_total(connected: Sandbox) -> None:
    answer = await Chat(connected.botapi).reply("/profit all weeks")
    assert "Total" in answer.plain, answer.plain
    assert "week" in answer.plain.casefold()


async def test_under_every_summary_are_refresh_holdings_and_chart(connected: Sandbox) -> None:
    chat = Chat(connected.botapi)
    summary = await chat.reply("/refresh 12345678")
    assert [label for label, _ in summary.buttons] == ["🔄 Refresh", "🪙 Holdings", "📈 Chart"]
    holdings = await chat.press(summary, "Holdings")
    assert holdings and "Holdings" in holdings[-1].plain
    assert holdings[-1].message_id != summary.message_id  # a new answer: the summary stays
    await chat.press(summary, "Chart")
    sent = await connected.botapi.wait_for_file(DEMO_USER_ID)
    assert "Last 30 days" in sent.message.plain


async def test_another_member_cannot_press_the_holdings_or_chart_button(
    connected: Sandbox,
) -> None:
    alice = Chat(connected.botapi, chat_id=GROUP, chat_type="group", first_name="Alice")
    summary = await alice.reply("/refresh 12345678")
    before = len(connected.botapi.messages(GROUP))
    for label in ("Holdings", "Chart"):
        query_id = connected.botapi.press_button(
            summary, summary.button_data(label), user_id=OTHER_USER, first_name="Bob"
        )
        await connected.botapi.wait_handled()
        assert "belongs to someone else" in connected.botapi.answered_callbacks[query_id]
    assert len(connected.botapi.messages(GROUP)) == before
    assert connected.botapi.files_in(GROUP) == []


# The shape: a new per-account command is its own logic only; picking, `all`, no match,
# buttons and errors come with AccountCommand.


async def echo_account(request: Request) -> Reply:
    return TextReply(f"stub for {request.name} ({request.option or 'no option'})")


STUB = AccountCommand(
    name="stub",
    action="st",
    run=echo_account,
    usage="/stub <account|all>",
    does="a stub",
    working="Stubbing",
)


@pytest.fixture
async def stub_bot(sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    async with bot_running(sandbox) as application:
        _add_stub(application)
        await Chat(sandbox.botapi).connect()
        yield sandbox


def _add_stub(application: BotApplication) -> None:
    # before the catch-all for unknown commands, which is registered last in group 0
    application.handlers[0][0:0] = [
        CommandHandler(STUB.name, STUB.command_handler()),
        CallbackQueryHandler(STUB.button_handler(), pattern=f"^{STUB.action}:"),
    ]


async def test_a_new_command_gets_picking_all_and_buttons_from_the_shape(
    stub_bot: Sandbox,
) -> None:
    chat = Chat(stub_bot.botapi)
    assert (await chat.reply("/stub kraken")).plain == "stub for Kraken Main (no option)"
    assert (await chat.reply("/stub all")).plain == "stub for all accounts (no option)"
    which = await chat.reply("/stub")
    assert "Which account?" in which.plain and len(which.buttons) == 4
    picked = await chat.press(which, "Binance Futures")
    assert picked[-1].plain == "stub for Binance Futures (no option)"
    no_match = await chat.reply("/stub nothing-like-it")
    assert "No account matches" in no_match.plain and no_match.buttons


# The refresh cooldown guards the 3Commas call, per account: another view is never refused, and
# the same view asked again within it is answered from the data just fetched.


@pytest.fixture
async def cooling(sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    async with bot_running(sandbox, refresh_cooldown_seconds=30):
        await Chat(sandbox.botapi).connect()
        yield sandbox


async def test_chart_all_then_a_year_draws_both_within_the_cooldown(cooling: Sandbox) -> None:
    chat = Chat(cooling.botapi)
    for command, period in (("/chart all", "Last 30 days"), ("/chart all 1y", "Last year")):
        answer = await chat.reply(command)
        assert period in answer.plain, (command, answer.plain)
    assert len(cooling.botapi.files_in(DEMO_USER_ID)) == 2
    calls = cooling.threecommas.upstream_calls("balance_chart_data")
    again = await chat.reply("/chart all 1y")  # the same view again: from the data just fetched
    assert "Last year" in again.plain and "a moment ago" not in again.plain
    assert cooling.threecommas.upstream_calls("balance_chart_data") == calls


async def test_profit_all_then_weeks_shows_both_within_the_cooldown(cooling: Sandbox) -> None:
    chat = Chat(cooling.botapi)
    days = await chat.reply("/profit all")
    assert "Total" in days.plain and "Today" in days.plain, days.plain
    weeks = await chat.reply("/profit all weeks")
    assert "Total" in weeks.plain and "This week" in weeks.plain, weeks.plain


async def test_the_all_coins_button_under_holdings_all_answers_from_the_same_data(
    cooling: Sandbox,
) -> None:
    chat = Chat(cooling.botapi)
    answer = await chat.reply("/holdings all")
    label = next(label for label, _ in answer.buttons if label.startswith("📋 All"))
    calls = cooling.threecommas.upstream_calls("account_table_data")
    full = await chat.press(answer, label)
    assert full and "more under 1%" not in full[-1].plain, [m.plain for m in full]
    assert "Holdings" in full[-1].plain and "a moment ago" not in full[-1].plain
    assert cooling.threecommas.upstream_calls("account_table_data") == calls


# A mistyped option is told as one, never taken as part of an account's name.


@pytest.mark.parametrize(
    ("command", "sentence"),
    [
        ("/chart all 90", "The period must be one of 7d, 30d, 90d, 1y"),
        ("/chart all 3m", "The period must be one of 7d, 30d, 90d, 1y"),
        ("/chart binance futures 90", "The period must be one of 7d, 30d, 90d, 1y"),
        ("/profit all years", "Group the profit by days, weeks or months"),
        ("/profit all daily", "Group the profit by days, weeks or months"),
        ("/profit kraken daily", "Group the profit by days, weeks or months"),
        ("/holdings all 30d", "After the account, /holdings takes only “full”"),
    ],
)
async def test_a_mistyped_option_says_which_there_are(
    connected: Sandbox, command: str, sentence: str
) -> None:
    answer = await Chat(connected.botapi).reply(command)
    assert sentence in answer.plain, answer.plain
    assert "No account matches" not in answer.plain and "/refresh" not in answer.plain
    assert connected.botapi.files_in(DEMO_USER_ID) == []


@pytest.mark.parametrize("command", ["chart", "profit", "holdings"])
async def test_a_name_that_matches_nothing_is_hinted_with_the_command_typed(
    connected: Sandbox, command: str
) -> None:
    answer = await Chat(connected.botapi).reply(f"/{command} bitfinex")
    assert "No account matches “bitfinex”" in answer.plain, answer.plain
    assert f"send /{command} <name or id>" in answer.plain, answer.plain
    assert "/refresh" not in answer.plain


async def test_an_error_about_all_accounts_is_titled_all_accounts(connected: Sandbox) -> None:
    connected.threecommas.inject(Fault.NOT_FOUND)
    answer = await Chat(connected.botapi).reply("/holdings all")
    assert answer.plain.startswith("All accounts\n❌ 3Commas has no such account"), answer.plain
    assert "(unnamed)" not in answer.plain


async def test_a_pressed_button_toasts_what_it_does_and_for_which_account(
    connected: Sandbox,
) -> None:
    chat = Chat(connected.botapi)
    summary = await chat.reply("/refresh 12345678")
    toasts = []
    for label in ("Holdings", "Refresh"):
        query_id = connected.botapi.press_button(summary, summary.button_data(label))
        await connected.botapi.wait_handled()
        toasts.append(connected.botapi.answered_callbacks[query_id])
    assert toasts == ["Loading the holdings of My Binance US…", "Refreshing My Binance US…"]
