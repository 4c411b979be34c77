"""/bots and /deals end to end, and the summary's line of the bots' profit today: through the
real application, the Bot API stand-in and the 3Commas stand-in over HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.telegram.views import texts
from bot.telegram.views.html import html_to_plain
from bot.telegram.views.texts import BOTS_READ_MISSING, NO_ACTIVE_DEALS, NO_BOTS
from bot.telegram.views.translator import translator
from standins.bots_and_deals import active_deal, dca_bot, grid_bot
from standins.demo import DEMO_API_KEY, DEMO_USER_ID, Sandbox
from standins.threecommas_standin import Fault
from tests.support.bot import Chat, bot_running

US = 12345678  # My Binance US
FUTURES = 23456789  # Binance Futures
KRAKEN = 34567890  # Kraken Main: no bots in the demo
HOSTILE = "<b>Moon & Co</b>"


def calls(sandbox: Sandbox, endpoint: str) -> list[str]:
    """The paths (with queries) of the calls to exactly this bots endpoint."""
    prefix = f"/public/api/ver1/{endpoint}?"
    return [r.path_qs for r in sandbox.threecommas.requests if r.path_qs.startswith(prefix)]


def deals_of(bot: dict[str, Any], count: int, *, start: int = 9000) -> list[dict[str, Any]]:
    """`count` active deals of `bot`, deal i with an unrealized profit of i - 10 % of $100."""
    now = datetime.now(UTC)
    return [
        active_deal(start + i, bot, "USDT_SOL", now - timedelta(hours=i + 1), Decimal(100), i - 10)
        for i in range(count)
    ]


def set_us_bots(sandbox: Sandbox, *, deals: int = 3, today: str = "-12.5") -> dict[str, Any]:
    """My Binance US with three DCA bots (one disabled), a grid bot and `deals` active deals."""
    scalper = dca_bot(11, US, "My Binance US", "Scalper", ["USDT_SOL", "USDT_ADA"])
    scalper["finished_deals_profit_usd"] = "120.5"
    loser = dca_bot(12, US, "My Binance US", "Loser", ["USDT_ETH"])
    loser["finished_deals_profit_usd"] = "-40.25"
    paused = dca_bot(13, US, "My Binance US", "Paused one", ["USDT_BTC"], enabled=False)
    paused["finished_deals_profit_usd"] = "999"
    grid = grid_bot(21, US, "My Binance US", "Grid BTC", "USDT_BTC", profit=Decimal("60.75"))
    sandbox.threecommas.set_bots(
        DEMO_API_KEY,
        US,
        [scalper, loser, paused],
        [grid],
        deals_of(scalper, deals),
        today_usd=Decimal(today),
    )
    return scalper


async def test_bots_lists_enabled_dca_and_grid_bots_largest_profit_first(
    running: Sandbox, chat: Chat
) -> None:
    set_us_bots(running)
    await chat.connect()
    text = (await chat.reply("/bots my binance us")).plain
    assert "Scalper" in text and "Grid BTC" in text and "Loser" in text
    assert "Paused one" not in text  # enabled bots only
    assert text.index("Scalper") < text.index("Grid BTC") < text.index("Loser")
    assert "+$120.50" in text and "+$60.75" in text and "-$40.25" in text
    assert "SOL/USDT +1 · 3 active" in text  # the scalper's pairs and three deals
    assert "Bots today: ▼ -$12.50" in text  # a minus sign, two decimals
    assert "Overall: ▲ +$1,079.25" in text  # every DCA bot's closed deals, the paused one too
    assert "Active deals: ▼ -$27.00 unrealized" in text  # -10%, -9%, -8% of $100


async def test_bots_of_an_account_without_bots_is_a_sentence(running: Sandbox, chat: Chat) -> None:
    await chat.connect()
    text = (await chat.reply("/bots kraken")).plain
    assert NO_BOTS in text
    assert "Bots today" not in text


async def test_bots_all_is_one_call_per_endpoint_per_account_and_adds_up(
    running: Sandbox, chat: Chat
) -> None:
    set_us_bots(running)
    await chat.connect()
    running.threecommas.clear_requests()
    text = (await chat.reply("/bots all")).plain
    for endpoint in ("bots", "grid_bots", "bots/stats"):
        assert len(calls(running, endpoint)) == 3, endpoint
    assert NO_BOTS in text  # Kraken Main
    futures = running.threecommas.book(DEMO_API_KEY, FUTURES).stats(FUTURES)["profits_in_usd"]
    today = futures["today_usd_profit"] + Decimal("-12.5")
    total = text[text.index("Total (3 accounts)") :]
    sign = "+" if today >= 0 else "-"
    assert f"Bots today: {'▲' if today > 0 else '▼'} {sign}${abs(today):,.2f}" in total


async def test_more_bots_than_a_page_are_all_read_and_the_reply_fits(
    running: Sandbox, chat: Chat
) -> None:
    many = [dca_bot(100 + i, US, "US", f"Bot {i:03}", ["USDT_BTC"]) for i in range(150)]
    for i, bot in enumerate(many):
        bot["finished_deals_profit_usd"] = str(i)
    running.threecommas.set_bots(DEMO_API_KEY, US, many)
    await chat.connect()
    running.threecommas.clear_requests()
    reply = await chat.reply(f"/bots {US}")
    offsets = [path.split("offset=")[1] for path in calls(running, "bots")]
    assert offsets == ["0", "100"] and all("limit=100" in p for p in calls(running, "bots"))
    assert "Bot 149" in reply.plain  # the largest profit, from the second page, first
    assert len(reply.text) <= 4096
    assert "more bots" in reply.plain


async def test_a_hostile_bot_name_is_shown_literally(running: Sandbox, chat: Chat) -> None:
    bot = dca_bot(31, US, "US", HOSTILE, ["USDT_SOL"])
    running.threecommas.set_bots(DEMO_API_KEY, US, [bot], deals=deals_of(bot, 1))
    await chat.connect()
    for command in ("/bots", "/deals"):
        reply = await chat.reply(f"{command} {US}")
        assert HOSTILE in reply.plain, reply.plain
        assert "&lt;b&gt;Moon &amp; Co&lt;/b&gt;" in reply.text


async def test_deals_are_sorted_by_unrealized_profit_with_their_total(
    running: Sandbox, chat: Chat
) -> None:
    set_us_bots(running, deals=3)
    await chat.connect()
    text = (await chat.reply(f"/deals {US}")).plain
    assert text.index("-$8.00") < text.index("-$9.00") < text.index("-$10.00")
    assert "SOL/USDT · Scalper" in text
    assert "$100.00" in text and "-8.00%" in text  # bought volume, unrealized %
    assert "1h" in text and "3h" in text  # ages
    assert "Total unrealized (3 deals): ▼ -$27.00" in text


async def test_sixty_deals_are_cut_readably_and_the_total_counts_all(
    running: Sandbox, chat: Chat
) -> None:
    set_us_bots(running, deals=60)
    await chat.connect()
    reply = await chat.reply(f"/deals {US}")
    assert "+ 42 more" in reply.plain
    total = sum(Decimal(i - 10) for i in range(60))  # % of $100 = dollars
    assert f"Total unrealized (60 deals): ▲ +${total:,.2f}" in reply.plain
    assert len(reply.text) <= 4096


async def test_deals_past_one_page_are_all_counted(running: Sandbox, chat: Chat) -> None:
    bot = dca_bot(41, US, "US", "Busy", ["USDT_SOL"])
    running.threecommas.set_bots(DEMO_API_KEY, US, [bot], deals=deals_of(bot, 1200))
    await chat.connect()
    running.threecommas.clear_requests()
    reply = await chat.reply(f"/deals {US}")
    assert [p.split("offset=")[1] for p in calls(running, "deals")] == ["0", "1000"]
    assert all("limit=1000" in p and "scope=active" in p for p in calls(running, "deals"))
    assert "+ 1182 more" in reply.plain
    assert "Total unrealized (1200 deals)" in reply.plain


async def test_deals_of_an_account_without_deals_is_a_sentence(
    running: Sandbox, chat: Chat
) -> None:
    await chat.connect()
    assert NO_ACTIVE_DEALS in (await chat.reply("/deals kraken")).plain


async def test_a_key_without_bots_read_is_told_and_refresh_stops_asking(
    running: Sandbox, chat: Chat
) -> None:
    running.threecommas.set_bots_read(DEMO_API_KEY, False)
    await chat.connect()
    for command in (f"/bots {US}", "/deals all", "/bots all"):
        text = (await chat.reply(command)).plain
        assert BOTS_READ_MISSING in text, text
        assert text.count(BOTS_READ_MISSING) == 1  # one sentence, said once
    # The calls /bots all sent at once for the other accounts answer after the reply.
    for endpoint in ("/bots?", "/grid_bots?", "/bots/stats?"):
        await running.threecommas.wait_for_calls(endpoint, 4)
    running.threecommas.clear_requests()
    first = (await chat.reply(f"/refresh {US}")).plain
    second = (await chat.reply(f"/refresh {US}")).plain
    for text in (first, second):
        assert "$31.21" in text and "Bots today" not in text
    assert calls(running, "bots/stats") == []  # the 403 of /bots is remembered
    assert "Total" in (await chat.reply("/holdings all")).plain  # other commands unaffected


async def test_refresh_remembers_a_403_of_its_own(running: Sandbox, chat: Chat) -> None:
    running.threecommas.set_bots_read(DEMO_API_KEY, False)
    await chat.connect()
    for _ in range(3):
        assert "$31.21" in (await chat.reply(f"/refresh {US}")).plain
    assert len(calls(running, "bots/stats")) == 1


async def test_bots_today_is_the_same_figure_in_bots_and_refresh_from_one_call(
    sandbox: Sandbox,
) -> None:
    set_us_bots(sandbox, today="7.3")
    async with bot_running(sandbox, refresh_cooldown_seconds=60):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        refreshed = (await chat.reply(f"/refresh {US}")).plain
        bots = (await chat.reply(f"/bots {US}")).plain
    line = "Bots today: ▲ +$7.30"
    assert line in refreshed and line in bots
    shown = refreshed.split("\n")  # under the account's own today, above its update time
    assert shown[shown.index(line) - 1].startswith("Today: ") and shown[-1].startswith("Updated")
    assert len(calls(sandbox, "bots/stats")) == 1  # one answer, shared


async def test_refresh_all_adds_the_bots_today_of_bots_all(running: Sandbox, chat: Chat) -> None:
    set_us_bots(running, today="-12.5")
    await chat.connect()
    refreshed = (await chat.reply("/refresh all")).plain
    bots = (await chat.reply("/bots all")).plain
    total = bots[bots.index("Total (3 accounts)") :].split("\n")[1].split(" · ")[0]
    assert total.startswith("Bots today")
    assert refreshed.rstrip().endswith(total)


@pytest.mark.parametrize("command", ["/bots", "/deals"])
async def test_bots_and_deals_work_in_a_group_with_the_callers_keys(
    running: Sandbox, command: str
) -> None:
    await Chat(running.botapi).connect()
    group = Chat(running.botapi, chat_id=-100500, chat_type="group")
    reply = await group.reply(f"{command} binance futures")
    assert "Binance Futures" in reply.plain


@pytest.mark.parametrize(
    ("command", "answered"),
    [("/bots all", "Total (2 of 3 accounts)"), ("/deals all", "Total unrealized (")],
)
async def test_one_account_failing_in_all_is_said_and_the_others_stand(
    running: Sandbox, chat: Chat, command: str, answered: str
) -> None:
    await chat.connect()
    endpoint = "/bots/stats" if command == "/bots all" else "/deals"
    running.threecommas.inject(Fault.NOT_FOUND, path=endpoint)  # the first account asked
    text = (await chat.reply(command)).plain
    assert "3Commas has no such account for your key" in text, text
    assert answered in text


async def test_bots_when_3commas_is_down_says_so_with_a_retry_button(
    running: Sandbox, chat: Chat
) -> None:
    await chat.connect()
    running.threecommas.inject(Fault.SERVER_ERROR, times=10, path="/bots")
    reply = await chat.reply(f"/bots {US}")
    assert "not answering right now" in reply.plain
    assert reply.button_data("🔄 Try again")


# -- languages ----------------------------------------------------------------------------


def figures(text: str) -> list[str]:
    """Every number of a reply, in order: the same in every language."""
    return re.findall(r"[-+]?\$?\d[\d,.]*%?", text)


async def test_a_russian_users_bots_and_deals_read_russian_with_the_same_numbers(
    running: Sandbox, chat: Chat
) -> None:
    set_us_bots(running)
    await chat.connect()
    english = {
        command: (await chat.reply(command)).plain
        for command in ("/bots all", "/deals all", f"/deals {US}")
    }
    running.botapi.set_language(DEMO_USER_ID, "ru")
    ru = translator("ru")
    russian = {command: (await chat.reply(command)).plain for command in english}

    bots = russian["/bots all"]
    assert html_to_plain(ru(texts.BOTS_TODAY, change="▼ -$12.50")) in bots  # "Боты сегодня"
    assert html_to_plain(ru(texts.BOTS_OVERALL, change="▲ +$1,079.25")) in bots
    assert html_to_plain(ru(texts.BOTS_UNREALIZED, change="▼ -$27.00")) in bots
    assert "Боты сегодня" in bots and "Итого (3 счёта)" in bots
    assert "SOL/USDT +1 · 3 активные" in bots  # a plural's form for 3
    assert ru(texts.NO_BOTS) in bots  # Kraken Main
    deals = russian["/deals all"]
    assert deals.startswith(
        html_to_plain(ru(texts.DEALS_TITLE, account=ru(texts.ALL_ACCOUNTS_TITLE)))
    )
    assert "Нереализованная прибыль (10 сделок): " in deals  # the plural's form for 10
    assert "Нереализованная прибыль (3 сделки): ▼ -$27.00" in russian[f"/deals {US}"]
    assert "1ч" in deals and "3ч" in deals  # ages, in Russian units
    for command, text in english.items():
        assert figures(russian[command]) == figures(text), command
        assert "Bots today" not in russian[command] and "Total unrealized" not in russian[command]


async def test_a_russian_key_without_bots_read_is_told_so_in_russian(
    running: Sandbox, chat: Chat
) -> None:
    running.threecommas.set_bots_read(DEMO_API_KEY, False)
    await chat.connect()
    running.botapi.set_language(DEMO_USER_ID, "ru")
    for command in (f"/bots {US}", "/deals all"):
        text = (await chat.reply(command)).plain
        assert translator("ru")(texts.BOTS_READ_MISSING) in text, text
        assert "Bots read" in text  # 3Commas' own name of the permission stays
