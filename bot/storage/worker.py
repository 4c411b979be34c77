"""Runs every SQL statement on one dedicated thread, so the event loop never waits on SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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


_Queued = tuple[Callable[[sqlite_utils.Database], Any], "asyncio.Future[Any]"]


def _settle(
    future: asyncio.Future[Any], result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():  # its caller was cancelled; the write stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class SqlWorker:
    """The connection and the single thread that may use it."""

    def __init__(self, db: sqlite_utils.Database, executor: ThreadPoolExecutor) -> None:
        self._db = db
        self._executor = executor
        self._closed = False
        self._queued: list[_Queued] = []
        self._committing: asyncio.Task[None] | None = None

    async def read(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        return await self._run(lambda: work(self._db))

    async def write(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        return await self._run(lambda: in_transaction(self._db, work))

    async def write_together(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        """A write that shares one transaction, and so one fsync, with the writes queued while
        the one before was committing: for many small independent writes at once (a snapshot
        after each of 500 refreshes). Returns once it is durable. If a shared transaction
        fails, its writes are made again one by one, so a bad write fails alone."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((work, future))
        if self._committing is None:
            self._committing = asyncio.create_task(self._commit_queued())
        return await future

    async def _commit_queued(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                await self._commit(batch)
        except asyncio.CancelledError:
            for _, future in self._queued:
                future.cancel()
            raise
        finally:
            self._committing = None

    async def _commit(self, batch: list[_Queued]) -> None:
        works = [work for work, _ in batch]
        try:
            results = await self.write(lambda db: [work(db) for work in works])
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error=error)
            else:
                await self._commit_one_by_one(batch)
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)

    async def _commit_one_by_one(self, batch: list[_Queued]) -> None:
        for work, future in batch:
            try:
                _settle(future, await self.write(work))
            except Exception as error:
                _settle(future, error=error)

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
        if self._committing is not None:
            await self._committing
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._db.close)
        finally:
            self._executor.shutdown(wait=True)
