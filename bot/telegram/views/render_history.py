"""The balance chart's caption and the profit table, as Telegram HTML.

Both are measured net of deposits: money moved in or out is not profit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.services.history import BalanceHistory, NetChange
from bot.services.profit import PeriodProfit, ProfitTable
from bot.telegram.views.chart import balance_chart_png
from bot.telegram.views.html import clean_name, escape
from bot.telegram.views.numbers import (
    format_money,
    format_money_compact,
    format_percentage,
    trend_arrow,
)
from bot.telegram.views.render import account_title

CAPTION_LIMIT = 1024
WIDTH = 34  # characters of a <pre> line that fit a phone screen
PERIOD_NAMES = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "1y": "Last year",
}
UNITS = {"days": "day", "weeks": "week", "months": "month"}
CURRENT = {"days": "Today", "weeks": "This week", "months": "This month"}
NO_DATA = "no data"


@dataclass(frozen=True)
class ChartReply:
    png: bytes
    caption: str  # HTML, within Telegram's 1024 characters


async def render_chart(
    history: BalanceHistory, name: str | None, exchange: str | None = None
) -> ChartReply:
    """The PNG (drawn off the event loop) and its caption, ready for sendPhoto."""
    return ChartReply(await balance_chart_png(history), chart_caption(history, name, exchange))


def chart_caption(history: BalanceHistory, name: str | None, exchange: str | None = None) -> str:
    """The period, start → end balance, and the change net of deposits in amount and %."""
    net = history.net
    body = [
        f"{PERIOD_NAMES[history.period]}: {_day(net.start_at, history.zone)} → "
        f"{_day(net.end_at, history.zone)} ({escape(history.zone.key)})",
        f"Balance {escape(format_money(net.start_usd, 'USD'))} → "
        f"<b>{escape(format_money(net.end_usd, 'USD'))}</b>",
        f"Change net of deposits: {_change(net)}",
        _transfers(history),
    ]
    for title in _titles(name, exchange):
        caption = "\n".join([f"📈 {title}", *body])
        if len(caption) <= CAPTION_LIMIT:
            return caption
    return "\n".join(body)


def render_profit(table: ProfitTable, name: str | None, exchange: str | None = None) -> str:
    """One row per period (newest first) and the total, in a table that fits a phone."""
    unit = UNITS[table.grouping]
    note = "Weeks (Monday to Sunday)" if table.grouping == "weeks" else f"{unit.title()}s"
    rows = [(period_label(row, table.grouping), row.result) for row in table.rows]
    lines = [
        f"📊 Profit by {unit} · {account_title(name, exchange)}",
        f"Net of deposits and withdrawals, in USD. {note} in {escape(table.zone.key)}.",
        "<pre>",
        *(escape(line) for line in _table(unit.title(), rows, table.total)),
        "</pre>",
    ]
    return "\n".join(lines)


def _titles(name: str | None, exchange: str | None) -> list[str]:
    """The account's title, then shorter ones, for a caption that must fit."""
    return [account_title(name, exchange), f"<b>{escape(clean_name(name, limit=24))}</b>"]


def _day(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y}"


def _change(net: NetChange) -> str:
    amount = escape(format_money(net.change, "USD", signed=True))
    percent = "" if net.percent is None else f" ({format_percentage(net.percent)})"
    return f"{trend_arrow(net.change)} <b>{amount}{percent}</b>"


def _transfers(history: BalanceHistory) -> str:
    parts = []
    if history.deposited:
        parts.append(f"deposited {escape(format_money(history.deposited, 'USD', signed=True))}")
    if history.withdrawn:
        parts.append(f"withdrawn {escape(format_money(history.withdrawn, 'USD'))}")
    if not parts:
        return "No deposits or withdrawals."
    text = " · ".join(parts)
    return text[0].upper() + text[1:] + " (marked on the chart)."


def period_label(row: PeriodProfit, grouping: str) -> str:
    """`Today`, `Mon 30 Nov`, `23–29 Nov`, `Oct 2026`: a row of /profit."""
    if row.current:
        return CURRENT[grouping]
    first, last = row.first_day, row.last_day
    if grouping == "days":
        return f"{first:%a} {first.day} {first:%b}"
    if grouping == "weeks":
        start = f"{first.day}" if first.month == last.month else _day_month(first)
        return f"{start}–{_day_month(last)}"
    return f"{first:%b %Y}"


def _day_month(day: date) -> str:
    return f"{day.day} {day:%b}"


def _table(
    heading: str, rows: list[tuple[str, NetChange | None]], total: NetChange | None
) -> list[str]:
    """Label, profit and % columns; the money made compact if the full one does not fit."""
    everything = [*rows, ("Total", total)]
    for money in (_full_money, _compact_money):
        cells = [(label, *profit_cells(result, money)) for label, result in everything]
        widths = [
            max(len(cell[i]) for cell in [(heading, "Profit", "%"), *cells]) for i in range(3)
        ]
        if sum(widths) + 2 <= WIDTH:
            break
    header = (heading, "Profit", "%")
    return [_line(cells, widths) for cells in [header, *cells]]


def profit_cells(
    result: NetChange | None, money: Callable[[Decimal], str] | None = None
) -> tuple[str, str]:
    """The profit and % of a /profit row (`no data` and empty without a result)."""
    money = money or _full_money
    if result is None:
        return NO_DATA, ""
    percent = "" if result.percent is None else format_percentage(result.percent)
    return money(result.change), percent


def _full_money(amount: Decimal) -> str:
    return format_money(amount, "USD", signed=True)


def _compact_money(amount: Decimal) -> str:
    text = format_money_compact(amount, "USD", 3)
    return "+" + text if amount > 0 and not text.startswith("-") else text


def _line(cells: tuple[str, str, str], widths: list[int]) -> str:
    label, money, percent = cells
    if money == NO_DATA:
        return f"{label.ljust(widths[0])} {money}"
    return f"{label.ljust(widths[0])} {money.rjust(widths[1])} {percent.rjust(widths[2])}"
