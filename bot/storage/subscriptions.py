"""Scheduled account summaries posted to a chat, on an interval or daily at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.storage.chats import ChatSettingsStore
from bot.storage.columns import now_text, parse_target, parse_time, target_column, time_text
from bot.storage.records import (
    DAILY_TIME,
    MAX_INTERVAL_SECONDS,
    SCHEDULE_KINDS,
    SUBSCRIPTION_CONTENTS,
    ScheduleKind,
    Subscription,
    SubscriptionContent,
)
from bot.storage.schema import next_entry_id
from bot.storage.worker import SqlWorker
from bot.targets import Target

logger = logging.getLogger(__name__)


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        target=parse_target(row["account_id"]),
        schedule_kind=ScheduleKind(row["schedule_kind"]),
        interval_seconds=row["interval_seconds"],
        daily_time=row["daily_time"],
        paused=bool(row["paused"]),
        last_error=row["last_error"],
        created_at=parse_time(row["created_at"]),
        message_thread_id=row["message_thread_id"],
        content=SubscriptionContent(row["content"]),
    )


def readable_subscription(row: dict[str, Any]) -> Subscription | None:
    """The row's subscription; one that cannot be read is logged and left out (None), so it
    never stops the rest."""
    try:
        return _subscription(row)
    except (TypeError, ValueError) as error:
        logger.warning("skipping unreadable subscription %s: %s", row["id"], error)
        return None


def _select(db: sqlite_utils.Database, where: str, params: list[Any]) -> list[Subscription]:
    """Matching rows, the unreadable left out."""
    query = f"SELECT * FROM subscriptions WHERE {where} ORDER BY id"  # noqa: S608
    found = (readable_subscription(row) for row in db.query(query, params))
    return [subscription for subscription in found if subscription is not None]


# Every active subscription with its chat's time zone (NULL when the chat has none set).
_ACTIVE_WITH_TIMEZONE = (
    "SELECT subscriptions.*, chat_settings.timezone AS chat_timezone FROM subscriptions "
    "LEFT JOIN chat_settings ON chat_settings.chat_id = subscriptions.chat_id "
    "WHERE subscriptions.paused = 0 ORDER BY subscriptions.id"
)


def _check_schedule(
    schedule_kind: str, interval_seconds: int | None, daily_time: str | None
) -> None:
    if schedule_kind not in SCHEDULE_KINDS:
        raise ValueError(f"schedule_kind must be one of {SCHEDULE_KINDS}")
    if schedule_kind == "interval" and (
        interval_seconds is None or not 0 < interval_seconds <= MAX_INTERVAL_SECONDS
    ):
        raise ValueError(f"an interval needs 0 < interval_seconds <= {MAX_INTERVAL_SECONDS}")
    if schedule_kind == "daily" and (daily_time is None or not DAILY_TIME.fullmatch(daily_time)):
        raise ValueError("a daily subscription needs daily_time as HH:MM")


def insert_subscription(db: sqlite_utils.Database, values: list[Any]) -> Subscription:
    """A new row: (chat_id, user_id, account_id, schedule_kind, interval_seconds, daily_time,
    created_at, message_thread_id, content), under a new entry id."""
    entry_id = next_entry_id(db)
    db.execute(
        "INSERT INTO subscriptions (id, chat_id, user_id, account_id, "
        "schedule_kind, interval_seconds, daily_time, created_at, "
        "message_thread_id, content, paused, last_error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL)",
        [entry_id, *values],
    )
    return _select(db, "id = ?", [entry_id])[0]


class SubscriptionStore:
    def __init__(self, worker: SqlWorker, chats: ChatSettingsStore) -> None:
        self._worker = worker
        self._chats = chats

    async def add(
        self,
        chat_id: int,
        user_id: int,
        target: Target,
        schedule_kind: str,
        interval_seconds: int | None,
        daily_time: str | None,
        *,
        created_at: datetime | None = None,
        message_thread_id: int | None = None,
        content: str = SubscriptionContent.SUMMARY,
    ) -> Subscription:
        """`created_at` anchors an interval's grid; pass the scheduler's clock (default: now)."""
        _check_schedule(schedule_kind, interval_seconds, daily_time)
        if content not in SUBSCRIPTION_CONTENTS:
            raise ValueError(f"content must be one of {SUBSCRIPTION_CONTENTS}")
        now = now_text() if created_at is None else time_text(created_at)
        account_id = target_column(target)

        def write(db: sqlite_utils.Database) -> Subscription:
            return insert_subscription(
                db,
                [
                    chat_id,
                    user_id,
                    account_id,
                    schedule_kind,
                    interval_seconds,
                    daily_time,
                    now,
                    message_thread_id,
                    content,
                ],
            )

        return await self._worker.write(write)

    async def get(self, id: int) -> Subscription | None:
        found = await self._worker.read(lambda db: _select(db, "id = ?", [id]))
        return found[0] if found else None

    async def list_for_chat(self, chat_id: int) -> list[Subscription]:
        return await self._worker.read(lambda db: _select(db, "chat_id = ?", [chat_id]))

    async def list_for_user(self, user_id: int) -> list[Subscription]:
        return await self._worker.read(lambda db: _select(db, "user_id = ?", [user_id]))

    async def list_active(self) -> list[Subscription]:
        return await self._worker.read(lambda db: _select(db, "paused = 0", []))

    async def visit_active(self, visit: Callable[[Subscription, str | None], None]) -> None:
        """Hand every active subscription and its chat's time zone (None: not set) to `visit`
        as it is read, in one query: start-up never holds every row at once.

        `visit` runs on the database thread.
        """

        def read(db: sqlite_utils.Database) -> None:
            for row in db.query(_ACTIVE_WITH_TIMEZONE):
                subscription = readable_subscription(row)
                if subscription is not None:
                    visit(subscription, row["chat_timezone"])

        await self._worker.read(read)

    async def count_for_user(self, user_id: int) -> int:
        def read(db: sqlite_utils.Database) -> int:
            query = "SELECT COUNT(*) FROM subscriptions WHERE user_id = ?"
            return int(db.execute(query, [user_id]).fetchone()[0])

        return await self._worker.read(read)

    async def delete(self, id: int) -> None:
        await self._worker.write(
            lambda db: db.execute("DELETE FROM subscriptions WHERE id = ?", [id])
        )

    async def set_paused(self, id: int, paused: bool) -> None:
        await self._worker.write(
            lambda db: db.execute(
                "UPDATE subscriptions SET paused = ? WHERE id = ?", [int(paused), id]
            )
        )

    async def set_last_error(self, id: int, error: str | None) -> bool:
        """True when this changed it: of two callers setting the same error, only one hears so."""

        def write(db: sqlite_utils.Database) -> bool:
            cursor = db.execute(
                "UPDATE subscriptions SET last_error = ? WHERE id = ? AND last_error IS NOT ?",
                [error, id, error],
            )
            return cursor.rowcount == 1

        return await self._worker.write(write)

    async def pause_chat(self, chat_id: int) -> list[Subscription]:
        """Pause every active subscription of the chat; returns those it paused."""

        def write(db: sqlite_utils.Database) -> list[Subscription]:
            active = _select(db, "chat_id = ? AND paused = 0", [chat_id])
            db.execute("UPDATE subscriptions SET paused = 1 WHERE chat_id = ?", [chat_id])
            return [replace(subscription, paused=True) for subscription in active]

        return await self._worker.write(write)

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: move its subscriptions, alerts and settings."""

        def write(db: sqlite_utils.Database) -> None:
            params = [new_chat_id, old_chat_id]
            db.execute("UPDATE subscriptions SET chat_id = ? WHERE chat_id = ?", params)
            db.execute("UPDATE alerts SET chat_id = ? WHERE chat_id = ?", params)
            # Settings already made in the new chat win over the old chat's.
            db.execute(
                "INSERT OR IGNORE INTO chat_settings (chat_id, timezone) "
                "SELECT ?, timezone FROM chat_settings WHERE chat_id = ?",
                params,
            )
            db.execute("DELETE FROM chat_settings WHERE chat_id = ?", [old_chat_id])
            db.execute(
                "INSERT OR IGNORE INTO chat_languages (chat_id, chosen, telegram) "
                "SELECT ?, chosen, telegram FROM chat_languages WHERE chat_id = ?",
                params,
            )
            db.execute("DELETE FROM chat_languages WHERE chat_id = ?", [old_chat_id])

        with self._chats.written(old_chat_id), self._chats.written(new_chat_id):
            await self._worker.write(write)

    async def delete_for_user(self, user_id: int) -> list[Subscription]:
        """Delete every subscription the user made, in any chat; returns what was deleted."""

        def write(db: sqlite_utils.Database) -> list[Subscription]:
            owned = _select(db, "user_id = ?", [user_id])
            db.execute("DELETE FROM subscriptions WHERE user_id = ?", [user_id])
            return owned

        return await self._worker.write(write)
