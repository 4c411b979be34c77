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
from bot.telegram.views import texts
from bot.telegram.views.chart import DateLabel, balance_chart_png
from bot.telegram.views.html import clean_name, escape
from bot.telegram.views.numbers import (
    format_money,
    format_money_compact,
    format_percentage,
    trend_arrow,
)
from bot.telegram.views.render import account_title
from bot.telegram.views.texts import (
    DAY_MONTH_YEAR,
    DAY_OF_MONTH,
    MONTH_OF_YEAR,
    WEEKDAY_DAY_MONTH,
    WEEKDAYS,
)
from bot.telegram.views.translator import Translator

CAPTION_LIMIT = 1024
WIDTH = 34  # characters of a <pre> line that fit a phone screen
PERIOD_NAMES = {
    "7d": texts.LAST_7_DAYS,
    "30d": texts.LAST_30_DAYS,
    "90d": texts.LAST_90_DAYS,
    "1y": texts.LAST_YEAR,
}
# per grouping: the title, the note under it, the label column's heading, the current period
TITLES = {
    "days": texts.PROFIT_BY_DAY,
    "weeks": texts.PROFIT_BY_WEEK,
    "months": texts.PROFIT_BY_MONTH,
}
NOTES = {
    "days": texts.PROFIT_NOTE_DAYS,
    "weeks": texts.PROFIT_NOTE_WEEKS,
    "months": texts.PROFIT_NOTE_MONTHS,
}
COLUMNS = {"days": texts.COLUMN_DAY, "weeks": texts.COLUMN_WEEK, "months": texts.COLUMN_MONTH}
CURRENT = {"days": texts.THIS_DAY, "weeks": texts.THIS_WEEK, "months": texts.THIS_MONTH}


@dataclass(frozen=True)
class ChartReply:
    png: bytes
    caption: str  # HTML, within Telegram's 1024 characters


async def render_chart(
    t: Translator, history: BalanceHistory, name: str | None, exchange: str | None = None
) -> ChartReply:
    """The PNG (drawn off the event loop) and its caption, ready for sendPhoto."""
    png = await balance_chart_png(history, axis_dates(t))
    return ChartReply(png, chart_caption(t, history, name, exchange))


def axis_dates(t: Translator) -> DateLabel:
    """The chart's date axis in the chat's language: `4 Dec`, or `Dec 2026` (`long`)."""

    def label(day: date, long: bool) -> str:
        return _month_year(t, day) if long else _day_month(t, day)

    return label


def chart_caption(
    t: Translator, history: BalanceHistory, name: str | None, exchange: str | None = None
) -> str:
    """The period, start → end balance, and the change net of deposits in amount and %."""
    net = history.net
    body = [
        t(
            texts.CHART_PERIOD,
            period=t(PERIOD_NAMES[history.period]),
            start=_day(t, net.start_at, history.zone),
            end=_day(t, net.end_at, history.zone),
            zone=escape(history.zone.key),
        ),
        t(
            texts.CHART_BALANCE,
            start=escape(format_money(net.start_usd, "USD")),
            end=escape(format_money(net.end_usd, "USD")),
        ),
        t(texts.CHANGE_NET_OF_DEPOSITS, change=_change(net)),
        _transfers(t, history),
    ]
    for title in _titles(name, exchange):
        caption = "\n".join([t(texts.CHART_TITLE, account=title), *body])
        if len(caption) <= CAPTION_LIMIT:
            return caption
    return "\n".join(body)


def render_profit(
    t: Translator, table: ProfitTable, name: str | None, exchange: str | None = None
) -> str:
    """One row per period (newest first) and the total, in a table that fits a phone."""
    grouping = table.grouping
    rows = [(period_label(t, row, grouping), row.result) for row in table.rows]
    lines = [
        t(TITLES[grouping], account=account_title(name, exchange)),
        t(NOTES[grouping], zone=escape(table.zone.key)),
        "<pre>",
        *(escape(line) for line in _table(t, t(COLUMNS[grouping]), rows, table.total)),
        "</pre>",
    ]
    return "\n".join(lines)


def _titles(name: str | None, exchange: str | None) -> list[str]:
    """The account's title, then shorter ones, for a caption that must fit."""
    return [account_title(name, exchange), f"<b>{escape(clean_name(name, limit=24))}</b>"]


def _day(t: Translator, moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return t(DAY_MONTH_YEAR, day_month=_day_month(t, local.date()), year=local.year)


def _change(net: NetChange) -> str:
    amount = escape(format_money(net.change, "USD", signed=True))
    percent = "" if net.percent is None else f" ({format_percentage(net.percent)})"
    return f"{trend_arrow(net.change)} <b>{amount}{percent}</b>"


def _transfers(t: Translator, history: BalanceHistory) -> str:
    deposited = escape(format_money(history.deposited, "USD", signed=True))
    withdrawn = escape(format_money(history.withdrawn, "USD"))
    if history.deposited and history.withdrawn:
        text = t(texts.DEPOSITED_AND_WITHDRAWN, deposited=deposited, withdrawn=withdrawn)
    elif history.deposited:
        text = t(texts.DEPOSITED, amount=deposited)
    elif history.withdrawn:
        text = t(texts.WITHDRAWN, amount=withdrawn)
    else:
        return t(texts.NO_TRANSFERS)
    return t(texts.MARKED_ON_CHART, transfers=text)


def period_label(t: Translator, row: PeriodProfit, grouping: str) -> str:
    """`Today`, `Mon 30 Nov`, `23–29 Nov`, `Oct 2026`: a row of /profit."""
    if row.current:
        return t(CURRENT[grouping])
    first, last = row.first_day, row.last_day
    if grouping == "days":
        weekday = t(WEEKDAYS[first.weekday()])
        return t(WEEKDAY_DAY_MONTH, weekday=weekday, day_month=_day_month(t, first))
    if grouping == "weeks":
        start = f"{first.day}" if first.month == last.month else _day_month(t, first)
        return f"{start}–{_day_month(t, last)}"
    return _month_year(t, first)


def _day_month(t: Translator, day: date) -> str:
    """`4 Dec`."""
    return t(DAY_OF_MONTH[day.month - 1], day=day.day)


def _month_year(t: Translator, day: date) -> str:
    """`Dec 2026`."""
    return t(MONTH_OF_YEAR[day.month - 1], year=day.year)


def _table(
    t: Translator,
    heading: str,
    rows: list[tuple[str, NetChange | None]],
    total: NetChange | None,
) -> list[str]:
    """Label, profit and % columns; the money made compact if the full one does not fit."""
    header = (heading, t(texts.COLUMN_PROFIT), "%")
    no_data = t(texts.NO_DATA)
    everything = [*rows, (t(texts.ROW_TOTAL), total)]
    for money in (_full_money, _compact_money):
        cells = [(label, *profit_cells(t, result, money)) for label, result in everything]
        widths = [max(len(cell[i]) for cell in [header, *cells]) for i in range(3)]
        if sum(widths) + 2 <= WIDTH:
            break
    return [_line(cells, widths, no_data) for cells in [header, *cells]]


def profit_cells(
    t: Translator, result: NetChange | None, money: Callable[[Decimal], str] | None = None
) -> tuple[str, str]:
    """The profit and % of a /profit row (`no data` and empty without a result)."""
    money = money or _full_money
    if result is None:
        return t(texts.NO_DATA), ""
    percent = "" if result.percent is None else format_percentage(result.percent)
    return money(result.change), percent


def _full_money(amount: Decimal) -> str:
    return format_money(amount, "USD", signed=True)


def _compact_money(amount: Decimal) -> str:
    text = format_money_compact(amount, "USD", 3)
    return "+" + text if amount > 0 and not text.startswith("-") else text


def _line(cells: tuple[str, str, str], widths: list[int], no_data: str) -> str:
    label, money, percent = cells
    if money == no_data:
        return f"{label.ljust(widths[0])} {money}"
    return f"{label.ljust(widths[0])} {money.rjust(widths[1])} {percent.rjust(widths[2])}"
