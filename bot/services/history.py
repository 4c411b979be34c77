"""An account's balance over a period, and its change net of deposits and withdrawals.

3Commas' balance_chart_data gives the balance at moments (not necessarily evenly spaced) and
what was deposited at each (negative: withdrawn). The change over a period is
`end - start - deposits in (start, end]`: money moved in or out is not profit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.services.accounts import CredentialCache
from bot.services.chat_settings import UTC_ZONE
from bot.services.clock import Clock, SystemClock
from bot.services.errors import BadPeriod, NoHistory
from bot.targets import Target
from bot.threecommas.client import ThreeCommasClient
from bot.threecommas.models import BalancePoint

PERIOD_DAYS = {"7d": 7, "30d": 30, "90d": 90, "1y": 365}
DEFAULT_PERIOD = "30d"
MAX_SAMPLES = 2_000  # a longer history (hourly points over a year) is thinned to this many
# Moments outside these are not real balance dates; such points are skipped.
EARLIEST = datetime(2009, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class BalanceSample:
    at: datetime  # UTC
    usd: Decimal
    deposit: Decimal  # USD deposited at `at`; negative: withdrawn

    @property
    def is_withdrawal(self) -> bool:
        return self.deposit < 0


@dataclass(frozen=True)
class NetChange:
    """From one sample to a later one: the balances, the money moved, and the rest (profit)."""

    start_at: datetime
    end_at: datetime
    start_usd: Decimal
    end_usd: Decimal
    deposits: Decimal  # net: deposits minus withdrawals, in (start, end]
    change: Decimal  # end - start - deposits
    percent: Decimal | None  # of the start balance; None when it was 0


@dataclass(frozen=True)
class BalanceHistory:
    target: Target
    period: str  # "7d", "30d", "90d" or "1y"
    samples: tuple[BalanceSample, ...]  # at least one, oldest first
    transfers: tuple[BalanceSample, ...]  # samples after the first with money moved
    net: NetChange
    zone: ZoneInfo = UTC_ZONE  # the chat's: its days, for dates shown; times are in it

    @property
    def days(self) -> int:
        return PERIOD_DAYS[self.period]

    @property
    def deposited(self) -> Decimal:
        return sum((s.deposit for s in self.transfers if s.deposit > 0), Decimal(0))

    @property
    def withdrawn(self) -> Decimal:
        """Negative, or 0."""
        return sum((s.deposit for s in self.transfers if s.deposit < 0), Decimal(0))


def parse_period(text: str | None) -> str:
    if text is None or not text.strip():
        return DEFAULT_PERIOD
    period = text.strip().lower()
    if period not in PERIOD_DAYS:
        raise BadPeriod("period.chart", periods=", ".join(PERIOD_DAYS))
    return period


def net_change(start: BalanceSample, after: Sequence[BalanceSample]) -> NetChange:
    """From `start` to the last of `after` (the samples following it, in order)."""
    end = after[-1] if after else start
    deposits = sum((sample.deposit for sample in after), Decimal(0))
    change = end.usd - start.usd - deposits
    return NetChange(
        start_at=start.at,
        end_at=end.at,
        start_usd=start.usd,
        end_usd=end.usd,
        deposits=deposits,
        change=change,
        percent=None if start.usd.is_zero() else change * HUNDRED / start.usd,
    )


def samples_from(points: Sequence[BalancePoint]) -> list[BalanceSample]:
    """Oldest first; a point without a balance passes its deposit on to the next one."""
    samples: list[BalanceSample] = []
    carried = Decimal(0)
    for point in sorted(points, key=lambda p: p.date):
        at = _moment(point.date)
        if at is None:
            continue
        deposit = carried + (point.usd_deposit_amount or 0)
        if point.usd is None:
            carried = deposit
            continue
        samples.append(BalanceSample(at=at, usd=point.usd, deposit=deposit))
        carried = Decimal(0)
    return _thinned(samples, MAX_SAMPLES)


def build_history(
    target: Target, period: str, samples: Sequence[BalanceSample], zone: ZoneInfo = UTC_ZONE
) -> BalanceHistory:
    """The history, its times in `zone`."""
    if not samples:
        raise NoHistory
    samples = [replace(sample, at=sample.at.astimezone(zone)) for sample in samples]
    later = samples[1:]
    return BalanceHistory(
        target=target,
        period=period,
        samples=tuple(samples),
        transfers=tuple(sample for sample in later if sample.deposit),
        net=net_change(samples[0], later),
        zone=zone,
    )


async def fetch_samples(
    credentials_cache: CredentialCache,
    client: ThreeCommasClient,
    user_id: int,
    target: Target,
    date_from: datetime,
    date_to: datetime,
) -> list[BalanceSample]:
    """The user's balance samples of an account (or all) between two moments, oldest first."""
    credentials = await credentials_cache.get(user_id)
    points = await client.balance_chart_data(credentials, target, date_from, date_to)
    return samples_from(points)


class HistoryService:
    def __init__(
        self, credentials: CredentialCache, client: ThreeCommasClient, clock: Clock | None = None
    ) -> None:
        self._credentials = credentials
        self._client = client
        self._clock = clock or SystemClock()

    async def balance_history(
        self,
        user_id: int,
        target: Target,
        period: str | None = DEFAULT_PERIOD,
        zone: ZoneInfo = UTC_ZONE,
    ) -> BalanceHistory:
        """The balance from the start of the day `period` ago until now, days in `zone`."""
        chosen = parse_period(period)
        now = to_the_minute(self._clock.now())
        first_day = now.astimezone(zone).date() - timedelta(days=PERIOD_DAYS[chosen])
        date_from = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)
        samples = await fetch_samples(
            self._credentials, self._client, user_id, target, date_from, now
        )
        return build_history(target, chosen, samples, zone)


def to_the_minute(moment: datetime) -> datetime:
    """Whole minutes, so requests made moments apart are the same call and can be shared."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _moment(timestamp: int) -> datetime | None:
    try:
        at = datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return at if EARLIEST <= at < LATEST else None


def _thinned(samples: list[BalanceSample], limit: int) -> list[BalanceSample]:
    """At most about `limit` samples, evenly spaced, the first and the last kept; a dropped
    sample's deposit moves to the next kept one, so net changes stay exact."""
    if len(samples) <= limit:
        return samples
    step = math.ceil(len(samples) / limit)
    kept: list[BalanceSample] = []
    carried = Decimal(0)
    last = len(samples) - 1
    for index, sample in enumerate(samples):
        if index % step and index != last:
            carried += sample.deposit
            continue
        kept.append(BalanceSample(sample.at, sample.usd, sample.deposit + carried))
        carried = Decimal(0)
    return kept
