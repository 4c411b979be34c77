"""Profit by day, week or month in a chat's time zone, each period net of deposits.

A period runs from local midnight to local midnight (weeks from Monday, months from the 1st).
Its profit is `end - start - deposits in (start, end]`, where `end` is the last balance in the
period and `start` the last one before it (or its first, when the history begins inside it).
So consecutive periods chain, and the total is the sum of the rows. A period without a single
balance has no data: it is never shown as 0.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.accounts import CredentialCache
from bot.services.clock import Clock, SystemClock
from bot.services.errors import BadPeriod, NoHistory
from bot.services.history import (
    BalanceSample,
    NetChange,
    fetch_samples,
    net_change,
    to_the_minute,
)
from bot.services.schedules import zone
from bot.services.targets import Target
from bot.threecommas.client import ThreeCommasClient

PERIOD_COUNTS = {"days": 7, "weeks": 8, "months": 6}
DEFAULT_GROUPING = "days"
_ALIASES = {"day": "days", "d": "days", "week": "weeks", "w": "weeks", "month": "months"}
# The table also needs the balance just before its first period.
LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class PeriodProfit:
    first_day: date  # in the chat's time zone
    last_day: date  # inclusive
    current: bool  # the period now running: its figures are "so far"
    result: NetChange | None  # None: no balance at all in the period


@dataclass(frozen=True)
class ProfitTable:
    target: Target
    grouping: str  # "days", "weeks" or "months"
    timezone: str
    rows: tuple[PeriodProfit, ...]  # newest first
    total: NetChange | None  # over every row with data; None when none has


def parse_grouping(text: str | None) -> str:
    if text is None or not text.strip():
        return DEFAULT_GROUPING
    word = text.strip().lower()
    grouping = _ALIASES.get(word, word)
    if grouping not in PERIOD_COUNTS:
        raise BadPeriod("Group the profit by days, weeks or months (days by default).")
    return grouping


def period_days(today: date, grouping: str) -> list[tuple[date, date]]:
    """(first day, first day of the next period) of the last periods up to `today`, oldest first."""
    backs = range(PERIOD_COUNTS[grouping] - 1, -2, -1)  # ... 1 period back, this one, the next
    if grouping == "days":
        firsts = [today - timedelta(days=back) for back in backs]
    elif grouping == "weeks":
        monday = today - timedelta(days=today.weekday())
        firsts = [monday - timedelta(weeks=back) for back in backs]
    else:
        firsts = [_month_start(today, back) for back in backs]
    return list(itertools.pairwise(firsts))


def first_period_start(now: datetime, grouping: str, timezone: str) -> datetime:
    """The first moment (UTC) of the oldest period of the table."""
    tz = zone(timezone)
    first_day = period_days(now.astimezone(tz).date(), grouping)[0][0]
    return _midnight(first_day, tz)


def profit_table(
    target: Target,
    samples: Sequence[BalanceSample],
    grouping: str,
    timezone: str,
    now: datetime,
) -> ProfitTable:
    tz = zone(timezone)
    moments = [sample.at for sample in samples]
    rows: list[PeriodProfit] = []
    spans: list[tuple[int, int]] = []  # (start sample, end sample + 1) of rows with data
    periods = period_days(now.astimezone(tz).date(), grouping)
    for index, (first, following) in enumerate(periods):
        inside_from = bisect.bisect_left(moments, _midnight(first, tz))
        inside_to = bisect.bisect_left(moments, _midnight(following, tz))
        result = None
        if inside_to > inside_from:
            start = max(inside_from - 1, 0)
            result = net_change(samples[start], samples[start + 1 : inside_to])
            spans.append((start, inside_to))
        current = index == len(periods) - 1
        rows.append(PeriodProfit(first, following - timedelta(days=1), current, result))
    total = None
    if spans:
        start, end = spans[0][0], spans[-1][1]
        total = net_change(samples[start], samples[start + 1 : end])
    return ProfitTable(target, grouping, timezone, tuple(reversed(rows)), total)


class ProfitService:
    def __init__(
        self, credentials: CredentialCache, client: ThreeCommasClient, clock: Clock | None = None
    ) -> None:
        self._credentials = credentials
        self._client = client
        self._clock = clock or SystemClock()

    async def profit(
        self,
        user_id: int,
        target: Target,
        grouping: str | None = DEFAULT_GROUPING,
        timezone: str = "UTC",
    ) -> ProfitTable:
        """The last 7 days, 8 weeks or 6 months in `timezone` (an IANA name), newest first."""
        chosen = parse_grouping(grouping)
        now = to_the_minute(self._clock.now())
        date_from = first_period_start(now, chosen, timezone) - LOOKBACK
        samples = await fetch_samples(
            self._credentials, self._client, user_id, target, date_from, now
        )
        table = profit_table(target, samples, chosen, timezone, now)
        if table.total is None:
            raise NoHistory
        return table


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _month_start(today: date, back: int) -> date:
    months = today.year * 12 + today.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)
