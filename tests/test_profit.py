"""/profit: days, weeks and months in the chat's time zone, each net of deposits.

The first tests use figures worked out by hand; the service test computes its expectations
from the stand-in's raw rows with its own loop.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.services.errors import BadPeriod, NoHistory
from bot.services.history import BalanceSample
from bot.services.profit import ProfitTable, parse_grouping, period_days, profit_table
from bot.telegram.views.render_history import WIDTH, render_profit
from bot.telegram.views.texts import error_sentence
from bot.telegram.views.translator import ENGLISH
from standins.botapi import parse_telegram_html
from standins.threecommas_standin import SEED_ACCOUNT
from tests.support.services import API_KEY, ASKED_AT, NOW, USER_ID, dec, services

NEW_YORK = ZoneInfo("America/New_York")  # UTC-4 in May


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 5, day, hour, minute, tzinfo=UTC)


def sample(moment: datetime, usd: str, deposit: str = "0") -> BalanceSample:
    return BalanceSample(moment, Decimal(usd), Decimal(deposit))


# Times in UTC; the New York day of each in the comment.
HAND_SAMPLES = [
    sample(at(5, 12), "1000"),  # Mon 5 May: before the table
    sample(at(6, 2), "1010"),  # Mon 5 May 22:00 (6 May in UTC!)
    sample(at(6, 12), "1020"),  # Tue 6 May
    sample(at(7, 12), "1500", "500"),  # Wed 7 May: a deposit of 500
    # Thu 8 May: nothing
    sample(at(9, 12), "1530"),  # Fri 9 May
    sample(at(10, 12), "1200", "-400"),  # Sat 10 May: a withdrawal of 400
    sample(at(11, 12), "1190"),  # Sun 11 May
    sample(at(12, 3, 59), "1195"),  # Sun 11 May 23:59
    sample(at(12, 12), "1300", "100"),  # Mon 12 May (today): a deposit of 100
]


def figures(table: ProfitTable) -> list[tuple[date, Decimal | None, Decimal | None]]:
    return [
        (row.first_day, *((row.result.change, row.result.percent) if row.result else (None, None)))
        for row in table.rows
    ]


def test_days_in_new_york_by_hand() -> None:
    table = profit_table(1, HAND_SAMPLES, "days", NEW_YORK, NOW)
    d = Decimal
    assert figures(table) == [
        (date(2025, 5, 12), d(5), d(5) * 100 / d(1195)),  # 1300 - 1195 - 100
        (date(2025, 5, 11), d(-5), d(-5) * 100 / d(1200)),  # 1195 - 1200
        (date(2025, 5, 10), d(70), d(70) * 100 / d(1530)),  # 1200 - 1530 + 400
        (date(2025, 5, 9), d(30), d(30) * 100 / d(1500)),  # 1530 - 1500
        (date(2025, 5, 8), None, None),  # no balance that day: no data, not 0
        (date(2025, 5, 7), d(-20), d(-20) * 100 / d(1020)),  # 1500 - 1020 - 500
        (date(2025, 5, 6), d(10), d(10) * 100 / d(1010)),  # 1020 - 1010 (5 May 22:00)
    ]
    assert table.rows[0].current and not table.rows[1].current
    assert table.total is not None
    assert table.total.change == d(90)  # 1300 - 1010 - (500 - 400 + 100): the rows' sum
    assert table.total.deposits == d(200)
    assert table.total.percent == d(90) * 100 / d(1010)


def test_profit_in_new_york_hands_out_new_york_times() -> None:
    table = profit_table(1, HAND_SAMPLES, "days", NEW_YORK, NOW)
    assert table.zone == NEW_YORK
    changes = [row.result for row in table.rows if row.result is not None]
    assert table.total is not None
    changes.append(table.total)
    assert all(c.start_at.tzinfo == NEW_YORK and c.end_at.tzinfo == NEW_YORK for c in changes)
    # 6 May's change starts at the balance of 5 May 22:00 New York, 6 May 02:00 UTC
    assert table.rows[-1].result is not None
    assert table.rows[-1].result.start_at.strftime("%d %H:%M") == "05 22:00"
    assert table.rows[-1].result.start_at == datetime(2025, 5, 6, 2, tzinfo=UTC)


def test_the_same_samples_in_utc_give_other_days() -> None:
    table = profit_table(1, HAND_SAMPLES, "days", ZoneInfo("UTC"), NOW)
    by_day = {row.first_day: row.result for row in table.rows}
    # In UTC the 02:00 sample belongs to 6 May, which then starts from 5 May 12:00.
    assert by_day[date(2025, 5, 6)] is not None
    assert by_day[date(2025, 5, 6)].change == Decimal(20)  # 1020 - 1000
    assert by_day[date(2025, 5, 12)] is not None
    assert by_day[date(2025, 5, 12)].change == Decimal(10)  # 1300 - 1190 - 100 (03:59 too)


def test_weeks_start_on_monday_in_the_chats_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")  # UTC+9
    samples = [
        sample(datetime(2025, 4, 27, 10, tzinfo=UTC), "100"),  # Sun 27 Apr 19:00 Tokyo
        sample(datetime(2025, 5, 4, 14, 59, tzinfo=UTC), "110"),  # Sun 4 May 23:59 Tokyo
        sample(datetime(2025, 5, 4, 15, 0, tzinfo=UTC), "150", "30"),  # Mon 5 May 00:00 Tokyo
        sample(datetime(2025, 5, 12, 1, tzinfo=UTC), "160"),  # Mon 12 May 10:00 Tokyo
    ]
    table = profit_table(1, samples, "weeks", tokyo, NOW)
    assert len(table.rows) == 8
    assert all(row.first_day.weekday() == 0 for row in table.rows)
    assert all(row.last_day - row.first_day == timedelta(days=6) for row in table.rows)
    # A balance stamped at Monday 00:00 is the balance at that moment: it ends the week before
    # and starts its own, as 3Commas' daily points at 00:00 do.
    assert figures(table)[:4] == [
        (date(2025, 5, 12), Decimal(10), Decimal(10) * 100 / Decimal(150)),  # 160 - 150
        (date(2025, 5, 5), None, None),  # no balance after Monday 00:00 in it
        (date(2025, 4, 28), Decimal(20), Decimal(20)),  # 150 - 100 - 30
        (date(2025, 4, 21), Decimal(0), Decimal(0)),  # history starts in it: 100 - 100
    ]
    assert [r.result for r in table.rows[4:]] == [None] * 4


def test_months_follow_the_zone_and_count_six() -> None:
    sydney = ZoneInfo("Australia/Sydney")  # UTC+10 in May
    samples = [
        sample(datetime(2025, 3, 31, 13, 30, tzinfo=UTC), "200"),  # 1 Apr 00:30 Sydney (AEDT)
        sample(datetime(2025, 4, 30, 14, 30, tzinfo=UTC), "260", "50"),  # 1 May 00:30 Sydney
    ]
    table = profit_table(1, samples, "months", sydney, NOW)
    assert [row.first_day for row in table.rows] == [
        date(2025, 5, 1),
        date(2025, 4, 1),
        date(2025, 3, 1),
        date(2025, 2, 1),
        date(2025, 1, 1),
        date(2024, 12, 1),
    ]
    assert table.rows[1].last_day == date(2025, 4, 30)
    assert figures(table)[:3] == [
        (date(2025, 5, 1), Decimal(10), Decimal(5)),  # 260 - 200 - 50
        (date(2025, 4, 1), Decimal(0), Decimal(0)),
        (date(2025, 3, 1), None, None),
    ]


def test_days_across_a_daylight_saving_change_are_local_days() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # 30 March 2025 has 23 hours
    days = period_days(date(2025, 4, 2), "days")
    assert days[2] == (date(2025, 3, 29), date(2025, 3, 30))
    starts = [datetime.combine(first, time(0), berlin).astimezone(UTC) for first, _ in days]
    assert starts[3] - starts[2] == timedelta(hours=24)
    assert starts[4] - starts[3] == timedelta(hours=23)


@pytest.mark.parametrize(
    ("text", "grouping"), [(None, "days"), ("Weeks", "weeks"), ("month", "months"), ("d", "days")]
)
def test_groupings(text: str | None, grouping: str) -> None:
    assert parse_grouping(text) == grouping


def test_an_unknown_grouping_gets_a_sentence() -> None:
    with pytest.raises(BadPeriod) as caught:
        parse_grouping("years")
    assert (
        error_sentence(ENGLISH, caught.value)
        == "Group the profit by days, weeks or months (days by default)."
    )


# -- through the client, against the stand-in ---------------------------------------------


def independent_days(rows: list[dict[str, Any]], zone: str, today: date) -> list[Decimal | None]:
    """Each of the last 7 local days, newest first: end - start - deposits, by a plain loop.

    A row is the balance at its moment: a day starts with the last row at or before its first
    midnight and ends with the last one at or before the next."""
    tz = ZoneInfo(zone)
    results: list[Decimal | None] = []
    for back in range(7):
        day = today - timedelta(days=back)
        begin = datetime.combine(day, time(0), tz).timestamp()
        finish = datetime.combine(day + timedelta(days=1), time(0), tz).timestamp()
        inside = [r for r in rows if begin < r["date"] <= finish]
        if not inside:
            results.append(None)
            continue
        before = [r for r in rows if r["date"] <= begin]
        start = before[-1] if before else inside[0]
        moved = sum(
            (
                dec(r["usd_deposit_amount"])
                for r in rows
                if start["date"] < r["date"] <= inside[-1]["date"]
            ),
            Decimal(0),
        )
        results.append(dec(inside[-1]["usd"]) - dec(start["usd"]) - moved)
    return results


async def test_profit_rows_equal_an_independent_computation_in_berlin(tmp_path: Path) -> None:
    zone = "Europe/Berlin"
    berlin = ZoneInfo(zone)
    # Twice a day at 11:00 and 23:30 Berlin time, a deposit on 9 May, nothing on 7 May.
    rows: list[dict[str, Any]] = []
    usd = Decimal("5000.00")
    for back in range(12, -1, -1):
        day = date(2025, 5, 12) - timedelta(days=back)
        for hour, minute in ((11, 0), (23, 30)):
            moment = datetime.combine(day, time(hour, minute), berlin)
            if moment > NOW or day == date(2025, 5, 7):
                continue
            deposit = Decimal("750.00") if (day, hour) == (date(2025, 5, 9), 11) else Decimal(0)
            usd = usd + deposit + Decimal(back * 7 - 40 + hour) / 4
            rows.append(
                {
                    "date": int(moment.timestamp()),
                    "usd": str(usd),
                    "usd_deposit_amount": str(deposit),
                }
            )
    async with services(tmp_path) as setup:
        setup.standin.set_history(API_KEY, 2, rows)
        table = await setup.profit.profit(USER_ID, 2, "days", berlin)
    expected = independent_days(rows, zone, date(2025, 5, 12))
    # Today is the account's today (3Commas' day profit); the days before are the chat's.
    expected[0] = dec(SEED_ACCOUNT["day_profit_usd"])  # every account of the stand-in's
    assert [row.result.change if row.result else None for row in table.rows] == expected
    assert expected[5] is None  # 7 May: no data
    nine = table.rows[3]
    assert nine.first_day == date(2025, 5, 9) and nine.result is not None
    assert nine.result.deposits == Decimal("750.00")
    assert table.total is not None
    # the rows' sum, oldest first (Decimal rounds 49 digits of 3Commas' figure as it adds)
    assert table.total.change == sum(e for e in reversed(expected) if e is not None)


def midnight_utc(day: int) -> int:
    return int(datetime(2025, 5, day, tzinfo=UTC).timestamp())


async def test_a_point_at_midnight_ends_the_day_before_so_days_are_not_shifted(
    tmp_path: Path,
) -> None:
    # As 3Commas stamps them: the balance at 00:00 UTC each day, and at the moment asked.
    rows = [
        {"date": midnight_utc(9), "usd": "1000", "usd_deposit_amount": "0"},
        {"date": midnight_utc(10), "usd": "1100", "usd_deposit_amount": "0"},
        {"date": midnight_utc(11), "usd": "1150", "usd_deposit_amount": "0"},
        {"date": midnight_utc(12), "usd": "1180", "usd_deposit_amount": "0"},
        {"date": int(ASKED_AT.timestamp()), "usd": "1200", "usd_deposit_amount": "0"},
    ]
    async with services(tmp_path) as setup:
        setup.standin.set_history(API_KEY, 2, rows)
        table = await setup.profit.profit(USER_ID, 2, "days", ZoneInfo("UTC"))
    by_day = {row.first_day: row.result.change for row in table.rows if row.result}
    assert by_day[date(2025, 5, 11)] == Decimal(30)  # 1180 at 12 May 00:00 - 1150
    assert by_day[date(2025, 5, 10)] == Decimal(50)  # 1150 - 1100
    assert by_day[date(2025, 5, 9)] == Decimal(100)  # 1100 - 1000


async def test_this_week_in_los_angeles_ends_with_the_balance_at_the_moment_asked(
    tmp_path: Path,
) -> None:
    # Monday 12 May began at 07:00 UTC in Los Angeles; the demo's last 00:00 point is before it.
    async with services(tmp_path) as setup:
        table = await setup.profit.profit(USER_ID, 2, "weeks", ZoneInfo("America/Los_Angeles"))
        rows = setup.standin.history(API_KEY, 2, ASKED_AT)
    this_week = table.rows[0].result
    assert this_week is not None, "this week has no data"
    assert this_week.end_usd == dec(SEED_ACCOUNT["usd_amount"]).quantize(Decimal("0.01"))
    assert this_week.start_usd == dec(rows[-2]["usd"])  # 12 May 00:00 UTC: 11 May 17:00 there
    assert this_week.end_at == ASKED_AT


async def test_all_is_one_summary_call(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        setup.standin.clear_requests()
        table = await setup.profit.profit(USER_ID, "all", "months", ZoneInfo("Asia/Kolkata"))
        assert setup.standin.upstream_calls("/accounts/summary/balance_chart_data") == 1
        assert len(setup.standin.requests) == 1
        setup.standin.clear_requests()
        await setup.profit.profit(USER_ID, "all", "days", ZoneInfo("Asia/Kolkata"))
        # by days, today's row needs the summary account (3Commas' day profit): one call more
        assert [r.path_qs.split("?")[0] for r in setup.standin.requests] == [
            "/public/api/ver1/accounts/summary/balance_chart_data",
            "/public/api/ver1/accounts/summary",
        ]
    assert len(table.rows) == 6 and table.total is not None


async def test_no_history_at_all_gets_a_sentence(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        setup.standin.set_history(API_KEY, 1, [])
        with pytest.raises(NoHistory):
            await setup.profit.profit(USER_ID, 1, "weeks", ZoneInfo("UTC"))


# -- rendering -----------------------------------------------------------------------------


def test_the_table_shows_no_data_a_total_and_fits_a_phone() -> None:
    table = profit_table(1, HAND_SAMPLES, "days", NEW_YORK, NOW)
    text = render_profit(ENGLISH, table, "<b>Main</b>", "Binance")
    plain = parse_telegram_html(text).plain
    assert "<b>Main</b>" in plain
    lines = plain[plain.index("\nDay ") :].strip().split("\n")
    assert max(len(line) for line in lines) <= WIDTH
    assert lines[1].split() == ["Today", "+$5.00", "+0.42%"]
    assert lines[5].split() == ["Thu", "8", "May", "no", "data"]
    assert lines[-1].split() == ["Total", "+$90.00", "+8.91%"]
    assert "America/New_York" in plain


def test_weeks_say_they_run_from_monday_and_whales_still_fit() -> None:
    samples = [
        sample(datetime(2025, 4, 1, tzinfo=UTC), "123456789.12"),
        sample(datetime(2025, 5, 5, 12, tzinfo=UTC), "987654321.98"),
        sample(datetime(2025, 5, 12, 12, tzinfo=UTC), "1.5"),
    ]
    table = profit_table(1, samples, "weeks", ZoneInfo("Europe/Berlin"), NOW)
    plain = parse_telegram_html(render_profit(ENGLISH, table, "Whale")).plain
    assert "Weeks (Monday to Sunday) in Europe/Berlin" in plain
    lines = plain[plain.index("\nWeek ") :].strip().split("\n")
    assert max(len(line) for line in lines) <= WIDTH
    assert "This week" in plain and "5–11 May" in plain and "28 Apr–4 May" in plain
