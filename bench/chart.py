"""(6) one balance chart: a year of the demo's history drawn to PNG, as /chart 1y does."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

from bench.common import Row, median
from bot.services.history import build_history, samples_from
from bot.telegram.views.chart import WIDTH_PX, balance_chart_png
from bot.telegram.views.render_history import axis_dates
from bot.telegram.views.translator import ENGLISH
from bot.threecommas.models import BalancePoint
from standins.demo import demo_accounts
from standins.threecommas_standin import demo_history

TARGET_SECONDS = 1.0


async def measure(runs: int) -> Row:
    account = max(demo_accounts(), key=lambda a: Decimal(a["usd_amount"]))
    rows = demo_history(account["id"], Decimal(account["usd_amount"]), datetime.now(UTC).date())
    points = [BalancePoint.model_validate(row) for row in rows[-366:]]
    history = build_history(account["id"], "1y", samples_from(points))
    cold_import = "matplotlib" not in sys.modules
    timings = []
    size = 0
    for _ in range(runs + 1):
        started = time.perf_counter()
        size = len(await balance_chart_png(history, axis_dates(ENGLISH)))
        timings.append(time.perf_counter() - started)
    first, warm = timings[0], timings[1:]
    slowest = max(timings)
    importing = " (importing matplotlib)" if cold_import else ""
    return Row(
        6,
        f"Chart: /chart 1y, {len(history.samples)} daily points and {len(history.transfers)} "
        f"deposits/withdrawals drawn to a {WIDTH_PX} px PNG in a worker thread",
        f"first{importing} {first:.2f} s; then median {median(warm):.3f} s, max "
        f"{max(warm):.3f} s of {runs}; {size / 1024:.0f} KB",
        f"< {TARGET_SECONDS:.0f} s each",
        slowest < TARGET_SECONDS,
    )
