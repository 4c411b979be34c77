"""Runs every SQL statement on one dedicated thread, so the event loop never waits on SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import sqlite_utils

from bot.storage.errors import StorageError

T = TypeVar("T")


def in_transaction(db: sqlite_utils.Database, work: Callable[[sqlite_utils.Database], T]) -> T:
    """Run `work` in one write transaction, committed only if it returns."""
    # IMMEDIATE takes the write lock up front, so a transaction never fails half-way on BUSY.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(db)
        db.conn.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    return result


class SqlWorker:
    """The connection and the single thread that may use it."""

    def __init__(self, db: sqlite_utils.Database, executor: ThreadPoolExecutor) -> None:
        self._db = db
        self._executor = executor
        self._closed = False

    async def read(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        return await self._run(lambda: work(self._db))

    async def write(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        return await self._run(lambda: in_transaction(self._db, work))

    async def _run(self, call: Callable[[], T]) -> T:
        if self._closed:
            raise StorageError("the database is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except sqlite3.Error as error:
            raise StorageError(f"database error: {error}") from error

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._db.close)
        finally:
            self._executor.shutdown(wait=True)
