"""The balance chart as a PNG, drawn with matplotlib's Agg renderer.

matplotlib is imported when the first chart is drawn, never at start-up, so the bot starts as
fast and idles as small as without charts. Drawing runs in a thread of its own, off the event
loop and out of the loop's default pool, whose threads aiohttp needs for name lookups: charts
waiting their turn wait on the event loop, never in a thread. Past MAX_TRANSFER_MARKERS,
transfers close together share one marker showing their net; each kind is drawn in one call.

One palette serves both Telegram themes: an opaque dark slate card (Telegram turns photos into
JPEG, so a transparent background would go black or white anyway) with light text, a blue
balance line, green deposits and orange withdrawals. It reads as a card on a light chat
background and blends in on a dark one.
"""

from __future__ import annotations

import asyncio
import io
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.services.history import BalanceHistory, BalanceSample
from bot.telegram.views.numbers import format_money_compact

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_PX = 1000
HEIGHT_PX = 600
DPI = 100
DAY_SECONDS = 86_400
SHORTEST_SPAN_DAYS = 4
SHORT_PADDING_DAYS = 0.75
BACKGROUND = "#1f2633"
GRID = "#3a4556"
TEXT = "#d5dce6"
MUTED = "#9aa6b6"
LINE = "#4fb3f6"
DEPOSIT = "#5cc46b"
WITHDRAWAL = "#ff9f43"
LABELLED_TRANSFERS = 4  # more labels on top would overlap
LABEL_GAP = 0.15  # of the time span, between two labelled transfers
FONT_SIZE = 21  # points at 100 dpi: readable when a phone shows the image ~360 px wide
# A marker is about 22 px wide on a plot about 830 px wide: more would overlap.
MAX_TRANSFER_MARKERS = 30
# A date of the date axis as words, in the chat's language: `4 Dec`, or `Dec 2026` when long.
DateLabel = Callable[[date, bool], str]

# matplotlib's state (fonts, caches) is not meant for several threads drawing at once.
_drawing = threading.Lock()
_drawing_thread: ThreadPoolExecutor | None = None
# charts waiting for the drawing thread, per event loop (tests run several loops)
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def balance_chart_png(history: BalanceHistory, date_label: DateLabel) -> bytes:
    """The chart of `history` as PNG bytes, drawn in the drawing thread, one chart at a time;
    `date_label` words the date axis in the chat's language."""
    global _drawing_thread
    loop = asyncio.get_running_loop()
    turn = _turns.setdefault(loop, asyncio.Lock())
    async with turn:
        if _drawing_thread is None:
            _drawing_thread = ThreadPoolExecutor(1, thread_name_prefix="chart")
        return await loop.run_in_executor(_drawing_thread, draw_balance_chart, history, date_label)


def draw_balance_chart(history: BalanceHistory, date_label: DateLabel) -> bytes:
    with _drawing:
        return _draw(history, date_label)


def _draw(history: BalanceHistory, date_label: DateLabel) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _style(axes)
    moments = [_x(sample.at) for sample in history.samples]
    balances = [float(sample.usd) for sample in history.samples]  # pixels, not money
    axes.plot(moments, balances, color=LINE, linewidth=3.2, solid_joinstyle="round", zorder=3)
    axes.fill_between(moments, balances, min(balances), color=LINE, alpha=0.12, zorder=2)
    _mark_transfers(axes, history.transfers)
    _label_ends(axes, history.samples)
    _date_axis(axes, moments, history.zone, date_label)
    _money_axis(axes)
    figure.subplots_adjust(left=0.12, right=0.95, top=0.88, bottom=0.13)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=BACKGROUND, metadata={"Software": None})
    return buffer.getvalue()


def _style(axes: Axes) -> None:
    axes.set_facecolor(BACKGROUND)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(GRID)
    axes.grid(axis="y", color=GRID, linewidth=1.0)
    axes.tick_params(colors=MUTED, labelsize=FONT_SIZE, length=0, pad=8)
    axes.margins(x=0.02, y=0.12)


def _mark_transfers(axes: Axes, transfers: Sequence[BalanceSample]) -> None:
    """A marker for each transfer, or for each group of nearby ones; the largest few also get
    a line and their amount on top."""
    marks = _merged(transfers)
    for withdrawal, color, marker in ((False, DEPOSIT, "^"), (True, WITHDRAWAL, "v")):
        shown = [mark for mark in marks if mark.is_withdrawal == withdrawal]
        if not shown:
            continue
        axes.scatter(
            [_x(mark.at) for mark in shown],
            [float(mark.usd) for mark in shown],
            marker=marker,
            s=260,
            color=color,
            edgecolors=BACKGROUND,
            linewidths=1.5,
            zorder=4,
        )
    for mark in _spaced_out(marks):
        color = WITHDRAWAL if mark.is_withdrawal else DEPOSIT
        axes.axvline(_x(mark.at), color=color, linewidth=1.6, linestyle=(0, (4, 3)), zorder=1)
        sign = "" if mark.is_withdrawal else "+"
        axes.annotate(
            sign + format_money_compact(mark.deposit),
            (_x(mark.at), 1.0),
            xycoords=axes.get_xaxis_transform(),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            color=color,
            fontsize=FONT_SIZE - 1,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": BACKGROUND, "edgecolor": "none"},
            zorder=5,
        )


def _merged(transfers: Sequence[BalanceSample]) -> list[BalanceSample]:
    """Transfers as markers: past MAX_TRANSFER_MARKERS, the time span is cut into that many
    stretches, each with one marker for the net of its transfers, sitting on its largest
    transfer (a point of the balance line)."""
    if len(transfers) <= MAX_TRANSFER_MARKERS:
        return list(transfers)
    first, last = _x(transfers[0].at), _x(transfers[-1].at)
    width = (last - first) / MAX_TRANSFER_MARKERS or 1.0
    stretches: dict[int, list[BalanceSample]] = {}
    for sample in transfers:
        stretch = min(int((_x(sample.at) - first) / width), MAX_TRANSFER_MARKERS - 1)
        stretches.setdefault(stretch, []).append(sample)
    marks = []
    for group in stretches.values():
        largest = max(group, key=lambda sample: abs(sample.deposit))
        net = sum((sample.deposit for sample in group), Decimal(0))
        marks.append(BalanceSample(largest.at, largest.usd, net))
    return marks


def _spaced_out(transfers: Sequence[BalanceSample]) -> list[BalanceSample]:
    """The largest transfers, at most LABELLED_TRANSFERS, far enough apart for their labels."""
    if not transfers:
        return []
    gap = (_x(transfers[-1].at) - _x(transfers[0].at)) * LABEL_GAP
    chosen: list[BalanceSample] = []
    for sample in sorted(transfers, key=lambda transfer: -abs(transfer.deposit)):
        if all(abs(_x(sample.at) - _x(other.at)) >= gap for other in chosen):
            chosen.append(sample)
        if len(chosen) == LABELLED_TRANSFERS:
            break
    return chosen


def _label_ends(axes: Axes, samples: Sequence[BalanceSample]) -> None:
    last = samples[-1]
    axes.scatter([_x(last.at)], [float(last.usd)], s=90, color=LINE, zorder=4)


def _date_axis(axes: Axes, moments: Sequence[float], tz: ZoneInfo, date_label: DateLabel) -> None:
    from matplotlib.dates import AutoDateLocator, DayLocator
    from matplotlib.ticker import FuncFormatter

    span = moments[-1] - moments[0]
    long = span > 200
    if span < SHORTEST_SPAN_DAYS:  # a few days at most: one tick a day, none on the edges
        axes.set_xlim(moments[0] - SHORT_PADDING_DAYS, moments[-1] + SHORT_PADDING_DAYS)
        axes.xaxis.set_major_locator(DayLocator())  # type: ignore[no-untyped-call]
    else:
        axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=5))  # type: ignore[no-untyped-call]

    def label(value: float, _position: Any) -> str:
        moment = datetime.fromtimestamp(value * DAY_SECONDS, UTC).astimezone(tz)
        return date_label(moment.date(), long)

    axes.xaxis.set_major_formatter(FuncFormatter(label))


def _x(moment: datetime) -> float:
    """matplotlib's date number: days since 1970-01-01 UTC."""
    return moment.timestamp() / DAY_SECONDS


def _money_axis(axes: Axes) -> None:
    from matplotlib.ticker import Formatter, MaxNLocator

    class CompactMoney(Formatter):
        """`$25k`, `$25.5k`: the fewest digits that show every tick of the axis exactly."""

        def __call__(self, x: float, pos: int | None = None) -> str:
            return self.format_ticks([x])[0]

        def format_ticks(self, values: Sequence[float]) -> list[str]:
            amounts = [Decimal(repr(float(value))) for value in values]
            for significant in range(2, 8):
                labels = [format_money_compact(a, "USD", significant) for a in amounts]
                # exact when more digits would not change a label
                more = [format_money_compact(a, "USD", significant + 4) for a in amounts]
                if labels == more:
                    break
            return labels

    axes.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10], min_n_ticks=3))
    axes.yaxis.set_major_formatter(CompactMoney())
