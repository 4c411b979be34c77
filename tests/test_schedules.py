"""The pure schedule functions: parsing, daily times across DST changes, interval cadence."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.schedules import (
    BadSchedule,
    BadTimezone,
    Unschedulable,
    next_daily_run,
    next_interval_run,
    next_subscription_run,
    parse_schedule,
    parse_timezone,
)
from bot.storage.records import Subscription
from bot.telegram.views.texts import error_sentence
from bot.telegram.views.translator import ENGLISH

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def daily(now: datetime, daily_time: str) -> datetime:
    """next_daily_run in Berlin, as a UTC instant (an aware datetime in a repeated hour never
    compares equal across zones, so compare instants)."""
    return next_daily_run(now, daily_time, BERLIN).astimezone(UTC)


def refusal(text: str, min_interval_seconds: int) -> str:
    """The sentence a user reads when the schedule is refused (in English)."""
    with pytest.raises(BadSchedule) as caught:
        parse_schedule(text, min_interval_seconds)
    return error_sentence(ENGLISH, caught.value)


def test_every_with_units_and_the_minimum() -> None:
    request = parse_schedule("all every 15m", 900)
    assert (request.account, request.kind, request.interval_seconds) == ("all", "interval", 900)
    assert parse_schedule("My Binance US every 2h", 900).interval_seconds == 7200
    assert parse_schedule("kraken   every 1d", 900).interval_seconds == 86400
    assert parse_schedule("all every 1s", 1).interval_seconds == 1
    assert re.search("The shortest interval is 15 min", refusal("all every 1s", 900))
    assert re.search("The shortest interval is 15 min", refusal("all every 14m", 900))


@pytest.mark.parametrize(
    "text",
    [
        "all every 9999999d",
        "all every 367d",
        "all every 8785h",
        "all every 527041m",
        "all every 31622401s",
        "all every 99999999999999999999999999999999999999999999999999d",
    ],
)
def test_an_interval_longer_than_366_days_is_refused_with_a_sentence(text: str) -> None:
    assert re.search(r"^The longest interval is 366 days\.$", refusal(text, 900))


def test_the_longest_interval_is_accepted_in_any_unit() -> None:
    for text in ("all every 366d", "all every 8784h", "all every 0000527040m"):
        assert parse_schedule(text, 900).interval_seconds == 366 * 86400


def stored(kind: str, interval: object = None, daily_time: object = None) -> Subscription:
    """A row as the database may hold it, written by an older version or by hand."""
    return Subscription(
        id=1,
        chat_id=-1,
        user_id=1,
        target="all",
        schedule_kind=kind,
        interval_seconds=interval,  # type: ignore[arg-type]
        daily_time=daily_time,  # type: ignore[arg-type]
        paused=False,
        last_error=None,
        created_at=utc(2026, 1, 1, 12, 0),
    )


@pytest.mark.parametrize(
    "subscription",
    [
        stored("interval", 9999999 * 86400),
        stored("interval", 0),
        stored("interval", -60),
        stored("interval", None),
        stored("interval", 1e30),
        stored("interval", "hourly"),
        stored("daily", None, "25:00"),
        stored("daily", None, "9:00 tomorrow"),
        stored("daily", None, None),
    ],
)
def test_a_stored_schedule_that_cannot_run_is_unschedulable(subscription: Subscription) -> None:
    with pytest.raises(Unschedulable):
        next_subscription_run(utc(2026, 6, 1, 0, 0), subscription, BERLIN)


def test_stored_schedules_run_on_their_grid() -> None:
    now = utc(2026, 6, 1, 0, 0, 30)
    assert next_subscription_run(now, stored("interval", 60), BERLIN) == utc(2026, 6, 1, 0, 1)
    assert next_subscription_run(now, stored("daily", None, "09:00"), BERLIN) == utc(
        2026, 6, 1, 7, 0
    )


def test_daily_times() -> None:
    request = parse_schedule("all daily 9:05", 900)
    assert (request.kind, request.daily_time) == ("daily", "09:05")
    assert re.search("between 00:00 and 23:59", refusal("all daily 24:00", 900))
    assert re.search("between 00:00 and 23:59", refusal("all daily 12:60", 900))


@pytest.mark.parametrize("text", ["", "all", "all every", "all every 5x", "every 5m", "all at 9"])
def test_bad_syntax_explains_the_syntax(text: str) -> None:
    assert re.search(re.escape("Write it as /subscribe <account|all> every"), refusal(text, 900))


def test_time_zones() -> None:
    assert parse_timezone("europe/berlin") == "Europe/Berlin"
    with pytest.raises(BadTimezone, match="not a time zone"):
        parse_timezone("Mars/Olympus")


def test_next_daily_run_later_today_and_tomorrow() -> None:
    # 07:59:58 Berlin (CET, UTC+1) on 2026-11-25
    now = utc(2026, 11, 25, 7, 59, 58)
    assert daily(now, "09:00") == utc(2026, 11, 25, 8, 0)
    # exactly at 09:00 Berlin: strictly after, so tomorrow
    assert daily(utc(2026, 11, 25, 8, 0), "09:00") == utc(2026, 11, 26, 8, 0)


def test_next_daily_run_across_the_spring_change() -> None:
    # 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST in Berlin.
    before = utc(2026, 3, 28, 12, 0)
    assert daily(before, "09:00") == utc(2026, 3, 29, 7, 0)  # 09:00 CEST
    assert daily(utc(2026, 3, 29, 7, 0), "09:00") == utc(2026, 3, 30, 7, 0)
    # 02:30 does not exist that day: it runs at the same offset after the jump (03:30 CEST)
    skipped = daily(utc(2026, 3, 28, 23, 0), "02:30")
    assert skipped == utc(2026, 3, 29, 1, 30)
    assert skipped.astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"
    # and the day after it is 02:30 CEST again
    assert daily(skipped, "02:30") == utc(2026, 3, 30, 0, 30)


def test_next_daily_run_across_the_autumn_change() -> None:
    # 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET; 02:30 happens twice.
    assert daily(utc(2026, 10, 24, 12, 0), "09:00") == utc(2026, 10, 25, 8, 0)
    first = daily(utc(2026, 10, 24, 23, 0), "02:30")
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, the first occurrence
    # After the first run it runs once only: not at the repeated 02:30 CET, but tomorrow.
    tomorrow = utc(2026, 10, 26, 1, 30)  # 02:30 CET
    assert daily(first, "02:30") == tomorrow
    # Between the two occurrences (02:00-02:30 CET, i.e. 01:00-01:30 UTC) the next run is
    # still tomorrow, never an instant in the past.
    for minute in (0, 10, 29):
        now = utc(2026, 10, 25, 1, minute)
        found = daily(now, "02:30")
        assert found > now, (now, found)
        assert found == tomorrow


@pytest.mark.parametrize(
    "now",
    [utc(2026, 10, 25, 0, 0) + timedelta(minutes=m) for m in range(0, 24 * 60, 13)]
    + [utc(2026, 3, 28, 12, 0) + timedelta(minutes=m) for m in range(0, 24 * 60, 13)],
)
def test_next_daily_run_is_always_in_the_future_and_within_a_day(now: datetime) -> None:
    for daily_time in ("00:00", "02:00", "02:30", "03:00", "09:00", "23:59"):
        found = daily(now, daily_time)
        assert now < found <= now + timedelta(hours=25), (now, daily_time, found)
        local = found.astimezone(BERLIN)
        hour, minute = map(int, daily_time.split(":"))
        if (local.hour, local.minute) != (hour, minute):
            # only a time skipped by the spring change may move (by the gap)
            assert local.date().isoformat() == "2026-03-29" and "02:00" <= daily_time < "03:00"
            assert (local - timedelta(hours=1)).strftime("%H:%M") == daily_time


def test_next_interval_run_keeps_the_cadence() -> None:
    anchor = utc(2026, 1, 1, 12, 0)
    assert next_interval_run(anchor, anchor, 60) == anchor + timedelta(seconds=60)
    assert next_interval_run(anchor + timedelta(seconds=1), anchor, 60) == anchor + timedelta(
        seconds=60
    )
    # exactly on the grid: strictly after
    assert next_interval_run(anchor + timedelta(seconds=120), anchor, 60) == anchor + timedelta(
        seconds=180
    )
    # a restart hours later lands on the same grid, not "now + interval"
    late = anchor + timedelta(hours=5, seconds=17)
    found = next_interval_run(late, anchor, 900)
    assert found == anchor + timedelta(hours=5, minutes=15)
    assert (found - anchor).total_seconds() % 900 == 0
    # the grid continues across a DST change (intervals are real seconds)
    dst_anchor = utc(2026, 3, 29, 0, 0)
    after = next_interval_run(utc(2026, 3, 29, 1, 59, 59), dst_anchor, 3600)
    assert after == utc(2026, 3, 29, 2, 0)
