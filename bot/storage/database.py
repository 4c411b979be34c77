"""The one SQLite database: opening (checks, pragmas, migrations), the stores, and the
operations that span tables (forgetting a user, key rotation, backup)."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlite_utils

from bot.storage.accounts import AccountStore
from bot.storage.alerts import AlertStore
from bot.storage.chats import ChatSettingsStore
from bot.storage.credentials import CredentialStore
from bot.storage.encryption import DecryptionError, MasterKeys, stored_key_id
from bot.storage.errors import StorageError, UserChanged
from bot.storage.generations import UserGenerations
from bot.storage.pending_keys import PendingKeyStore
from bot.storage.records import KnownAccount
from bot.storage.schema import (
    ENCRYPTED_COLUMNS,
    encrypt_key_check,
    key_check_opens,
    migrate,
    verify_existing,
)
from bot.storage.snapshots import SnapshotStore
from bot.storage.subscriptions import SubscriptionStore
from bot.storage.worker import SqlWorker, in_transaction

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000

logger = logging.getLogger(__name__)


def _private_folder(folder: Path) -> None:
    """Create the folder for the owner only; an existing one is the operator's and stays as is."""
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
        return
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        logger.warning(
            "the database folder %s is open to other users (mode %o); the database files are "
            "owner-only, but consider chmod 700 on the folder",
            folder,
            mode,
        )


def _private_files(path: Path) -> None:
    """The database, its WAL and shared memory readable by the owner only (SQLite gives the WAL
    and shared-memory files the database file's mode when it creates them)."""
    if not path.exists():  # an empty file is an empty database
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if file.exists() and stat.S_IMODE(file.stat().st_mode) != 0o600:
                file.chmod(0o600)
        except PermissionError:
            logger.warning("cannot make %s owner-only: it belongs to another user", file)


def _connect(path: Path, keys: MasterKeys) -> sqlite_utils.Database:
    """Runs on the worker thread: check, then configure and migrate. Nothing is written before
    the keys are known to fit."""
    _private_folder(path.parent)
    verify_existing(path, keys)
    _private_files(path)
    # isolation_level=None: no implicit transactions; every write goes through in_transaction.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        # Deleted rows (a forgotten user) are overwritten, not left in free pages.
        connection.execute("PRAGMA secure_delete = ON")
        db = sqlite_utils.Database(connection, execute_plugins=False)
        in_transaction(db, lambda db: migrate(db, keys))
    except BaseException:
        connection.close()
        raise
    return db


class Database:
    def __init__(self, worker: SqlWorker, keys: MasterKeys, path: Path) -> None:
        self._worker = worker
        self._keys = keys
        self._path = path
        self.credentials = CredentialStore(worker, keys)
        self.pending_keys = PendingKeyStore(worker, keys)
        self.accounts = AccountStore(worker)
        self.snapshots = SnapshotStore(worker, self.accounts)
        self.chats = ChatSettingsStore(worker)
        self.subscriptions = SubscriptionStore(worker, self.chats)
        self.alerts = AlertStore(worker)
        self.generations = UserGenerations()

    @classmethod
    async def open(cls, path: Path, keys: MasterKeys) -> Database:
        """Open (creating if needed) the database; StorageStartupError if the keys do not fit."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        try:
            db = await asyncio.get_running_loop().run_in_executor(executor, _connect, path, keys)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(SqlWorker(db, executor), keys, path)

    async def close(self) -> None:
        await self._worker.close()

    async def forget_user(self, user_id: int) -> int:
        """Delete every row that belongs to the user, their private chat's settings included;
        returns how many rows there were."""

        def write(db: sqlite_utils.Database) -> int:
            deleted = 0
            for statement in (
                "DELETE FROM credentials WHERE user_id = ?",
                "DELETE FROM pending_keys WHERE user_id = ?",
                "DELETE FROM accounts WHERE user_id = ?",
                "DELETE FROM snapshots WHERE user_id = ?",
                "DELETE FROM subscriptions WHERE owner_user_id = ?",
                "DELETE FROM alerts WHERE owner_user_id = ?",
                # A private chat's id is the user's id.
                "DELETE FROM chat_settings WHERE chat_id = ?",
            ):
                deleted += db.execute(statement, [user_id]).rowcount
            self.generations.change(user_id)
            return deleted

        with (
            self.accounts.written(user_id),
            self.chats.written(user_id),
            self.snapshots.written(user_id),
        ):
            deleted = await self._worker.write(write)
        await self._checkpoint()
        return deleted

    async def _checkpoint(self) -> None:
        """Copy the WAL into the database and empty it: a forgotten user's encrypted values
        (overwritten in the database by secure_delete) must not wait in the WAL for SQLite's
        own checkpoint. A reader holding an old snapshot may keep it from finishing."""

        def checkpoint(db: sqlite_utils.Database) -> None:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                logger.warning("the WAL could not be emptied: a reader was busy")

        await self._worker.read(checkpoint)

    def unchanged(self, user_id: int, stamp: int) -> Callable[[], bool]:
        """For a write begun at `stamp`: whether the user has kept their key since (checked in
        the write's transaction)."""
        return lambda: self.generations.unchanged_since(user_id, stamp)

    async def store_key(
        self,
        user_id: int,
        api_key: str,
        secret: str,
        key_type: str,
        *,
        accounts: Sequence[KnownAccount],
        stamp: int,
    ) -> None:
        """A checked key and its accounts in place of the user's earlier key and pending key
        pair, in one transaction; UserChanged, and nothing written, if the user disconnected or
        stored another key since `stamp`."""
        save = self.credentials.saving(user_id, api_key, secret, key_type, validated=True)
        replace = self.accounts.replacing(user_id, accounts)

        def write(db: sqlite_utils.Database) -> None:
            if not self.generations.unchanged_since(user_id, stamp):
                raise UserChanged(user_id)
            save(db)
            replace(db)
            db.execute("DELETE FROM pending_keys WHERE user_id = ?", [user_id])
            self.generations.change(user_id)

        with self.accounts.written(user_id):
            await self._worker.write(write)

    async def rotate_keys(self) -> int:
        """Re-encrypt every value not under the first key; returns how many values moved.
        All or nothing: a value that does not decrypt aborts the rotation unchanged."""
        return await self._worker.write(lambda db: _rotate(db, self._keys))

    async def integrity_check(self) -> str:
        def read(db: sqlite_utils.Database) -> str:
            rows = db.execute("PRAGMA integrity_check").fetchall()
            return "\n".join(str(row[0]) for row in rows)

        return await self._worker.read(read)

    async def readable(self) -> bool:
        """Whether the file at the database's path opens and reads, for health checks: the open
        connection alone would not notice the file deleted, replaced or its volume gone."""
        try:
            await self._worker.read(lambda _db: _read_meta(self._path))
        except StorageError as error:
            logger.warning("the database at %s cannot be read: %s", self._path, error)
            return False
        return True


def _read_meta(path: Path) -> None:
    """One row through a fresh read-only connection: cheap, and it opens the file itself."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        connection.execute("SELECT value FROM meta LIMIT 1").fetchone()
    finally:
        connection.close()


def backup_file(source: Path, destination: Path) -> None:
    """A consistent copy of the database at `source` (which must exist) with SQLite's online
    backup API, even while the bot runs; replaces `destination` atomically, readable by the
    owner only. No keys are needed: the encrypted values are copied as they are."""
    if not source.is_file():
        raise StorageError(f"there is no database at {source}; check DATABASE_PATH")
    try:
        # mode=rw: never create a database where a mistyped path points.
        connection = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)
    except sqlite3.Error as error:
        raise StorageError(f"cannot open the database at {source}: {error}") from None
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _backup(connection, destination)
    except sqlite3.DatabaseError as error:
        raise StorageError(f"cannot back up {source}: {error}") from None
    finally:
        connection.close()


def _backup(source: sqlite3.Connection, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists() and destination.resolve() == Path(_main_file(source)).resolve():
        raise StorageError(f"{destination} is the database itself")
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    partial.touch(mode=0o600)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            # A standalone copy: one file, no WAL beside it.
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        partial.replace(destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _main_file(connection: sqlite3.Connection) -> str:
    for _, name, file in connection.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(file)
    return ""


def _rotate(db: sqlite_utils.Database, keys: MasterKeys) -> int:
    moved = 0
    for table, column in ENCRYPTED_COLUMNS:
        # An expired pending key is NULL: nothing to re-encrypt.
        query = f"SELECT user_id, {column} FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
        rows = db.execute(query).fetchall()
        for user_id, stored in rows:
            try:
                if stored_key_id(stored) == keys.primary_key_id:
                    continue
                plaintext = keys.decrypt(stored, user_id=user_id, field=column)
            except DecryptionError:
                raise StorageError(
                    f"cannot rotate keys: the {column} of user {user_id} does not decrypt; "
                    "nothing was changed"
                ) from None
            db.execute(
                f"UPDATE {table} SET {column} = ? WHERE user_id = ?",  # noqa: S608
                [keys.encrypt(plaintext, user_id=user_id, field=column), user_id],
            )
            moved += 1
    check = db.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()[0]
    if stored_key_id(check) != keys.primary_key_id and key_check_opens(check, keys):
        db.execute("UPDATE meta SET value = ? WHERE key = 'key_check'", [encrypt_key_check(keys)])
    return moved
