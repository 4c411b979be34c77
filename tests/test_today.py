"""One account's numbers agree in every view: today in /refresh, /profit and the `all` totals
(in a chat outside UTC too), the BTC totals of /refresh all and /holdings all, and chart
captions in the chat's zone."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bot.services.summary import summarize
from bot.threecommas.models import Account
from standins.demo import DEMO_USER_ID, Sandbox
from standins.threecommas_standin import Fault, demo_account
from tests.support.bot import Chat, bot_running

FUTURES = 23456789
BINANCE_US = 12345678
KRAKEN = 34567890


@pytest.fixture
async def connected(running: Sandbox) -> Chat:
    chat = Chat(running.botapi)
    await chat.connect()
    return chat


def today_in_summary(text: str) -> tuple[str, str]:
    """`Today: ▲ +$312.77 (+1.25%)` -> ("+$312.77", "+1.25%")."""
    found = re.search(r"Today: \S+ (\S+) \((\S+)\)", text)
    assert found is not None, text
    return found[1], found[2]


def today_in_profit(text: str) -> tuple[str, str]:
    """The today row of a /profit table: `Today  +$312.77 +1.25%`."""
    rows = [line.split() for line in text.split("\n") if line.startswith("Today")]
    assert len(rows) == 1 and len(rows[0]) == 3, text
    return rows[0][1], rows[0][2]


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Tokyo", "UTC"])
async def test_refresh_profit_and_all_totals_show_the_same_today(
    connected: Chat, zone: str
) -> None:
    chat = connected
    assert zone in (await chat.reply(f"/timezone {zone}")).plain
    for account in (FUTURES, BINANCE_US):
        refreshed = today_in_summary((await chat.reply(f"/refresh {account}")).plain)
        profit = await chat.reply(f"/profit {account}")
        assert "no data" not in profit.plain.split("\n")[3], profit.plain
        assert today_in_profit(profit.plain) == refreshed
    everything = await chat.reply("/refresh all")
    total = everything.plain.split("\n\n")[-1]
    assert total.startswith("Total (3 accounts)"), everything.plain
    # the accounts' today added up: +$312.77 - $0.68 + $0.00, of the day's starting balances
    assert today_in_summary(total) == ("+$312.09", "+1.19%")
    assert today_in_profit((await chat.reply("/profit all")).plain) == ("+$312.09", "+1.19%")


async def test_refresh_all_with_every_account_failing_has_no_total(
    running: Sandbox, connected: Chat
) -> None:
    for account in (FUTURES, BINANCE_US, KRAKEN):
        running.threecommas.inject(Fault.ACCESS_DENIED, account_id=account, times=5)
    answer = await connected.reply("/refresh all")
    assert "$0.00" not in answer.plain and "0 of 3" not in answer.plain, answer.plain
    assert answer.plain.endswith(
        "Total: unavailable, as no account answered. Try again in a minute."
    ), answer.plain


async def test_btc_totals_of_refresh_all_and_holdings_all_agree(connected: Chat) -> None:
    refreshed = (await connected.reply("/refresh all")).plain.split("\n\n")[-1]
    holdings = (await connected.reply("/holdings all")).plain
    btc = re.compile(r"(\d+\.\d{8}) BTC")
    refreshed_btc = btc.search(refreshed)
    holdings_btc = btc.search(holdings.split("\n")[1])
    assert refreshed_btc is not None and holdings_btc is not None, (refreshed, holdings)
    assert refreshed_btc[1] == holdings_btc[1] == "0.41813395"


async def test_chart_caption_dates_are_in_the_chats_zone(running: Sandbox, connected: Chat) -> None:
    await connected.reply("/timezone Asia/Tokyo")
    await connected.say("/chart 23456789 7d")
    sent = await running.botapi.wait_for_file(DEMO_USER_ID)
    caption = sent.message.plain
    assert "(Asia/Tokyo)" in caption and "(UTC)" not in caption, caption


def euro_lines(text: str) -> list[str]:
    """The total, the BTC row's value and the folded line of a holdings table."""
    lines = text.split("\n")
    btc = lines[lines.index(next(line for line in lines if line.startswith("BTC "))) + 1]
    folded = next(line for line in lines if line.startswith("+ "))
    return [lines[1], btc, folded]


async def test_holdings_in_euro_whether_or_not_refreshed_and_when_scheduled(
    sandbox: Sandbox,
) -> None:
    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        first = euro_lines((await chat.reply("/holdings kraken")).plain)  # never refreshed
        assert all("€" in line for line in first), first
        await chat.reply("/refresh kraken")
        again = euro_lines((await chat.reply("/holdings kraken")).plain)
        assert again == first

        def tables() -> list[str]:
            messages = sandbox.botapi.messages(DEMO_USER_ID)
            return [m.plain for m in messages if m.plain.startswith("🪙 Holdings")]

        asked = len(tables())
        posted = await chat.reply("/subscribe kraken every 1s holdings")
        assert "Subscribed" in posted.plain, posted.plain
        await sandbox.botapi.wait_for(lambda: len(tables()) > asked, timeout=10)
        assert euro_lines(tables()[asked]) == first


def test_today_without_day_profit_usd_falls_back_to_its_display_twin() -> None:
    account = Account.model_validate(
        demo_account(1, "A", day_profit_usd=None, usd_amount="110")
        | {
            "primary_display_currency_amount": {"currency": "USD", "amount": "110"},
            "day_profit_primary_display_currency": {"currency": "USD", "amount": "10"},
        }
    )
    summary = summarize(account)
    assert (summary.day_profit, summary.day_profit_percentage) == (Decimal(10), Decimal(10))
