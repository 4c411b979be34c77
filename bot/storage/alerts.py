"""Threshold alerts on an account's balance or day profit, posted to a chat."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlite_utils

from bot.storage.columns import decimal_text, now_text, parse_time
from bot.storage.records import ALERT_METRICS, ALERT_OPERATORS, Alert
from bot.storage.worker import SqlWorker


def _alert(row: dict[str, Any]) -> Alert:
    return Alert(
        id=row["id"],
        chat_id=row["chat_id"],
        owner_user_id=row["owner_user_id"],
        account_id=row["account_id"],
        metric=row["metric"],
        operator=row["operator"],
        threshold=Decimal(row["threshold"]),
        triggered=bool(row["triggered"]),
        created_at=parse_time(row["created_at"]),
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
        owner_user_id: int,
        account_id: int,
        metric: str,
        operator: str,
        threshold: Decimal,
    ) -> Alert:
        if metric not in ALERT_METRICS:
            raise ValueError(f"metric must be one of {ALERT_METRICS}")
        if operator not in ALERT_OPERATORS:
            raise ValueError(f"operator must be one of {ALERT_OPERATORS}")
        values = [chat_id, owner_user_id, account_id, metric, operator, decimal_text(threshold)]
        now = now_text()

        def write(db: sqlite_utils.Database) -> Alert:
            cursor = db.execute(
                "INSERT INTO alerts (chat_id, owner_user_id, account_id, metric, operator, "
                "threshold, triggered, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
                [*values, now],
            )
            return _select(db, "id = ?", [cursor.lastrowid])[0]

        return await self._worker.write(write)

    async def list_for_chat(self, chat_id: int) -> list[Alert]:
        return await self._worker.read(lambda db: _select(db, "chat_id = ?", [chat_id]))

    async def list_for_account(self, owner_user_id: int, account_id: int) -> list[Alert]:
        return await self._worker.read(
            lambda db: _select(
                db, "owner_user_id = ? AND account_id = ?", [owner_user_id, account_id]
            )
        )

    async def set_triggered(self, id: int, triggered: bool) -> None:
        await self._worker.write(
            lambda db: db.execute(
                "UPDATE alerts SET triggered = ? WHERE id = ?", [int(triggered), id]
            )
        )

    async def delete(self, id: int) -> None:
        await self._worker.write(lambda db: db.execute("DELETE FROM alerts WHERE id = ?", [id]))
