"""/chart's data: the balance over 7d|30d|90d|1y and its change net of deposits.

Expectations are computed here from the stand-in's own history rows, independently of the
service; the service is reached through the real client over HTTP.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.services.errors import BadPeriod, NoHistory
from bot.services.history import MAX_SAMPLES, net_change, parse_period, samples_from
from bot.telegram.views.texts import error_sentence
from bot.telegram.views.translator import ENGLISH
from bot.threecommas.models import BalancePoint
from standins.threecommas_standin import HISTORY_DAYS, JsonNumber
from tests.support.services import API_KEY, ASKED_AT, NOW, TODAY, USER_ID, dec, services
from tests.support.threecommas import HMAC_CREDENTIALS


def expected_net(rows: list[dict[str, Any]]) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(start, end, deposits after the start, end - start - deposits) of raw rows."""
    start, end = dec(rows[0]["usd"]), dec(rows[-1]["usd"])
    deposits = sum((dec(row["usd_deposit_amount"]) for row in rows[1:]), Decimal(0))
    return start, end, deposits, end - start - deposits


def rows_since(rows: list[dict[str, Any]], days: int) -> list[dict[str, Any]]:
    first = datetime.combine(TODAY - timedelta(days=days), datetime.min.time(), UTC)
    return [row for row in rows if first.timestamp() <= row["date"] <= NOW.timestamp()]


@pytest.mark.parametrize(("period", "days"), [("7d", 7), ("30d", 30), ("90d", 90), ("1y", 365)])
async def test_history_figures_equal_the_stand_ins_history(
    tmp_path: Path, period: str, days: int
) -> None:
    async with services(tmp_path) as setup:
        history = await setup.history.balance_history(USER_ID, 2, period)
        rows = rows_since(setup.standin.history(API_KEY, 2, ASKED_AT), days)
    # one a day at 00:00 UTC, both ends included, and the balance at the moment asked
    assert len(history.samples) == days + 2
    assert history.samples[-1].at == ASKED_AT
    start, end, deposits, change = expected_net(rows)
    net = history.net
    assert (net.start_usd, net.end_usd, net.deposits, net.change) == (start, end, deposits, change)
    assert net.percent == change * 100 / start
    assert net.start_at == datetime.fromtimestamp(rows[0]["date"], UTC)
    moved = [(row["date"], dec(row["usd_deposit_amount"])) for row in rows[1:]]
    assert [(int(t.at.timestamp()), t.deposit) for t in history.transfers] == [
        (when, amount) for when, amount in moved if amount
    ]


async def test_history_in_tokyo_hands_out_tokyo_times(tmp_path: Path) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    async with services(tmp_path) as setup:
        history = await setup.history.balance_history(USER_ID, 2, "7d", tokyo)
    assert history.zone == tokyo
    assert history.net.start_at.tzinfo == tokyo and history.net.end_at.tzinfo == tokyo
    assert all(sample.at.tzinfo == tokyo for sample in history.samples)
    assert history.samples[-1].at == ASKED_AT  # the same moment, shown in Tokyo
    assert history.net.start_at.hour == 9  # the stand-in's daily 00:00 UTC point, in Tokyo


async def test_the_demo_has_two_deposits_and_a_withdrawal_in_a_year(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        year = await setup.history.balance_history(USER_ID, 1, "1y")
        month = await setup.history.balance_history(USER_ID, 1)  # 30d by default
        full = setup.standin.history(API_KEY, 1)
    assert len(full) == HISTORY_DAYS
    assert [t.deposit > 0 for t in year.transfers] == [True, True, False]
    assert year.deposited > 0 > year.withdrawn
    assert month.period == "30d" and len(month.transfers) == 1
    assert month.transfers[0].is_withdrawal


async def test_all_is_one_summary_call_adding_up_every_account(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        setup.standin.clear_requests()
        history = await setup.history.balance_history(USER_ID, "all", "90d")
        paths = [r.path_qs for r in setup.standin.requests]
        accounts = [rows_since(setup.standin.history(API_KEY, i, ASKED_AT), 90) for i in (1, 2, 3)]
    assert len(paths) == 1
    assert paths[0].startswith("/public/api/ver1/accounts/summary/balance_chart_data?date_from=")
    assert "date_to=2025-05-12T15%3A30%3A00%2B00%3A00" in paths[0]  # to the minute
    starts_ends = [expected_net(rows) for rows in accounts]
    assert history.net.start_usd == sum(s for s, _, _, _ in starts_ends)
    assert history.net.end_usd == sum(e for _, e, _, _ in starts_ends)
    assert history.net.change == sum(c for _, _, _, c in starts_ends)


async def test_concurrent_identical_history_calls_share_one_upstream_call(
    tmp_path: Path,
) -> None:
    since = datetime(2025, 4, 1, tzinfo=UTC)
    async with services(tmp_path) as setup:
        setup.standin.clear_requests()
        results = await asyncio.gather(
            *(
                setup.client.balance_chart_data(HMAC_CREDENTIALS, "all", since, NOW)
                for _ in range(6)
            )
        )
        assert len({len(points) for points in results}) == 1
        assert setup.standin.upstream_calls("balance_chart_data") == 1
        # a different range is a different call
        await setup.client.balance_chart_data(
            HMAC_CREDENTIALS, "all", since, NOW + timedelta(minutes=1)
        )
        assert setup.standin.upstream_calls("balance_chart_data") == 2


@pytest.mark.parametrize("text", ["2d", "week", "1y; DROP", "30"])
def test_an_unknown_period_gets_a_sentence(text: str) -> None:
    with pytest.raises(BadPeriod) as caught:
        parse_period(text)
    assert error_sentence(ENGLISH, caught.value) == (
        "The period must be one of 7d, 30d, 90d, 1y (30d by default)."
    )
    assert parse_period(None) == parse_period(" ") == "30d"
    assert parse_period("1Y") == "1y"


async def test_no_history_gets_a_sentence(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        setup.standin.set_history(API_KEY, 1, [])
        with pytest.raises(NoHistory) as caught:
            await setup.history.balance_history(USER_ID, 1, "7d")
    assert "no balance history" in error_sentence(ENGLISH, caught.value)


async def test_odd_points_are_skipped_and_their_deposits_kept(tmp_path: Path) -> None:
    day = int(datetime(2025, 5, 10, tzinfo=UTC).timestamp())
    rows = [
        {"date": day, "usd": "100", "usd_deposit_amount": 0},
        {"date": day + 3600, "usd": None, "usd_deposit_amount": "50"},  # deposit, no balance
        {"date": day + 7200, "usd": JsonNumber("1E+60"), "usd_deposit_amount": 0},  # absurd
        {"date": 99_999_999_999, "usd": "1", "usd_deposit_amount": 0},  # year 5138
        {"date": day + 86400, "usd": "155.5", "usd_deposit_amount": "-4.5"},
    ]
    async with services(tmp_path) as setup:
        setup.standin.set_history(API_KEY, 1, rows)
        history = await setup.history.balance_history(USER_ID, 1, "7d")
    assert [s.usd for s in history.samples] == [Decimal(100), Decimal("155.5")]
    assert history.net.deposits == Decimal("45.5")
    assert history.net.change == Decimal(10)
    assert history.net.percent == Decimal(10)


def test_change_percent_is_none_from_a_zero_start() -> None:
    points = [
        BalancePoint(date=1_700_000_000, usd=Decimal(0)),
        BalancePoint(date=1_700_086_400, usd=Decimal(100), usd_deposit_amount=Decimal(80)),
    ]
    samples = samples_from(points)
    net = net_change(samples[0], samples[1:])
    assert (net.change, net.percent) == (Decimal(20), None)


def test_a_long_history_is_thinned_with_net_change_exact() -> None:
    start = 1_700_000_000
    points = [
        BalancePoint(
            date=start + hour * 3600,
            usd=Decimal(1000 + hour) / 7,
            usd_deposit_amount=Decimal(hour % 97 == 0) * Decimal("12.5"),
        )
        for hour in range(9000)
    ]
    samples = samples_from(points)
    assert len(samples) <= MAX_SAMPLES + 1
    assert samples[0].at.timestamp() == start and samples[-1].at.timestamp() == start + 8999 * 3600
    thinned = net_change(samples[0], samples[1:])
    deposits = sum((p.usd_deposit_amount or Decimal(0) for p in points[1:]), Decimal(0))
    assert thinned.deposits == deposits
    assert thinned.change == (points[-1].usd or 0) - (points[0].usd or 0) - deposits
