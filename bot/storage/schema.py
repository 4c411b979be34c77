"""The schema, its migrations, and the start-up check that the given keys fit the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from bot.storage.encryption import KEY_VARIABLE, DecryptionError, MasterKeys
from bot.storage.errors import StorageStartupError

KEY_CHECK_FIELD = "key_check"
KEY_CHECK_USER_ID = 0
KEY_CHECK_PLAINTEXT = "threecommas-telegram-bot key check"
# meta key: the last id given to a subscription or an alert
LAST_ENTRY_ID = "last_entry_id"
# Every column holding ciphertext, as (table, column); rotation and the start-up check use it.
ENCRYPTED_COLUMNS = (
    ("credentials", "api_key"),
    ("credentials", "secret"),
    ("pending_keys", "private_key"),
)


def _create_tables(db: sqlite_utils.Database) -> None:
    for statement in (
        """CREATE TABLE credentials (
            user_id INTEGER PRIMARY KEY,
            api_key TEXT NOT NULL,
            secret TEXT NOT NULL,
            key_type TEXT NOT NULL CHECK (key_type IN ('hmac', 'rsa')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            last_validated_at TEXT
        )""",
        """CREATE TABLE accounts (
            user_id INTEGER NOT NULL,
            account_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            exchange TEXT,
            refreshed_at TEXT,
            PRIMARY KEY (user_id, account_id)
        )""",
        """CREATE TABLE snapshots (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL,
            account_id INTEGER NOT NULL,
            taken_at TEXT NOT NULL,
            currency TEXT,
            amount TEXT,
            usd_amount TEXT,
            btc_amount TEXT,
            profit TEXT,
            profit_percentage TEXT,
            day_profit TEXT,
            day_profit_percentage TEXT
        )""",
        "CREATE INDEX snapshots_by_account ON snapshots (user_id, account_id, taken_at)",
        """CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            owner_user_id INTEGER NOT NULL,
            account_selector TEXT NOT NULL,
            schedule_kind TEXT NOT NULL CHECK (schedule_kind IN ('interval', 'daily')),
            interval_seconds INTEGER,
            daily_time TEXT,
            paused INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX subscriptions_by_chat ON subscriptions (chat_id)",
        "CREATE INDEX subscriptions_by_owner ON subscriptions (owner_user_id)",
        """CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            owner_user_id INTEGER NOT NULL,
            account_id INTEGER NOT NULL,
            metric TEXT NOT NULL CHECK (metric IN ('balance', 'day')),
            operator TEXT NOT NULL CHECK (operator IN ('<', '>')),
            threshold TEXT NOT NULL,
            triggered INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX alerts_by_chat ON alerts (chat_id)",
        "CREATE INDEX alerts_by_account ON alerts (owner_user_id, account_id)",
        """CREATE TABLE chat_settings (
            chat_id INTEGER PRIMARY KEY,
            timezone TEXT NOT NULL
        )""",
    ):
        db.execute(statement)


def _topics_and_entry_ids(db: sqlite_utils.Database) -> None:
    """Forum topics of subscriptions and alerts; alerts renumbered into the subscriptions' id
    space, so one number names one entry of a chat's list."""
    db.execute("ALTER TABLE subscriptions ADD COLUMN message_thread_id INTEGER")
    db.execute("ALTER TABLE alerts ADD COLUMN message_thread_id INTEGER")
    # Through negative ids: shifting in place could collide with a row not yet shifted.
    db.execute("UPDATE alerts SET id = -id")
    db.execute("UPDATE alerts SET id = -id + (SELECT COALESCE(MAX(id), 0) FROM subscriptions)")
    _set_meta(db, LAST_ENTRY_ID, str(_largest_entry_id(db)))


def _pending_keys(db: sqlite_utils.Database) -> None:
    """Key pairs the bot made for users (`/connect new`), waiting for 3Commas' API key; the
    private key is NULL once expired, so the row only remembers to tell its user."""
    db.execute(
        """CREATE TABLE pending_keys (
            user_id INTEGER PRIMARY KEY,
            private_key TEXT,
            created_at TEXT NOT NULL
        )"""
    )


def _subscription_content(db: sqlite_utils.Database) -> None:
    """What a subscription posts; the rows before it post the summary, as they did."""
    db.execute(
        "ALTER TABLE subscriptions ADD COLUMN content TEXT NOT NULL DEFAULT 'summary' "
        "CHECK (content IN ('summary', 'holdings', 'chart', 'profit'))"
    )


def _alert_currency(db: sqlite_utils.Database) -> None:
    """The currency a balance alert's threshold is in; NULL: the rows before it, compared in
    the account's display currency of the moment, as they were."""
    db.execute("ALTER TABLE alerts ADD COLUMN currency TEXT")


def _subscription_content_checked_in_code(db: sqlite_utils.Database) -> None:
    """What a subscription posts is checked against `SubscriptionContent` in code, not by a
    CHECK: a new kind needs no table rebuild. SQLite cannot drop a column's CHECK, so the table
    is rebuilt once, rows, ids and indexes as they were."""
    db.execute(
        """CREATE TABLE subscriptions_new (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            owner_user_id INTEGER NOT NULL,
            account_selector TEXT NOT NULL,
            schedule_kind TEXT NOT NULL CHECK (schedule_kind IN ('interval', 'daily')),
            interval_seconds INTEGER,
            daily_time TEXT,
            paused INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            created_at TEXT NOT NULL,
            message_thread_id INTEGER,
            content TEXT NOT NULL DEFAULT 'summary'
        )"""
    )
    columns = (
        "id, chat_id, owner_user_id, account_selector, schedule_kind, interval_seconds, "
        "daily_time, paused, last_error, created_at, message_thread_id, content"
    )
    db.execute(f"INSERT INTO subscriptions_new ({columns}) SELECT {columns} FROM subscriptions")  # noqa: S608
    db.execute("DROP TABLE subscriptions")
    db.execute("ALTER TABLE subscriptions_new RENAME TO subscriptions")
    db.execute("CREATE INDEX subscriptions_by_chat ON subscriptions (chat_id)")
    db.execute("CREATE INDEX subscriptions_by_owner ON subscriptions (owner_user_id)")


def _snapshot_today_usd(db: sqlite_utils.Database) -> None:
    """A snapshot keeps the day's profit in USD and 3Commas' update time too, so the Mini App
    shows the last known total and today as /refresh all does, without asking 3Commas."""
    db.execute("ALTER TABLE snapshots ADD COLUMN day_profit_usd TEXT")
    db.execute("ALTER TABLE snapshots ADD COLUMN updated_at TEXT")


# Migration n (1-based) brings the schema from version n - 1 to n. Append, never edit.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _create_tables,
    _topics_and_entry_ids,
    _pending_keys,
    _subscription_content,
    _alert_currency,
    _subscription_content_checked_in_code,
    _snapshot_today_usd,
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite_utils.Database, keys: MasterKeys) -> None:
    """Create or upgrade the schema and write the key check value; call inside a transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    meta = {row["key"]: row["value"] for row in db.query("SELECT key, value FROM meta")}
    version = int(meta.get("schema_version", "0"))
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        migration(db)
        _set_meta(db, "schema_version", str(number))
    if "key_check" not in meta:
        _set_meta(db, "key_check", encrypt_key_check(keys))


def next_entry_id(db: sqlite_utils.Database) -> int:
    """The id of a new subscription or alert: one sequence for both, never reused, so a number
    in an old /subscriptions list can only ever name the entry it named then."""
    entry_id = _largest_entry_id(db) + 1
    _set_meta(db, LAST_ENTRY_ID, str(entry_id))
    return entry_id


def _largest_entry_id(db: sqlite_utils.Database) -> int:
    row = db.execute(
        "SELECT MAX(COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?), 0), "
        "COALESCE((SELECT MAX(id) FROM subscriptions), 0), "
        "COALESCE((SELECT MAX(id) FROM alerts), 0))",
        [LAST_ENTRY_ID],
    ).fetchone()
    return int(row[0])


def encrypt_key_check(keys: MasterKeys) -> str:
    return keys.encrypt(KEY_CHECK_PLAINTEXT, user_id=KEY_CHECK_USER_ID, field=KEY_CHECK_FIELD)


def _set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def verify_existing(path: Path, keys: MasterKeys) -> None:
    """Refuse an existing database the keys cannot fully read, without writing a byte to it."""
    if not path.exists():
        return
    # A read-only connection can neither write nor checkpoint the WAL when it closes; without a
    # WAL file, though, it would leave an empty one behind, and a plain connection writes nothing.
    wal_exists = Path(f"{path}-wal").exists()
    uri = f"{path.resolve().as_uri()}?mode={'ro' if wal_exists else 'rw'}"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as error:
        raise StorageStartupError(f"cannot open the database at {path}: {error}") from None
    try:
        _verify(connection, path, keys)
    except sqlite3.DatabaseError as error:
        raise StorageStartupError(f"cannot read the database at {path}: {error}") from None
    finally:
        connection.close()


def _verify(connection: sqlite3.Connection, path: Path, keys: MasterKeys) -> None:
    connection.execute("PRAGMA busy_timeout = 5000")
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    if "meta" not in tables:
        if tables:
            raise StorageStartupError(f"{path} holds tables but is not a database of this bot")
        return
    meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
    version = int(meta.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        raise StorageStartupError(
            f"the database at {path} has schema version {version}, newer than this bot's "
            f"{SCHEMA_VERSION}; run a newer version of the bot"
        )
    check = meta.get("key_check")
    if check is None or not key_check_opens(check, keys):
        raise StorageStartupError(
            f"{KEY_VARIABLE}: none of the given keys opens the database at {path} "
            "(wrong key?); the database was left unchanged"
        )
    missing = sorted(_key_ids_in_use(connection, tables) - set(keys.key_ids))
    if missing:
        raise StorageStartupError(
            f"{KEY_VARIABLE}: the database at {path} has values encrypted with key id(s) "
            f"{', '.join(missing)}, which are not given; add them after the first key and run "
            "`python -m bot rotate-keys`; the database was left unchanged"
        )


def key_check_opens(check: str, keys: MasterKeys) -> bool:
    try:
        plaintext = keys.decrypt(check, user_id=KEY_CHECK_USER_ID, field=KEY_CHECK_FIELD)
    except DecryptionError:
        return False
    return plaintext == KEY_CHECK_PLAINTEXT


def _key_ids_in_use(connection: sqlite3.Connection, tables: set[str]) -> set[str]:
    key_ids: set[str] = set()
    for table, column in ENCRYPTED_COLUMNS:
        if table not in tables:
            continue
        # Stored values read `v1:<8 hex key id>:...`; table and column names are our constants.
        query = f"SELECT DISTINCT substr({column}, 4, 8) FROM {table} WHERE {column} LIKE 'v1:%'"  # noqa: S608
        key_ids.update(row[0] for row in connection.execute(query))
    return key_ids
