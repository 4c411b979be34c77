"""Accounts, snapshots, subscriptions, alerts and chat settings round-trip; forgetting a user
removes exactly their rows; a backup holds everything."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlite_utils

from bot.storage.database import Database, backup_file
from bot.storage.encryption import MasterKeys
from bot.storage.records import DealFeedOptions, KnownAccount, Snapshot
from bot.storage.schema import MIGRATIONS, encrypt_key_check
from bot.storage.snapshots import KEPT_PER_ACCOUNT
from bot.targets import ALL_ACCOUNTS
from tests.support.storage import new_keys, snapshot_for

BIG_USER = 2**32 + 12345
GROUP = -1001234567890123
FIFTY_DIGITS = Decimal("12345678901234567890123456789.012345678901234567890")
TINY = Decimal("-0.00000000000000000000000000000000000000000000000001")


@pytest.fixture
def keys() -> MasterKeys:
    return new_keys()[1]


@pytest.fixture
async def database(tmp_path: Path, keys: MasterKeys) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "bot.sqlite3", keys)
    yield database
    await database.close()


def full_snapshot(user_id: int, account_id: int, taken_at: datetime) -> Snapshot:
    return Snapshot(
        user_id=user_id,
        account_id=account_id,
        taken_at=taken_at,
        currency="BTC",
        amount=FIFTY_DIGITS,
        usd_amount=TINY,
        btc_amount=Decimal("1E-30"),
        profit=Decimal("-0"),
        profit_percentage=Decimal("12.50"),
        day_profit=None,
        day_profit_percentage=Decimal("0.000"),
    )


async def fill(database: Database, user_id: int, chat_id: int) -> None:
    """One row in every table for the user."""
    await database.credentials.save(user_id, f"key{user_id}", f"secret{user_id}", "hmac")
    await database.accounts.upsert(user_id, KnownAccount(2**40 + 1, "Main", "binance"))
    await database.snapshots.add(full_snapshot(user_id, 2**40 + 1, datetime.now(UTC)))
    await database.subscriptions.add(chat_id, user_id, "all", "interval", 3600, None)
    await database.alerts.add(chat_id, user_id, 2**40 + 1, "balance", "<", FIFTY_DIGITS)
    await database.chats.set_timezone(user_id, "Europe/Berlin")


async def test_snapshot_with_50_digit_decimals_round_trips_exactly(database: Database) -> None:
    taken_at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    stored = full_snapshot(BIG_USER, 2**40, taken_at)
    await database.snapshots.add(stored)
    loaded = await database.snapshots.latest(BIG_USER, 2**40)
    assert loaded == stored
    assert loaded is not None
    assert str(loaded.amount) == str(FIFTY_DIGITS)
    assert str(loaded.btc_amount) == "1E-30"
    assert str(loaded.profit_percentage) == "12.50"


async def test_latest_snapshot_is_the_newest_and_count_is_per_user(database: Database) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for minutes in (5, 0, 10, 7):
        taken_at = start + timedelta(minutes=minutes, microseconds=minutes)
        await database.snapshots.add(full_snapshot(1, 9, taken_at))
    await database.snapshots.add(snapshot_for(2, 9, Decimal(1)))
    latest = await database.snapshots.latest(1, 9)
    assert latest is not None and latest.taken_at == start + timedelta(minutes=10, microseconds=10)
    assert await database.snapshots.latest(1, 10) is None
    assert await database.snapshots.count(1) == 4
    assert await database.snapshots.count() == 5


async def test_only_the_last_snapshots_of_an_account_are_kept(database: Database) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minute in range(KEPT_PER_ACCOUNT + 5):
        await database.snapshots.add(full_snapshot(1, 9, start + timedelta(minutes=minute)))
    await database.snapshots.add(full_snapshot(1, 10, start))  # another account: its own count
    assert await database.snapshots.count(1) == KEPT_PER_ACCOUNT + 1
    latest = await database.snapshots.latest(1, 9)
    assert latest is not None
    assert latest.taken_at == start + timedelta(minutes=KEPT_PER_ACCOUNT + 4)


async def test_snapshots_written_at_once_share_their_commits_and_are_all_kept(
    database: Database,
) -> None:
    commits: list[str] = []

    def count_commits(statement: str) -> None:
        if statement == "COMMIT":
            commits.append(statement)

    await database._worker.read(lambda db: db.conn.set_trace_callback(count_commits))
    users = range(1, 201)
    await asyncio.gather(*(database.snapshots.add(snapshot_for(u, 1, Decimal(u))) for u in users))
    await database._worker.read(lambda db: db.conn.set_trace_callback(None))
    for user in users:
        latest = await database.snapshots.latest(user, 1)
        assert latest is not None and latest.amount == Decimal(user)
    assert 1 <= len(commits) <= 10  # the first alone, the rest together: one fsync each


async def test_a_snapshot_that_cannot_be_stored_fails_alone(database: Database) -> None:
    good = [database.snapshots.add(snapshot_for(u, 1, Decimal(u))) for u in range(1, 51)]
    bad = database.snapshots.add(snapshot_for(2**70, 1, Decimal(1)))  # no SQLite integer
    results = await asyncio.gather(*good[:25], bad, *good[25:], return_exceptions=True)
    assert isinstance(results[25], OverflowError)
    assert results[:25] + results[26:] == [True] * 50  # each one stored
    assert await database.snapshots.count() == 50


async def test_snapshot_refuses_float_money_and_naive_times(database: Database) -> None:
    with pytest.raises(TypeError):
        await database.snapshots.add(snapshot_for(1, 1, 1.5))  # type: ignore[arg-type]
    naive = full_snapshot(1, 1, datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone"):
        await database.snapshots.add(naive)
    assert await database.snapshots.count() == 0


async def test_accounts_replace_list_by_name_and_upsert(database: Database) -> None:
    await database.accounts.upsert(BIG_USER, KnownAccount(3, "stale", None))
    refreshed = datetime(2024, 2, 2, tzinfo=UTC)
    await database.accounts.replace(
        BIG_USER,
        [
            KnownAccount(2**40, "binance main", "binance", refreshed),
            KnownAccount(2, "Alpha", None),
            KnownAccount(1, "kraken", "kraken"),
        ],
    )
    await database.accounts.upsert(7, KnownAccount(1, "other user", None))
    names = [account.name for account in await database.accounts.list(BIG_USER)]
    assert names == ["Alpha", "binance main", "kraken"]
    await database.accounts.upsert(BIG_USER, KnownAccount(2, "Zeta", "bybit"))
    accounts = await database.accounts.list(BIG_USER)
    assert [account.name for account in accounts] == ["binance main", "kraken", "Zeta"]
    assert accounts[0] == KnownAccount(2**40, "binance main", "binance", refreshed)
    assert await database.accounts.list(8) == []


async def test_subscriptions_lifecycle(database: Database) -> None:
    every_hour = await database.subscriptions.add(GROUP, BIG_USER, "all", "interval", 3600, None)
    daily = await database.subscriptions.add(GROUP, 5, 2**40, "daily", None, "08:30")
    elsewhere = await database.subscriptions.add(BIG_USER, BIG_USER, "all", "daily", None, "23:59")
    assert every_hour.chat_id == GROUP and every_hour.user_id == BIG_USER
    assert not every_hour.paused and every_hour.last_error is None
    assert await database.subscriptions.get(daily.id) == daily
    assert await database.subscriptions.list_for_chat(GROUP) == [every_hour, daily]

    await database.subscriptions.set_paused(daily.id, True)
    assert [s.id for s in await database.subscriptions.list_active()] == [
        every_hour.id,
        elsewhere.id,
    ]
    await database.subscriptions.set_last_error(every_hour.id, "HTTP 401")
    reloaded = await database.subscriptions.get(every_hour.id)
    assert reloaded is not None and reloaded.last_error == "HTTP 401"

    paused = await database.subscriptions.pause_chat(GROUP)
    assert [s.id for s in paused] == [every_hour.id] and paused[0].paused
    assert [s.id for s in await database.subscriptions.list_active()] == [elsewhere.id]

    removed = await database.subscriptions.delete_for_user(BIG_USER)
    assert {s.id for s in removed} == {every_hour.id, elsewhere.id}
    assert await database.subscriptions.list_for_chat(GROUP) == [
        await database.subscriptions.get(daily.id)
    ]
    await database.subscriptions.delete(daily.id)
    assert await database.subscriptions.get(daily.id) is None


@pytest.mark.parametrize(
    ("kind", "interval", "daily_time"),
    [
        ("interval", None, None),
        ("interval", 0, None),
        ("interval", 366 * 86400 + 1, None),
        ("daily", None, "24:00"),
        ("hourly", 60, None),
    ],
)
async def test_malformed_schedules_are_refused(
    database: Database, kind: str, interval: int | None, daily_time: str | None
) -> None:
    with pytest.raises(ValueError):
        await database.subscriptions.add(GROUP, 1, "all", kind, interval, daily_time)


async def test_migrate_chat_moves_subscriptions_alerts_and_settings(database: Database) -> None:
    old, new = -123456, GROUP
    subscription = await database.subscriptions.add(old, 1, "all", "interval", 60, None)
    alert = await database.alerts.add(old, 1, 77, "day", ">", Decimal("5"))
    await database.chats.set_timezone(old, "Asia/Tokyo")
    await database.subscriptions.add(-999, 1, "all", "interval", 60, None)
    await database.subscriptions.migrate_chat(old, new)
    assert await database.subscriptions.list_for_chat(old) == []
    moved = await database.subscriptions.list_for_chat(new)
    assert [s.id for s in moved] == [subscription.id]
    assert [a.id for a in await database.alerts.list_for_chat(new)] == [alert.id]
    assert await database.chats.get_timezone(new) == "Asia/Tokyo"
    assert await database.chats.get_timezone(old) is None
    assert len(await database.subscriptions.list_for_chat(-999)) == 1


async def test_alerts_lifecycle_with_exact_thresholds(database: Database) -> None:
    alert = await database.alerts.add(GROUP, BIG_USER, 2**40, "balance", "<", FIFTY_DIGITS)
    other = await database.alerts.add(GROUP, BIG_USER, 2**40 + 1, "day", ">", TINY)
    assert alert.threshold == FIFTY_DIGITS and str(alert.threshold) == str(FIFTY_DIGITS)
    assert not alert.triggered
    assert await database.alerts.list_for_account(BIG_USER, 2**40) == [alert]
    await database.alerts.set_triggered(alert.id, True)
    alerts = await database.alerts.list_for_chat(GROUP)
    assert [(a.id, a.triggered) for a in alerts] == [(alert.id, True), (other.id, False)]
    assert alerts[1].threshold == TINY
    await database.alerts.delete(alert.id)
    assert await database.alerts.list_for_account(BIG_USER, 2**40) == []
    with pytest.raises(ValueError):
        await database.alerts.add(GROUP, BIG_USER, 1, "balance", "=", Decimal(1))


async def test_subscriptions_and_alerts_share_ids_that_are_never_reused(
    database: Database,
) -> None:
    first = await database.subscriptions.add(GROUP, 1, "all", "interval", 60, None)
    alert = await database.alerts.add(GROUP, 1, 77, "day", ">", Decimal("5"))
    last = await database.subscriptions.add(GROUP, 1, "all", "interval", 120, None)
    assert [first.id, alert.id, last.id] == [1, 2, 3]
    await database.subscriptions.delete(last.id)
    await database.alerts.delete(alert.id)
    again = await database.alerts.add(GROUP, 1, 77, "day", ">", Decimal("5"), message_thread_id=7)
    assert again.id == 4 and again.message_thread_id == 7


async def test_the_upgrade_numbers_alerts_after_subscriptions(
    tmp_path: Path, keys: MasterKeys
) -> None:
    """A database of schema 1, where alerts and subscriptions each counted from 1."""
    path = tmp_path / "old.sqlite3"
    with sqlite_utils.Database(path) as old:
        old.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        MIGRATIONS[0](old)
        old.execute(
            "INSERT INTO meta VALUES ('schema_version', '1'), ('key_check', ?)",
            [encrypt_key_check(keys)],
        )
        for id in (1, 2):
            old.execute(
                "INSERT INTO subscriptions (id, chat_id, owner_user_id, account_selector, "
                "schedule_kind, interval_seconds, created_at) VALUES (?, ?, 1, 'all', "
                "'interval', 60, '2026-01-01T00:00:00.000000+00:00')",
                [id, GROUP],
            )
            old.execute(
                "INSERT INTO alerts (id, chat_id, owner_user_id, account_id, metric, operator, "
                "threshold, created_at) VALUES (?, ?, 1, 77, 'day', '>', ?, "
                "'2026-01-01T00:00:00.000000+00:00')",
                [id, GROUP, str(id)],
            )
        old.conn.commit()
    database = await Database.open(path, keys)
    try:
        subscriptions = await database.subscriptions.list_for_chat(GROUP)
        alerts = await database.alerts.list_for_chat(GROUP)
        assert [s.id for s in subscriptions] == [1, 2]
        assert [(a.id, a.threshold) for a in alerts] == [(3, Decimal(1)), (4, Decimal(2))]
        assert {s.message_thread_id for s in subscriptions} == {None}
        await database.alerts.delete(4)
        added = await database.subscriptions.add(GROUP, 1, "all", "interval", 30, None)
        assert added.id == 5
    finally:
        await database.close()


@contextlib.contextmanager
def database_at_schema(
    path: Path, keys: MasterKeys, version: int
) -> Iterator[sqlite_utils.Database]:
    """A database file as schema `version` left it, open to write its rows into."""
    with sqlite_utils.Database(path) as old:
        old.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for migration in MIGRATIONS[:version]:
            migration(old)
        old.execute(
            "INSERT INTO meta VALUES ('schema_version', ?), ('key_check', ?)",
            [str(version), encrypt_key_check(keys)],
        )
        yield old


async def test_the_upgrade_gives_old_subscriptions_the_summary(
    tmp_path: Path, keys: MasterKeys
) -> None:
    """A database of schema 3, before subscriptions could post anything but the summary."""
    path = tmp_path / "old.sqlite3"
    with database_at_schema(path, keys, 3) as old:
        old.execute(
            "INSERT INTO subscriptions (id, chat_id, owner_user_id, account_selector, "
            "schedule_kind, interval_seconds, created_at) VALUES (1, ?, 1, 'all', "
            "'interval', 60, '2026-01-01T00:00:00.000000+00:00')",
            [GROUP],
        )
        old.conn.commit()
    database = await Database.open(path, keys)
    try:
        (existing,) = await database.subscriptions.list_for_chat(GROUP)
        assert existing.content == "summary"
        chart = await database.subscriptions.add(
            GROUP, 1, "all", "interval", 60, None, content="chart"
        )
        assert (await database.subscriptions.get(chart.id)) == chart
        assert chart.content == "chart"
        with pytest.raises(ValueError):
            await database.subscriptions.add(GROUP, 1, "all", "interval", 60, None, content="pie")
    finally:
        await database.close()
    # what it posts is checked in code (above), not by a CHECK: a new kind needs no rebuild
    with sqlite_utils.Database(path) as upgraded:
        upgraded.execute("UPDATE subscriptions SET content = 'deals' WHERE id = ?", [chart.id])
        assert "content IN" not in upgraded["subscriptions"].schema


async def test_the_upgrade_that_drops_the_content_check_keeps_every_subscription(
    tmp_path: Path, keys: MasterKeys
) -> None:
    """A database of schema 5, whose subscriptions table still has the CHECK on `content`."""
    path = tmp_path / "old.sqlite3"
    with database_at_schema(path, keys, 5) as old:
        old.execute(
            "INSERT INTO subscriptions (id, chat_id, owner_user_id, account_selector, "
            "schedule_kind, daily_time, paused, last_error, created_at, message_thread_id, "
            "content) VALUES (7, ?, 1, '42', 'daily', '09:00', 1, 'Boom', "
            "'2026-01-01T00:00:00.000000+00:00', 3, 'profit')",
            [GROUP],
        )
        old.conn.commit()
    database = await Database.open(path, keys)
    try:
        (kept,) = await database.subscriptions.list_for_chat(GROUP)
        assert (kept.id, kept.target, kept.daily_time, kept.paused) == (
            7,
            42,
            "09:00",
            True,
        )
        assert (kept.last_error, kept.message_thread_id, kept.content) == ("Boom", 3, "profit")
        added = await database.subscriptions.add(GROUP, 1, "all", "interval", 60, None)
        assert added.id == 8  # ids go on from the kept rows
    finally:
        await database.close()
    with sqlite_utils.Database(path) as upgraded:
        assert "content IN" not in upgraded["subscriptions"].schema
        indexes = {index.name for index in upgraded["subscriptions"].indexes}
        assert {"subscriptions_by_chat", "subscriptions_by_user"} <= indexes


async def test_the_upgrade_to_one_target_and_user_id_keeps_subscriptions_and_alerts(
    tmp_path: Path, keys: MasterKeys
) -> None:
    """A database of schema 6: subscriptions name their account as `account_selector` text
    ("all" or an id) and their user `owner_user_id`, as alerts do."""
    path = tmp_path / "old.sqlite3"
    with database_at_schema(path, keys, 6) as old:
        for id, chat, selector, content in (
            (1, GROUP, "all", "summary"),
            (2, GROUP, str(2**40), "chart"),
            (3, BIG_USER, "abc", "summary"),  # no release wrote it: left out, the rest kept
        ):
            old.execute(
                "INSERT INTO subscriptions (id, chat_id, owner_user_id, account_selector, "
                "schedule_kind, interval_seconds, created_at, message_thread_id, content) "
                "VALUES (?, ?, ?, ?, 'interval', 3600, '2026-01-01T00:00:00.000000+00:00', "
                "5, ?)",
                [id, chat, BIG_USER, selector, content],
            )
        old.execute(
            "INSERT INTO alerts (id, chat_id, owner_user_id, account_id, metric, operator, "
            "threshold, created_at, message_thread_id, currency) VALUES (4, ?, ?, ?, 'balance', "
            "'<', '25000', '2026-01-01T00:00:00.000000+00:00', 5, 'EUR')",
            [GROUP, BIG_USER, 2**40],
        )
        old.execute(
            "INSERT INTO alerts (id, chat_id, owner_user_id, account_id, metric, "
            "operator, threshold, created_at) VALUES (9, ?, 7, 1, 'day', '>', '5', "
            "'2026-01-01T00:00:00.000000+00:00')",
            [GROUP],
        )
        old.conn.commit()
    database = await Database.open(path, keys)
    try:
        every, one = await database.subscriptions.list_for_chat(GROUP)
        assert (every.id, every.user_id, every.target, every.content) == (
            1,
            BIG_USER,
            "all",
            "summary",
        )
        assert (one.id, one.user_id, one.target, one.content) == (2, BIG_USER, 2**40, "chart")
        assert (one.interval_seconds, one.message_thread_id) == (3600, 5)
        assert await database.subscriptions.list_for_chat(BIG_USER) == []
        assert await database.subscriptions.count_for_user(BIG_USER) == 3
        (alert,) = await database.alerts.list_for_account(BIG_USER, 2**40)
        assert (alert.id, alert.user_id, alert.account_id) == (4, BIG_USER, 2**40)
        assert (alert.threshold, alert.currency, alert.message_thread_id) == (
            Decimal(25000),
            "EUR",
            5,
        )
        assert await database.alerts.count_for_user(BIG_USER) == 1
        # the same account again is a new row next to the kept ones, ids going on after them
        added = await database.subscriptions.add(GROUP, BIG_USER, 2**40, "daily", None, "08:30")
        assert (added.id, added.target) == (10, 2**40)
        # three subscriptions, the unreadable one and the alert
        assert await database.forget_user(BIG_USER) == 5
        assert [a.id for a in await database.alerts.list_for_chat(GROUP)] == [9]
    finally:
        await database.close()
    with sqlite_utils.Database(path) as upgraded:
        assert {"user_id", "account_id"} <= set(upgraded["subscriptions"].columns_dict)
        assert "account_selector" not in upgraded["subscriptions"].columns_dict
        assert "user_id" in upgraded["alerts"].columns_dict
        indexes = {index.name for index in upgraded["subscriptions"].indexes}
        assert {"subscriptions_by_chat", "subscriptions_by_user"} <= indexes
        assert {i.name: i.columns for i in upgraded["alerts"].indexes}["alerts_by_account"] == [
            "user_id",
            "account_id",
        ]


async def test_chat_timezone(database: Database) -> None:
    assert await database.chats.get_timezone(GROUP) is None
    await database.chats.set_timezone(GROUP, "UTC")
    await database.chats.set_timezone(GROUP, "America/New_York")
    assert await database.chats.get_timezone(GROUP) == "America/New_York"


async def test_forget_user_removes_every_row_of_theirs_and_nothing_else(
    database: Database,
) -> None:
    await fill(database, BIG_USER, GROUP)
    await fill(database, 7, GROUP)
    await database.forget_user(BIG_USER)

    assert await database.credentials.load(BIG_USER) is None
    assert await database.accounts.list(BIG_USER) == []
    assert await database.snapshots.count(BIG_USER) == 0
    assert [s.user_id for s in await database.subscriptions.list_for_chat(GROUP)] == [7]
    assert [a.user_id for a in await database.alerts.list_for_chat(GROUP)] == [7]
    assert await database.chats.get_timezone(BIG_USER) is None

    assert await database.credentials.load(7) is not None
    assert len(await database.accounts.list(7)) == 1
    assert await database.snapshots.count(7) == 1
    assert await database.chats.get_timezone(7) == "Europe/Berlin"

    def rows_mentioning(db: object, user_id: int) -> int:
        connection = db.conn  # type: ignore[attr-defined]
        count = "SELECT count(*) FROM {} WHERE {} = ?"
        return sum(
            connection.execute(count.format(table, column), [user_id]).fetchone()[0]
            for table, column in (
                ("credentials", "user_id"),
                ("accounts", "user_id"),
                ("snapshots", "user_id"),
                ("subscriptions", "user_id"),
                ("alerts", "user_id"),
                ("chat_settings", "chat_id"),
            )
        )

    assert await database._worker.read(lambda db: rows_mentioning(db, BIG_USER)) == 0
    assert await database._worker.read(lambda db: rows_mentioning(db, 7)) == 6


async def test_backup_opens_with_the_same_keys_and_holds_everything(
    tmp_path: Path, database: Database, keys: MasterKeys
) -> None:
    await fill(database, BIG_USER, GROUP)
    await database.accounts.upsert(BIG_USER, KnownAccount(5, "Second", None))
    destination = tmp_path / "backups" / "copy.sqlite3"
    # While the database is open, as while the bot runs.
    await asyncio.to_thread(backup_file, tmp_path / "bot.sqlite3", destination)
    await asyncio.to_thread(backup_file, tmp_path / "bot.sqlite3", destination)  # replaces it

    copy = await Database.open(destination, keys)
    assert await copy.integrity_check() == "ok"
    for store_read in (
        lambda db: db.credentials.load(BIG_USER),
        lambda db: db.accounts.list(BIG_USER),
        lambda db: db.snapshots.latest(BIG_USER, 2**40 + 1),
        lambda db: db.snapshots.count(),
        lambda db: db.subscriptions.list_for_chat(GROUP),
        lambda db: db.alerts.list_for_chat(GROUP),
        lambda db: db.chats.get_timezone(BIG_USER),
    ):
        assert await store_read(copy) == await store_read(database)
    await copy.close()
    assert sorted(path.name for path in destination.parent.iterdir()) == ["copy.sqlite3"]
    assert destination.stat().st_mode & 0o077 == 0


async def test_closed_database_refuses_calls(tmp_path: Path, keys: MasterKeys) -> None:
    from bot.storage.errors import StorageError

    database = await Database.open(tmp_path / "bot.sqlite3", keys)
    await database.close()
    await database.close()
    with pytest.raises(StorageError, match="closed"):
        await database.credentials.load(1)


async def test_the_languages_migration_comes_ninth_after_the_target_and_snapshot_ones(
    tmp_path: Path, keys: MasterKeys
) -> None:
    """A database of schema 8 (one target and user_id, the snapshot's today in USD) gains the
    chat languages' table as migration 9, its rows kept."""
    assert [migration.__name__ for migration in MIGRATIONS[6:9]] == [
        "_one_target_and_user_id",
        "_snapshot_today_usd",
        "_chat_languages",
    ]
    path = tmp_path / "eight.sqlite3"
    with database_at_schema(path, keys, 8) as old:
        old.execute(
            "INSERT INTO subscriptions (id, chat_id, user_id, account_id, schedule_kind, "
            "interval_seconds, created_at) VALUES (1, ?, 1, NULL, 'interval', 60, "
            "'2026-01-01T00:00:00.000000+00:00')",
            [GROUP],
        )
        old.conn.commit()
    database = await Database.open(path, keys)
    try:
        (kept,) = await database.subscriptions.list_for_chat(GROUP)
        assert kept.id == 1 and kept.user_id == 1
        assert (await database.chats.get_language(GROUP)).chosen is None
        await database.chats.set_language(GROUP, chosen="ru")
        assert (await database.chats.get_language(GROUP)).chosen == "ru"
    finally:
        await database.close()
    reopened = await Database.open(path, keys)
    try:
        assert (await reopened.chats.get_language(GROUP)).chosen == "ru"
    finally:
        await reopened.close()


async def test_the_deal_feeds_migration_comes_tenth_after_the_languages_one(
    tmp_path: Path, keys: MasterKeys
) -> None:
    """A database of schema 9 (chat languages) gains the deal feeds' table as migration 10, its
    subscriptions and languages kept; a feed's row goes with its subscription."""
    assert [migration.__name__ for migration in MIGRATIONS[8:]] == [
        "_chat_languages",
        "_deal_feeds",
    ]
    path = tmp_path / "nine.sqlite3"
    with database_at_schema(path, keys, 9) as old:
        old.execute(
            "INSERT INTO subscriptions (id, chat_id, user_id, account_id, schedule_kind, "
            "interval_seconds, created_at) VALUES (1, ?, 1, NULL, 'interval', 60, "
            "'2026-01-01T00:00:00.000000+00:00')",
            [GROUP],
        )
        old.execute("INSERT INTO chat_languages (chat_id, chosen) VALUES (?, 'ru')", [GROUP])
        old.conn.commit()
    database = await Database.open(path, keys)
    try:
        (kept,) = await database.subscriptions.list_for_chat(GROUP)
        assert kept.id == 1 and kept.user_id == 1
        assert (await database.chats.get_language(GROUP)).chosen == "ru"
        feed = await database.deal_feeds.add(
            GROUP,
            1,
            ALL_ACCOUNTS,
            poll_seconds=60,
            created_at=datetime(2026, 1, 2, tzinfo=UTC),
            message_thread_id=None,
            options=DealFeedOptions(quiet=True, losses=False),
        )
        assert await database.deal_feeds.options(feed.id) == DealFeedOptions(quiet=True)
        await database.subscriptions.delete(feed.id)
        assert await database.deal_feeds.options_in_chat(GROUP) == {}
    finally:
        await database.close()
