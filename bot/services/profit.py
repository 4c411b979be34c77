"""Profit by day, week or month in a chat's time zone, each period net of deposits.

A period runs from local midnight to local midnight (weeks from Monday, months from the 1st).
3Commas' history points are balances at their moments, so a period starts with the last balance
at or before its first midnight (or its first balance, when the history begins inside it) and
ends with the last one at or before the next midnight; the current period ends with the latest.
Its profit is `end - start - deposits in (start, end]`. Consecutive periods chain, and the total
is the sum of the rows. A period without a single balance after its start has no data: it is
never shown as 0. Today's row is the account's today (bot.services.today), from 3Commas.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.services.accounts import CredentialCache
from bot.services.chat_settings import UTC_ZONE
from bot.services.clock import Clock, SystemClock
from bot.services.errors import BadPeriod, NoHistory
from bot.services.history import (
    HUNDRED,
    BalanceSample,
    NetChange,
    fetch_samples,
    net_change,
    to_the_minute,
)
from bot.services.today import Today, today_usd
from bot.targets import Target
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
    zone: ZoneInfo
    rows: tuple[PeriodProfit, ...]  # newest first
    total: NetChange | None  # over every row with data; None when none has


def parse_grouping(text: str | None) -> str:
    if text is None or not text.strip():
        return DEFAULT_GROUPING
    word = text.strip().lower()
    grouping = _ALIASES.get(word, word)
    if grouping not in PERIOD_COUNTS:
        raise BadPeriod("period.profit")
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


def first_period_start(now: datetime, grouping: str, zone: ZoneInfo) -> datetime:
    """The first moment (UTC) of the oldest period of the table."""
    first_day = period_days(now.astimezone(zone).date(), grouping)[0][0]
    return _midnight(first_day, zone)


def profit_table(
    target: Target,
    samples: Sequence[BalanceSample],
    grouping: str,
    zone: ZoneInfo,
    now: datetime,
    today: Today | None = None,
) -> ProfitTable:
    """`today`: the account's today, for the today row of a table by days. Its times are in
    `zone`."""
    tz = zone
    samples = [replace(sample, at=sample.at.astimezone(tz)) for sample in samples]
    now = now.astimezone(tz)
    moments = [sample.at for sample in samples]
    rows: list[PeriodProfit] = []
    periods = period_days(now.date(), grouping)
    for index, (first, following) in enumerate(periods):
        current = index == len(periods) - 1
        # samples at or before each boundary; the current period runs to the latest one
        upto_start = bisect.bisect_right(moments, _midnight(first, tz))
        upto_end = (
            len(moments) if current else bisect.bisect_right(moments, _midnight(following, tz))
        )
        result = None
        if upto_end > upto_start:
            start = max(upto_start - 1, 0)
            result = net_change(samples[start], samples[start + 1 : upto_end])
        if current and grouping == "days" and today is not None:
            result = _today_change(today, _midnight(first, tz).astimezone(tz), now)
        rows.append(PeriodProfit(first, following - timedelta(days=1), current, result))
    return ProfitTable(target, grouping, zone, tuple(reversed(rows)), _chained(rows))


def _today_change(day: Today, start_at: datetime, now: datetime) -> NetChange:
    return NetChange(
        start_at=start_at,
        end_at=now,
        start_usd=day.start_balance,
        end_usd=day.balance,
        deposits=Decimal(0),
        change=day.amount,
        percent=day.percent,
    )


def _chained(rows: Sequence[PeriodProfit]) -> NetChange | None:
    """The rows with data, oldest first, as one change: their sum, of the first one's start."""
    results = [row.result for row in rows if row.result is not None]
    if not results:
        return None
    first, last = results[0], results[-1]
    change = sum((result.change for result in results), Decimal(0))
    return NetChange(
        start_at=first.start_at,
        end_at=last.end_at,
        start_usd=first.start_usd,
        end_usd=last.end_usd,
        deposits=last.end_usd - first.start_usd - change,
        change=change,
        percent=None if first.start_usd.is_zero() else change * HUNDRED / first.start_usd,
    )


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
        zone: ZoneInfo = UTC_ZONE,
    ) -> ProfitTable:
        """The last 7 days, 8 weeks or 6 months in `zone`, newest first."""
        chosen = parse_grouping(grouping)
        now = to_the_minute(self._clock.now())
        date_from = first_period_start(now, chosen, zone) - LOOKBACK
        samples = await fetch_samples(
            self._credentials, self._client, user_id, target, date_from, now
        )
        day = None
        if chosen == "days":
            credentials = await self._credentials.get(user_id)
            day = today_usd(await self._client.get_account(credentials, target))
        table = profit_table(target, samples, chosen, zone, now, day)
        if table.total is None:
            raise NoHistory
        return table


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _month_start(today: date, back: int) -> date:
    months = today.year * 12 + today.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)
