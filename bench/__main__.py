"""`make bench`: the real bot against the local stand-ins; one table, also in BENCHMARKS.md.

    python -m bench [--quick] [--only N ...] [--strict] [--output BENCHMARKS.md]

1 overhead per /refresh against a bare python-telegram-bot app that replies once (the floor)
2 500 users refreshing at once at the default 3Commas budget (15 calls/s); then with it lifted
  against 500 sequential py3cw calls, then with 10% 429s (4: peak RSS meanwhile)
3 300 group subscriptions due at once at 30 messages/s
4 idle RSS against the floor of the required libraries
5 start-up to the first poll
6 one 1y balance chart drawn to PNG
7 at scale (100,000 users, 20,000 subscriptions, 5,000 alerts): start-up, idle RSS
8 at scale: a minute in which 1,800 subscriptions fall due, with /refresh meanwhile
9 capacity: refreshes a second on one core, CPU per refresh
10 one user floods the bot (1,100 /help): how long other users wait meanwhile
11 the Mini App: its data endpoint with 100 dashboards opening at once; idle RSS, PORT unset/set
12 the deal feed at scale (20,000 deal subscriptions over 10,000 keys, DEALS_POLL_SECONDS=60):
   polls spread over the period, CPU per poll, 1,000 deals closing in a minute, /refresh
   meanwhile, idle RSS; the round at the default budget
13 the dashboard page's transfer size (headless Chromium, Debian's chromium + chromium-driver)
14 the dashboard: time until the accounts are shown (headless Chromium on loopback)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys
import tempfile
import time
from pathlib import Path

from bench import (
    capacity,
    chart,
    concurrency,
    deal_feed,
    fanout,
    flood,
    miniapp,
    miniapp_page,
    overhead,
    process,
    report,
    scale,
)
from bench.common import REPO, Row, ScalePlan

# --quick: a tenth of the scale, 180 due in the minute (6 s of posts at 30/s)
QUICK_SCALE = ScalePlan(subscriptions=2_000, chats=500, alerts=500, due=180, due_spread_seconds=6.0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts, a short run")
    parser.add_argument(
        "--only", type=int, action="append", choices=range(1, 15), help="run measurement N"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed (for CI)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "BENCHMARKS.md",
        help="where the table is written (default BENCHMARKS.md; '-' for nowhere)",
    )
    return parser


async def _run(selected: set[int], quick: bool, data: Path) -> list[Row]:
    rows: list[Row] = []

    def done(row: Row) -> None:
        rows.append(row)
        print(f"({row.number}) {row.result}  [{report._verdict(row)}]", flush=True)

    if 1 in selected:
        done(await overhead.measure(data / "overhead", 100 if quick else 500))
    if 2 in selected or 4 in selected:
        together = await concurrency.measure(data / "concurrency", 100 if quick else 500)
        for row in together:
            if row.number in selected or row.number == 2:
                done(row)
    if 3 in selected:
        done(await fanout.measure(data / "fanout", 90 if quick else 300))
    if 4 in selected:
        done(await process.idle_rss(data / "idle"))
    if 5 in selected:
        done(await process.startup(data / "startup", 3 if quick else 10))
    if 6 in selected:
        done(await chart.measure(3 if quick else 10))
    if 7 in selected or 8 in selected:
        users, plan = (10_000, QUICK_SCALE) if quick else (100_000, ScalePlan())
        for row in await scale.measure(data / "scale", users, plan):
            done(row)
    if 9 in selected:
        done(await capacity.measure(data / "capacity", 5.0 if quick else 15.0))
    if 10 in selected:
        done(await flood.measure(data / "flood", 3 if quick else 5))
    if 11 in selected:
        for row in await miniapp.measure(data / "miniapp", 3 if quick else 10):
            done(row)
    if 12 in selected:
        keys, feeds, burst = (1_000, 2_000, 100) if quick else (10_000, 20_000, 1_000)
        for row in await deal_feed.measure(data / "deal_feed", keys, feeds, burst):
            done(row)
    if 13 in selected or 14 in selected:
        for row in await miniapp_page.measure(data / "miniapp-page", 3 if quick else 10):
            if row.number in selected:
                done(row)
    return sorted(rows, key=lambda row: row.number)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    selected = set(args.only or range(1, 15))
    command = "python -m bench" + (" " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as data:
        rows = asyncio.run(_run(selected, args.quick, Path(data)))
    seconds = time.monotonic() - started
    title = "Latest run" + (" (--quick)" if args.quick else "")
    section = report.run_section(rows, command, seconds, title)
    print()
    print(section)
    if str(args.output) != "-":
        report.write(args.output, section)
        print(f"written to {args.output}")
    missed = [row.number for row in rows if row.passed is False]
    if missed:
        print(f"targets missed: {', '.join(map(str, missed))} (see BENCHMARKS.md for why)")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
