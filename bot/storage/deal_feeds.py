"""Deal feeds: a subscription row (content `deals`) and, beside it, the feed's options and its
high-water mark, so a restart neither loses a closed deal nor posts one twice."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.storage.columns import parse_time, target_column, time_text
from bot.storage.records import (
    DealFeed,
    DealFeedOptions,
    ScheduleKind,
    Subscription,
    SubscriptionContent,
)
from bot.storage.subscriptions import insert_subscription, readable_subscription
from bot.storage.worker import SqlWorker
from bot.targets import Target

logger = logging.getLogger(__name__)

# Deals remembered per feed at most (those that closed just before its mark): more than close
# within the margin on any real key; past it the oldest are forgotten first.
MAX_SEEN = 10_000

_FEEDS = (
    "SELECT subscriptions.*, deal_feeds.quiet, deal_feeds.losses, deal_feeds.mark_at, "
    "deal_feeds.seen FROM subscriptions JOIN deal_feeds "
    "ON deal_feeds.subscription_id = subscriptions.id "
)


def _seen(text: str) -> dict[int, float]:
    try:
        raw = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    seen: dict[int, float] = {}
    for key, value in raw.items():
        try:
            seen[int(key)] = float(value)
        except (TypeError, ValueError):
            continue
    return seen


def seen_text(seen: dict[int, float]) -> str:
    """The newest MAX_SEEN of them, as the column keeps them."""
    if len(seen) > MAX_SEEN:
        kept = sorted(seen.items(), key=lambda item: item[1])[-MAX_SEEN:]
        seen = dict(kept)
    return json.dumps({str(key): value for key, value in seen.items()}, separators=(",", ":"))


def _feed(row: dict[str, Any]) -> DealFeed | None:
    subscription = readable_subscription(row)
    if subscription is None:
        return None
    try:
        mark_at = parse_time(row["mark_at"])
    except (TypeError, ValueError):
        logger.warning("skipping deal feed %s: its mark cannot be read", row["id"])
        return None
    options = DealFeedOptions(quiet=bool(row["quiet"]), losses=bool(row["losses"]))
    return DealFeed(subscription, options, mark_at, _seen(row["seen"] or "{}"))


class DealFeedStore:
    def __init__(self, worker: SqlWorker) -> None:
        self._worker = worker

    async def add(
        self,
        chat_id: int,
        user_id: int,
        target: Target,
        *,
        poll_seconds: int,
        created_at: datetime,
        message_thread_id: int | None,
        options: DealFeedOptions,
    ) -> Subscription:
        """The subscription and its mark (its creation: deals closed before are never news),
        in one transaction."""
        values = [
            chat_id,
            user_id,
            target_column(target),
            ScheduleKind.INTERVAL,
            poll_seconds,
            None,
            time_text(created_at),
            message_thread_id,
            SubscriptionContent.DEALS,
        ]

        def write(db: sqlite_utils.Database) -> Subscription:
            subscription = insert_subscription(db, values)
            db.execute(
                "INSERT INTO deal_feeds (subscription_id, quiet, losses, mark_at, seen) "
                "VALUES (?, ?, ?, ?, '{}')",
                [subscription.id, int(options.quiet), int(options.losses), values[6]],
            )
            return subscription

        return await self._worker.write(write)

    async def active_for_user(self, user_id: int) -> list[DealFeed]:
        """The user's feeds that are not paused, with their marks."""

        def read(db: sqlite_utils.Database) -> list[DealFeed]:
            query = _FEEDS + "WHERE subscriptions.user_id = ? AND subscriptions.paused = 0 "
            found = (_feed(row) for row in db.query(query + "ORDER BY subscriptions.id", [user_id]))
            return [feed for feed in found if feed is not None]

        return await self._worker.read(read)

    async def options_in_chat(self, chat_id: int) -> dict[int, DealFeedOptions]:
        """The options of the chat's feeds, by subscription id (for /subscriptions)."""

        def read(db: sqlite_utils.Database) -> dict[int, DealFeedOptions]:
            query = _FEEDS + "WHERE subscriptions.chat_id = ?"
            return {
                row["id"]: DealFeedOptions(bool(row["quiet"]), bool(row["losses"]))
                for row in db.query(query, [chat_id])
            }

        return await self._worker.read(read)

    async def options(self, subscription_id: int) -> DealFeedOptions:
        def read(db: sqlite_utils.Database) -> DealFeedOptions:
            query = "SELECT quiet, losses FROM deal_feeds WHERE subscription_id = ?"
            row = db.execute(query, [subscription_id]).fetchone()
            return DealFeedOptions() if row is None else DealFeedOptions(bool(row[0]), bool(row[1]))

        return await self._worker.read(read)

    async def watched(self) -> list[tuple[int, int]]:
        """(user_id, subscription_id) of every active feed, in id order; feed rows whose
        subscription is gone are deleted on the way."""

        def write(db: sqlite_utils.Database) -> list[tuple[int, int]]:
            db.execute(
                "DELETE FROM deal_feeds WHERE subscription_id NOT IN (SELECT id FROM subscriptions)"
            )
            query = (
                "SELECT subscriptions.user_id, subscriptions.id FROM subscriptions JOIN "
                "deal_feeds ON deal_feeds.subscription_id = subscriptions.id "
                "WHERE subscriptions.paused = 0 ORDER BY subscriptions.id"
            )
            return [(int(row[0]), int(row[1])) for row in db.execute(query).fetchall()]

        return await self._worker.write(write)

    async def set_mark(
        self, subscription_id: int, mark_at: datetime, seen: dict[int, float]
    ) -> None:
        """The deals up to `mark_at`, and `seen`, were handled (posted or left out by choice)."""
        text = seen_text(seen)
        await self._worker.write(
            lambda db: db.execute(
                "UPDATE deal_feeds SET mark_at = ?, seen = ? WHERE subscription_id = ?",
                [time_text(mark_at), text, subscription_id],
            )
        )

    async def restart(self, subscription_id: int, now: datetime) -> None:
        """A paused feed subscribed again: it runs again as if made `now` (deals closed while it
        was paused are not posted)."""
        moment = time_text(now)

        def write(db: sqlite_utils.Database) -> None:
            db.execute(
                "UPDATE subscriptions SET paused = 0, last_error = NULL, created_at = ? "
                "WHERE id = ?",
                [moment, subscription_id],
            )
            db.execute(
                "UPDATE deal_feeds SET mark_at = ?, seen = '{}' WHERE subscription_id = ?",
                [moment, subscription_id],
            )

        await self._worker.write(write)

    async def pause(self, subscription_id: int, reason: str) -> bool:
        """Paused, remembering why; True when this paused it (told once)."""

        def write(db: sqlite_utils.Database) -> bool:
            cursor = db.execute(
                "UPDATE subscriptions SET paused = 1, last_error = ? WHERE id = ? AND paused = 0",
                [reason, subscription_id],
            )
            return cursor.rowcount == 1

        return await self._worker.write(write)
