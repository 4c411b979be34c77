"""Schedules of `/subscribe`: `every <N><s|m|h|d>` or `daily HH:MM` in the chat's time zone,
then optionally what to post (`summary`, the default, `holdings`, `chart` or `profit`); or
`deals [quiet] [losses]`, a feed of the deals that close."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.services.errors import ExplainedError, ServiceError
from bot.storage.records import (
    DAILY_TIME,
    FEED_CONTENTS,
    MAX_INTERVAL_SECONDS,
    SUBSCRIPTION_CONTENTS,
    DealFeedOptions,
    Subscription,
    SubscriptionContent,
)

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# What to post: an optional last word after the schedule.
_CONTENT = r"(?:\s+(?P<content>\S+))?"
_EVERY = re.compile(
    r"^(?P<account>.+?)\s+every\s+(?P<count>\d+)\s*(?P<unit>[smhd])" + _CONTENT + "$",
    re.I | re.ASCII,
)
_DAILY = re.compile(
    r"^(?P<account>.+?)\s+daily\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})" + _CONTENT + "$",
    re.I | re.ASCII,
)
# `/subscribe <account|all> deals [quiet] [losses]`; the options in any order, each once.
FEED_OPTIONS = ("quiet", "losses")
_FEED = re.compile(
    r"^(?P<account>.+?)\s+deals(?P<options>(?:\s+(?:quiet|losses))*)$", re.I | re.ASCII
)
_FEED_WITH_OTHER_WORDS = re.compile(r"^(?P<account>.+?)\s+deals(?:\s+\S+)+$", re.I | re.ASCII)
# More digits than this is longer than the longest interval in any unit.
_COUNT_DIGITS = len(str(MAX_INTERVAL_SECONDS))


class BadSchedule(ExplainedError):
    """The schedule could not be understood; the message says how to write it."""


class BadTimezone(ServiceError):
    """`given` names no time zone."""

    def __init__(self, given: str) -> None:
        super().__init__("not a time zone")
        self.given = given


class Unschedulable(ServiceError):
    """A stored subscription whose schedule cannot be run (written by an older version or by
    hand): it is skipped, and its owner told once."""


# The last_error of a subscription whose owner was told it cannot be scheduled.
UNSCHEDULABLE = Unschedulable.__name__


@dataclass(frozen=True)
class ScheduleRequest:
    account: str
    kind: str
    interval_seconds: int | None = None
    daily_time: str | None = None
    content: SubscriptionContent = SubscriptionContent.SUMMARY
    feed: DealFeedOptions | None = None  # a deal feed's options; None: a scheduled post


def parse_content(word: str | None) -> SubscriptionContent:
    """The optional last word of /subscribe: what to post (the summary when none)."""
    if word is None:
        return SubscriptionContent.SUMMARY
    if word.lower() not in SUBSCRIPTION_CONTENTS or word.lower() in FEED_CONTENTS:
        zone_name = _zone_named(word)
        if zone_name is not None:
            raise BadSchedule("schedule.no_zone", zone=zone_name)
        raise BadSchedule("schedule.content", contents=", ".join(_SCHEDULED))
    return SubscriptionContent(word.lower())


_SCHEDULED = [content for content in SUBSCRIPTION_CONTENTS if content not in FEED_CONTENTS]


def parse_feed(text: str) -> ScheduleRequest | None:
    """`all deals quiet losses` -> a deal feed request; None when `text` names no feed."""
    if _EVERY.match(text) or _DAILY.match(text):
        return None  # a schedule (`all every 1h deals` is told that deals need no schedule)
    feed = _FEED.match(text)
    if feed is None:
        if _FEED_WITH_OTHER_WORDS.match(text):
            raise BadSchedule("feed.words")
        return None
    words = feed["options"].lower().split()
    if len(set(words)) != len(words):
        raise BadSchedule("feed.twice")
    options = DealFeedOptions(quiet="quiet" in words, losses="losses" in words)
    return ScheduleRequest(
        feed["account"], "interval", content=SubscriptionContent.DEALS, feed=options
    )


def _zone_named(word: str) -> str | None:
    """The time zone `word` names; Area/City for what looks like a misspelled one; else None."""
    try:
        return parse_timezone(word)
    except BadTimezone:
        return "Area/City" if "/" in word else None


def parse_schedule(text: str, min_interval_seconds: int) -> ScheduleRequest:
    """`binance every 15m`, `all daily 09:00 chart` -> what to subscribe to, when, and what
    to post."""
    text = " ".join(text.split())
    if (feed := parse_feed(text)) is not None:
        return feed
    if every := _EVERY.match(text):
        content = parse_content(every["content"])
        count = every["count"].lstrip("0") or "0"
        seconds = (
            int(count) * UNITS[every["unit"].lower()]
            if len(count) <= _COUNT_DIGITS
            else MAX_INTERVAL_SECONDS + 1
        )
        if seconds > MAX_INTERVAL_SECONDS:
            raise BadSchedule("schedule.longest", interval=MAX_INTERVAL_SECONDS)
        if seconds < min_interval_seconds:
            raise BadSchedule("schedule.shortest", interval=min_interval_seconds)
        return ScheduleRequest(
            every["account"], "interval", interval_seconds=seconds, content=content
        )
    if daily := _DAILY.match(text):
        content = parse_content(daily["content"])
        hour, minute = int(daily["hour"]), int(daily["minute"])
        if hour > 23 or minute > 59:
            raise BadSchedule("schedule.daily_time")
        daily_time = f"{hour:02d}:{minute:02d}"
        return ScheduleRequest(daily["account"], "daily", daily_time=daily_time, content=content)
    raise BadSchedule("schedule.usage")


def zone(name: str | None) -> ZoneInfo:
    """The chat's time zone; UTC when none is set."""
    return ZoneInfo(name or "UTC")


def parse_timezone(name: str) -> str:
    name = name.strip()
    lookup = {zone_name.casefold(): zone_name for zone_name in available_timezones()}
    found = lookup.get(name.casefold())
    if found is None:
        raise BadTimezone(name)
    try:
        ZoneInfo(found)
    except ZoneInfoNotFoundError:
        raise BadTimezone(name) from None
    return found


def next_daily_run(now: datetime, daily_time: str, timezone: ZoneInfo) -> datetime:
    """The next moment the wall clock in `timezone` shows `daily_time`, strictly after `now`.

    A time skipped by a DST change runs at the same offset after the jump; a repeated
    time runs once (at its first occurrence). Returned in UTC.
    """
    hour, minute = map(int, daily_time.split(":"))
    now_utc = now.astimezone(UTC)
    day = now_utc.astimezone(timezone).date()
    for _ in range(3):
        # fold=0: a repeated time is its first occurrence; a non-existent one takes the offset
        # before the jump, so it lands the DST gap later.
        candidate = datetime.combine(day, time(hour, minute), tzinfo=timezone).astimezone(UTC)
        # Compare instants in UTC: two datetimes with the same tzinfo compare by wall time,
        # ignoring fold, which put 02:30 CEST "after" 02:10 CET in the repeated hour.
        if candidate > now_utc:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("a daily time always occurs within three days")


def next_interval_run(now: datetime, anchor: datetime, interval_seconds: int) -> datetime:
    """The next run after `now` on the grid anchor + k * interval (so restarts keep the cadence)."""
    elapsed = (now - anchor).total_seconds()
    periods = max(1, math.floor(elapsed / interval_seconds) + 1)
    return anchor + timedelta(seconds=periods * interval_seconds)


def next_subscription_run(
    now: datetime, subscription: Subscription, timezone: ZoneInfo
) -> datetime:
    """The next run of a stored subscription; Unschedulable when its row cannot be run."""
    interval = subscription.interval_seconds
    try:
        if subscription.schedule_kind == "daily" and subscription.daily_time is not None:
            if DAILY_TIME.fullmatch(subscription.daily_time):
                return next_daily_run(now, subscription.daily_time, timezone)
        elif isinstance(interval, int) and 0 < interval <= MAX_INTERVAL_SECONDS:
            return next_interval_run(now, subscription.created_at, interval)
    except (OverflowError, ValueError):  # an anchor at the edge of the calendar
        pass
    raise Unschedulable(f"subscription {subscription.id} cannot be scheduled")
