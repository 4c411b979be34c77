"""One account's numbers agree in every view: today in /refresh, /profit and the `all` totals
(in a chat outside UTC too), the BTC totals of /refresh all and /holdings all (the same at one
moment, each named with its source and time when 3Commas' prices differ), and chart captions in
the chat's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.services.accounts import RefreshResult
from bot.services.records import KnownAccount
from bot.services.summary import summarize
from bot.telegram.views.render import render_refresh_all
from bot.telegram.views.translator import ENGLISH
from bot.threecommas.models import Account
from standins.demo import DEMO_API_KEY, DEMO_USER_ID, Sandbox
from standins.threecommas_standin import DEMO_BTC_PRICE, Fault, demo_account
from tests.support.bot import Chat, bot_running
from tests.support.services import FixedClock

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


def minutes_between(start: datetime, end: datetime, zone: str) -> set[str]:
    """Every `HH:MM zone` a clock in `zone` showed from `start` to `end`."""
    shown, moment = set(), start
    while moment <= end + timedelta(minutes=1):
        shown.add(f"{min(moment, end).astimezone(ZoneInfo(zone)):%H:%M} {zone}")
        moment += timedelta(minutes=1)
    return shown


def labelled(line: str, pattern: str, minutes: set[str]) -> str:
    """`line` with its time (one of `minutes`) replaced by HH:MM, once it matches `pattern`."""
    found = re.fullmatch(pattern.replace("HH:MM", r"(\d\d:\d\d \S+)"), line)
    assert found is not None, (line, pattern)
    assert found[1] in minutes, (found[1], minutes)
    return line.replace(found[1], "HH:MM")


async def test_btc_totals_from_different_price_moments_are_labelled_with_source_and_time(
    running: Sandbox, connected: Chat
) -> None:
    # Live 3Commas values an account's balance when it updates it, and the coins of
    # account_table_data at the prices of the call: their BTC totals differ (issue 18, A.3).
    running.threecommas.coin_btc_price = DEMO_BTC_PRICE
    zone = "Asia/Tokyo"
    await connected.reply(f"/timezone {zone}")
    start = datetime.now(UTC)
    refreshed = (await connected.reply("/refresh all")).plain.split("\n\n")
    holdings = (await connected.reply("/holdings all")).plain.split("\n")
    one = (await connected.reply(f"/refresh {FUTURES}")).plain.split("\n")
    coins = (await connected.reply(f"/holdings {FUTURES}")).plain.split("\n")
    minutes = minutes_between(start, datetime.now(UTC), zone)
    total = refreshed[-1].split("\n")[0]
    assert labelled(total, r"Total \(3 accounts\): .* \(balances updated HH:MM\)", minutes) == (
        "Total (3 accounts): $26,645.29 · 0.41813395 BTC (balances updated HH:MM)"
    )
    assert labelled(holdings[1], r"Total of 13 coins at HH:MM prices: .*", minutes) == (
        "Total of 13 coins at HH:MM prices: $26,645.29 · 0.40992758 BTC"
    )
    # one account: its balance and its update time, against its coins at the prices of now
    assert one[1] == "Balance: $25,312.45 · 0.39721864 BTC", one
    # the summary's last line
    updated = one[-1]
    assert updated.startswith("Updated ") and updated.endswith(zone), one
    assert labelled(updated, r"Updated \d{4}-\d\d-\d\d HH:MM", minutes)
    assert labelled(coins[1], r"Total of 13 coins at HH:MM prices: .*", minutes) == (
        "Total of 13 coins at HH:MM prices: $25,312.45 · 0.38942234 BTC"
    )
    # the coins' BTC values as served, added up: not the accounts' btc_amount
    for account, shown in (("summary", "0.40992758"), (FUTURES, "0.38942234")):
        rows = running.threecommas.coins(DEMO_API_KEY, account)
        served = sum((Decimal(str(row["btc_value"])) for row in rows), Decimal(0))
        assert f"{served:.8f}" == shown


async def test_the_all_coins_button_within_the_cooldown_keeps_the_prices_moment(
    sandbox: Sandbox,
) -> None:
    clock = FixedClock(datetime(2026, 12, 4, 9, 0, 30, tzinfo=UTC))
    async with bot_running(sandbox, clock=clock, refresh_cooldown_seconds=30):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        answer = await chat.reply("/holdings all")
        clock.moment += timedelta(minutes=1)  # the same coins, shown a minute later
        label = next(label for label, _ in answer.buttons if label.startswith("📋 All"))
        full = await chat.press(answer, label)
    headline = "Total of 13 coins at 09:00 UTC prices: $26,645.29 · 0.41813395 BTC"
    assert [answer.plain.split("\n")[1], full[-1].plain.split("\n")[1]] == [headline] * 2


async def test_scheduled_holdings_give_the_prices_moment_in_the_chats_zone(
    sandbox: Sandbox,
) -> None:
    async with bot_running(sandbox, subscription_min_interval_seconds=1):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        await chat.reply("/timezone America/Los_Angeles")
        start = datetime.now(UTC)
        await chat.reply("/subscribe all every 1s holdings")
        posted = await sandbox.botapi.wait_for_text(DEMO_USER_ID, "🪙 Holdings", timeout=10)
        minutes = minutes_between(start, datetime.now(UTC), "America/Los_Angeles")
    assert labelled(posted.plain.split("\n")[1], r"Total of 13 coins at HH:MM prices: .*", minutes)


def refreshed_at(*moments: str) -> list[RefreshResult]:
    results = []
    for number, moment in enumerate(moments, start=1):
        account = Account.model_validate(demo_account(number, f"A{number}", updated_at=moment))
        known = KnownAccount(account_id=number, name=f"A{number}")
        results.append(RefreshResult(known, summarize(account)))
    return results


@pytest.mark.parametrize(
    ("moments", "label"),
    [
        (["2026-12-04T05:02:10Z", "2026-12-04T05:02:50Z"], "(balances updated 14:02 Asia/Tokyo)"),
        (
            ["2026-12-04T05:02:10Z", "2026-12-04T04:58:00Z"],
            "(balances updated 13:58–14:02 Asia/Tokyo)",
        ),
        (  # a time without a zone is 3Commas' UTC
            ["2026-12-04T05:02:10", "2026-12-04T04:58:00Z"],
            "(balances updated 13:58–14:02 Asia/Tokyo)",
        ),
        (["9999-12-31T23:59:00Z"], "(balances updated 9999-12-31T23:59+00:00)"),
        (
            ["2026-12-04T05:02:10Z", "2026-12-03T14:30:00Z"],
            "(balances updated 2026-12-03 23:30–2026-12-04 14:02 Asia/Tokyo)",
        ),
    ],
)
def test_the_refresh_all_total_says_when_its_balances_were_updated(
    moments: list[str], label: str
) -> None:
    text = render_refresh_all(ENGLISH, refreshed_at(*moments), zone=ZoneInfo("Asia/Tokyo"))
    total = text.split("\n\n")[-1].split("\n")[0]
    assert total.endswith(f" BTC {label}"), total


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
    # the moment of the prices is no euro value: it changes when a minute turns between two tables
    total = re.sub(r" at \S+ \S+ prices:", " at … prices:", lines[1])
    return [total, btc, folded]


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
