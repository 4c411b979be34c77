"""Threshold alerts on an account's balance or day profit, posted to a chat."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlite_utils

from bot.storage.columns import decimal_text, now_text, parse_time
from bot.storage.records import ALERT_METRICS, ALERT_OPERATORS, Alert, AlertMetric, AlertOperator
from bot.storage.schema import next_entry_id
from bot.storage.worker import SqlWorker


def _alert(row: dict[str, Any]) -> Alert:
    return Alert(
        id=row["id"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        account_id=row["account_id"],
        metric=AlertMetric(row["metric"]),
        operator=AlertOperator(row["operator"]),
        threshold=Decimal(row["threshold"]),
        triggered=bool(row["triggered"]),
        created_at=parse_time(row["created_at"]),
        message_thread_id=row["message_thread_id"],
        currency=row["currency"],
    )


def _select(db: sqlite_utils.Database, where: str, params: list[Any]) -> list[Alert]:
    query = f"SELECT * FROM alerts WHERE {where} ORDER BY id"  # noqa: S608
    return [_alert(row) for row in db.query(query, params)]


class AlertStore:
    def __init__(self, worker: SqlWorker) -> None:
        self._worker = worker

    async def add(
        self,
        chat_id: int,
        user_id: int,
        account_id: int,
        metric: str,
        operator: str,
        threshold: Decimal,
        *,
        message_thread_id: int | None = None,
        currency: str | None = None,
    ) -> Alert:
        if metric not in ALERT_METRICS:
            raise ValueError(f"metric must be one of {ALERT_METRICS}")
        if operator not in ALERT_OPERATORS:
            raise ValueError(f"operator must be one of {ALERT_OPERATORS}")
        values = [chat_id, user_id, account_id, metric, operator, decimal_text(threshold)]
        now = now_text()

        def write(db: sqlite_utils.Database) -> Alert:
            entry_id = next_entry_id(db)
            db.execute(
                "INSERT INTO alerts (id, chat_id, user_id, account_id, metric, operator, "
                "threshold, triggered, created_at, message_thread_id, currency) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                [entry_id, *values, now, message_thread_id, currency],
            )
            return _select(db, "id = ?", [entry_id])[0]

        return await self._worker.write(write)

    async def get(self, id: int) -> Alert | None:
        found = await self._worker.read(lambda db: _select(db, "id = ?", [id]))
        return found[0] if found else None

    async def list_for_chat(self, chat_id: int) -> list[Alert]:
        return await self._worker.read(lambda db: _select(db, "chat_id = ?", [chat_id]))

    async def count_for_user(self, user_id: int) -> int:
        def read(db: sqlite_utils.Database) -> int:
            query = "SELECT COUNT(*) FROM alerts WHERE user_id = ?"
            return int(db.execute(query, [user_id]).fetchone()[0])

        return await self._worker.read(read)

    async def list_for_account(self, user_id: int, account_id: int) -> list[Alert]:
        return await self._worker.read(
            lambda db: _select(db, "user_id = ? AND account_id = ?", [user_id, account_id])
        )

    async def set_triggered(self, id: int, triggered: bool) -> None:
        await self._worker.write(
            lambda db: db.execute(
                "UPDATE alerts SET triggered = ? WHERE id = ?", [int(triggered), id]
            )
        )

    async def delete(self, id: int) -> None:
        await self._worker.write(lambda db: db.execute("DELETE FROM alerts WHERE id = ?", [id]))
