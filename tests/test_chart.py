"""/chart: a PNG of the balance with deposits marked, its caption, and how it reaches the chat.

The caption's figures are checked against figures computed here from the stand-in's history.
"""

from __future__ import annotations

import asyncio
import io
import struct
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bench.common import account_id, add_keys, api_key, seed_users, user_id
from bot.services.history import BalanceHistory, BalanceSample, build_history
from bot.telegram.views import chart
from bot.telegram.views.chart import DateLabel
from bot.telegram.views.numbers import format_money, format_percentage
from bot.telegram.views.render_history import CAPTION_LIMIT, axis_dates, chart_caption, render_chart
from bot.telegram.views.translator import ENGLISH
from standins.botapi import BotApiStandIn, parse_telegram_html
from standins.demo import Sandbox
from tests.support.bot import Chat, ask, bot_running
from tests.support.services import API_KEY, ASKED_AT, NOW, TODAY, USER_ID, dec, services
from tests.support.storage import REPO_ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, read by hand."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def history_of(values: list[str], deposits: dict[int, str] | None = None) -> BalanceHistory:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    samples = [
        BalanceSample(start + timedelta(days=i), Decimal(v), Decimal((deposits or {}).get(i, "0")))
        for i, v in enumerate(values)
    ]
    return build_history(1, "30d", samples)


# -- the picture ---------------------------------------------------------------------------


async def test_a_year_renders_a_valid_png_at_least_600_px_wide(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        history = await setup.history.balance_history(USER_ID, 2, "1y")
    reply = await render_chart(ENGLISH, history, "Binance Futures", "Binance Futures USDT-M")
    width, height = png_size(reply.png)
    assert width >= 600 and 300 <= height < width
    with Image.open(io.BytesIO(reply.png)) as image:
        image.verify()  # the whole file decodes: CRCs and data
    with Image.open(io.BytesIO(reply.png)) as image:
        assert image.size == (width, height)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
        rgb = {colour for _, colour in colours}
    assert (0x1F, 0x26, 0x33) in rgb  # the dark card, opaque
    assert any(g > 150 and g > r + 40 for r, g, _ in rgb)  # green deposit marks
    assert any(r > 200 and 100 < g < 200 and b < 100 for r, g, b in rgb)  # orange withdrawal
    assert len(reply.png) < 150_000


@pytest.mark.parametrize(
    "values",
    [["100"], ["100", "100", "100"], ["0", "0"], ["-5", "10", "1e-9"], ["1e24", "2e49"]],
)
def test_odd_histories_still_draw(values: list[str]) -> None:
    png = chart.draw_balance_chart(history_of(values), axis_dates(ENGLISH))
    assert png_size(png)[0] >= 600


def test_many_transfers_still_draw() -> None:
    values = [str(1000 + i * 10) for i in range(60)]
    deposits = {i: ("-25" if i % 3 else "50") for i in range(1, 60)}
    png = chart.draw_balance_chart(history_of(values, deposits), axis_dates(ENGLISH))
    assert png_size(png)[0] >= 600


def transfers_every_few_hours(count: int) -> BalanceHistory:
    """A year with `count` balance points, each with a deposit of 50 or a withdrawal of 120."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    step = timedelta(days=365) / count
    deposits = {i: "50" if i % 3 else "-120" for i in range(1, count)}
    samples = [
        BalanceSample(start + step * i, Decimal(20_000 + i), Decimal(deposits.get(i, "0")))
        for i in range(count)
    ]
    return build_history(1, "1y", samples)


def test_two_thousand_transfers_share_a_few_markers_that_keep_their_net() -> None:
    history = transfers_every_few_hours(2_000)
    marks = chart._merged(history.transfers)
    assert len(marks) <= chart.MAX_TRANSFER_MARKERS
    assert sum(m.deposit for m in marks) == sum(t.deposit for t in history.transfers)
    on_the_line = {(s.at, s.usd) for s in history.samples}
    assert all((m.at, m.usd) in on_the_line for m in marks)
    # a few transfers are each their own marker
    few = history_of([str(v) for v in range(10, 70)], {i: "5" for i in range(1, 60, 3)})
    assert chart._merged(few.transfers) == list(few.transfers)
    png = chart.draw_balance_chart(history, axis_dates(ENGLISH))
    assert png_size(png)[0] >= 600


async def test_drawing_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    draw = chart.draw_balance_chart

    def recording(history: BalanceHistory, date_label: DateLabel) -> bytes:
        threads.append(threading.get_ident())
        return draw(history, date_label)

    monkeypatch.setattr(chart, "draw_balance_chart", recording)
    reply = await render_chart(ENGLISH, history_of(["1", "2"]), "A")
    assert reply.png.startswith(PNG_SIGNATURE)
    assert threads and threads[0] != threading.get_ident()


def test_matplotlib_is_not_imported_until_a_chart_is_drawn() -> None:
    code = (
        "import sys, bot.app, bot.telegram.views.render_history, bot.telegram.views.render_holdings, "
        "bot.services.runtime\n"
        "assert 'matplotlib' not in sys.modules, 'imported at start-up'\n"
        "from bot.telegram.views.chart import draw_balance_chart\n"
        "assert 'matplotlib' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


CHARTS = 20


def heavy_history_rows(points: int) -> list[dict[str, object]]:
    """balance_chart_data rows over the last year, every one with money moved."""
    now = int(time.time())
    step = 365 * 86_400 // points
    return [
        {
            "date": now - (points - i) * step,
            "usd": str(20_000 + i),
            "btc": "0.2",
            "usd_deposit_amount": "0" if i == 0 else ("50" if i % 3 else "-120"),
            "btc_deposit_amount": "0",
        }
        for i in range(points)
    ]


@pytest.mark.slow  # 20 charts drawn: starts first under xdist
@pytest.mark.timeout(180)
async def test_name_lookups_and_another_users_refresh_stay_fast_while_20_heavy_charts_queue(
    sandbox: Sandbox,
) -> None:
    botapi, threecommas = sandbox.botapi, sandbox.threecommas
    add_keys(threecommas, CHARTS)
    await seed_users(sandbox.settings, CHARTS)
    for index in range(CHARTS):
        threecommas.set_history(api_key(index), account_id(index), heavy_history_rows(2_000))
    async with bot_running(sandbox):
        other = Chat(botapi)
        await other.connect()
        for index in range(CHARTS):
            botapi.send_text(f"/chart {account_id(index)} 1y", user_id=user_id(index))
        # two charts are sent, and every history is fetched: the others wait to be drawn
        # (the 3Commas budget spaces the 20 calls over more than a second)
        await botapi.wait_for(
            lambda: (
                sum(bool(botapi.files_in(user_id(i))) for i in range(CHARTS)) >= 2
                and threecommas.upstream_calls("balance_chart_data") == CHARTS
            ),
            timeout=60,
        )
        asked_at = time.monotonic()
        # aiohttp looks names up in the event loop's default thread pool
        await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo("localhost", 443), 10)
        looked_up = time.monotonic() - asked_at
        asked_at = time.monotonic()
        summary = await ask(other, "/refresh 12345678")
        refreshed = (summary.edited_at or summary.sent_at) - asked_at
        drawn = sum(bool(botapi.files_in(user_id(index))) for index in range(CHARTS))
        await botapi.wait_for(
            lambda: all(botapi.files_in(user_id(i)) for i in range(CHARTS)), timeout=120
        )
    assert looked_up < 1.0, f"a name lookup waited {looked_up:.2f} s behind the charts"
    assert "Updated" in summary.plain and refreshed < 1.0, f"/refresh took {refreshed:.2f} s"
    assert drawn < CHARTS, "the charts were still queued meanwhile"


# -- the caption ---------------------------------------------------------------------------


async def test_caption_figures_equal_the_stand_ins_history(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        history = await setup.history.balance_history(USER_ID, 2, "90d")
        rows = setup.standin.history(API_KEY, 2, ASKED_AT)
    first = datetime.combine(TODAY - timedelta(days=90), datetime.min.time(), UTC).timestamp()
    rows = [row for row in rows if first <= row["date"] <= NOW.timestamp()]
    start, end = dec(rows[0]["usd"]), dec(rows[-1]["usd"])
    moved = [dec(row["usd_deposit_amount"]) for row in rows[1:]]
    change = end - start - sum(moved, Decimal(0))
    caption = chart_caption(ENGLISH, history, "Binance Futures", "Binance Futures USDT-M")
    plain = parse_telegram_html(caption).plain
    assert plain.split("\n") == [
        "📈 Binance Futures · Binance Futures USDT-M",
        "Last 90 days: 11 Feb 2025 → 12 May 2025 (UTC)",
        f"Balance {format_money(start, 'USD')} → {format_money(end, 'USD')}",
        f"Change net of deposits: {'▲' if change > 0 else '▼'} "
        f"{format_money(change, 'USD', signed=True)} ({format_percentage(change * 100 / start)})",
        f"Deposited {format_money(sum(m for m in moved if m > 0), 'USD', signed=True)} · "
        f"withdrawn {format_money(sum(m for m in moved if m < 0), 'USD')} (marked on the chart).",
    ]


def test_caption_without_transfers_and_from_zero() -> None:
    plain = parse_telegram_html(chart_caption(ENGLISH, history_of(["0", "25"]), "A")).plain
    assert "Balance $0.00 → $25.00" in plain
    assert "Change net of deposits: ▲ +$25.00\n" in plain + "\n"  # no % of a zero start
    assert plain.endswith("No deposits or withdrawals.")


def test_caption_stays_within_1024_characters_with_hostile_names() -> None:
    history = history_of(["1" * 30, "2" * 30], {1: "-" + "9" * 29})
    for name, exchange in [("&" * 300, "<" * 300), ("\u202e" * 50 + "x" * 500, None)]:
        caption = chart_caption(ENGLISH, history, name, exchange)
        assert len(caption) <= CAPTION_LIMIT
        parse_telegram_html(caption)  # valid HTML
        assert "\u202e" not in caption


# -- the Bot API stand-in keeps photos and documents -----------------------------------------


@pytest.fixture
async def bot_and_api() -> AsyncIterator[tuple[Bot, BotApiStandIn]]:
    async with BotApiStandIn() as api:
        bot = Bot(
            api.token, base_url=f"{api.root_url}/bot", base_file_url=f"{api.root_url}/file/bot"
        )
        async with bot:
            yield bot, api


async def test_send_photo_keeps_the_bytes_caption_and_buttons(
    bot_and_api: tuple[Bot, BotApiStandIn],
) -> None:
    bot, api = bot_and_api
    reply = await render_chart(ENGLISH, history_of(["10", "12", "11"], {1: "1.5"}), "<Main>")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("🔄 Refresh", callback_data="r:1")]])
    message = await bot.send_photo(
        1001, reply.png, caption=reply.caption, parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    sent = await api.wait_for_file(1001)
    assert sent.method == "sendPhoto"
    assert sent.data == reply.png
    assert (sent.width, sent.height) == png_size(reply.png)
    assert sent.caption == reply.caption
    assert sent.caption_plain.startswith("📈 <Main>")
    assert sent.message.buttons == [("🔄 Refresh", "r:1")]
    assert message.photo[-1].width == sent.width
    assert message.caption == sent.caption_plain
    assert api.messages(1001)[-1] is sent.message
    # Telegram cannot edit a photo's text.
    with pytest.raises(BadRequest, match="no text in the message"):
        await bot.edit_message_text("x", chat_id=1001, message_id=message.message_id)
    # Sent again by its file_id, no upload.
    await bot.send_photo(1001, message.photo[-1].file_id)
    assert api.files_in(1001)[-1].data == reply.png


@pytest.mark.parametrize(
    ("caption", "parse_mode", "refusal"),
    [
        ("x" * 1025, None, "(?i)message caption is too long"),
        ("<b>" + "x" * 1025 + "</b>", ParseMode.HTML, "(?i)message caption is too long"),
        ("<b>unclosed", ParseMode.HTML, "(?i)can't parse entities"),
    ],
)
async def test_captions_are_checked_like_telegram(
    bot_and_api: tuple[Bot, BotApiStandIn], caption: str, parse_mode: str | None, refusal: str
) -> None:
    bot, api = bot_and_api
    png = chart.draw_balance_chart(history_of(["1", "2"]), axis_dates(ENGLISH))
    with pytest.raises(BadRequest, match=refusal):
        await bot.send_photo(1001, png, caption=caption, parse_mode=parse_mode)
    assert api.files == []
    # 1024 visible characters are fine: tags do not count.
    await bot.send_photo(1001, png, caption="<b>" + "x" * 1024 + "</b>", parse_mode=ParseMode.HTML)
    assert len(api.files) == 1


async def test_what_is_not_an_image_is_refused_as_a_photo_but_fine_as_a_document(
    bot_and_api: tuple[Bot, BotApiStandIn],
) -> None:
    bot, api = bot_and_api
    data = b"date,usd\n2025-05-12,25312.45\n"
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(1001, data)
    message = await bot.send_document(1001, data, filename="history.csv", caption="CSV")
    sent = api.files_in(1001)[-1]
    assert (sent.method, sent.data, sent.file.filename) == ("sendDocument", data, "history.csv")
    assert message.document is not None and message.document.file_name == "history.csv"
    assert sent.caption == "CSV"
