"""Shared pieces of the benchmarks: results, seeded databases, the bot as a child process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import psutil  # type: ignore[import-untyped]

from bot.config import Settings
from bot.storage.columns import time_text
from bot.storage.database import Database
from bot.storage.maintenance import master_keys_from_settings
from standins.botapi import BotApiStandIn
from standins.threecommas_standin import ThreeCommasStandIn, demo_account

REPO = Path(__file__).resolve().parent.parent
FIRST_USER_ID = 10_000_000
FIRST_ACCOUNT_ID = 50_000_000
# A user's further accounts: account_id(index, nth) for nth = 1, 2, ... (fewer users than this)
ACCOUNT_STRIDE = 1_000_000


@dataclass
class Row:
    """One line of the table: what was measured, the figure, the target and whether it holds."""

    number: int
    measurement: str
    result: str
    target: str
    passed: bool | None  # None: informational, no target
    notes: list[str] = field(default_factory=list)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def user_id(index: int) -> int:
    return FIRST_USER_ID + index


def account_id(index: int, nth: int = 0) -> int:
    """The user's `nth` account; the first (nth 0) is the one the 3Commas stand-in knows."""
    return FIRST_ACCOUNT_ID + nth * ACCOUNT_STRIDE + index


def api_key(index: int) -> str:
    return f"bench-key-{index:06d}"


def api_secret(index: int) -> str:
    return f"bench-secret-{index:06d}"


def add_keys(threecommas: ThreeCommasStandIn, count: int) -> None:
    """`count` keys, each seeing one account of its own."""
    for index in range(count):
        threecommas.add_key(
            api_key(index), api_secret(index), [demo_account(account_id(index), f"Bench {index}")]
        )


def insert_rows(
    database: Path, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Rows put straight into the bot's database (seeding a benchmark), in one transaction."""
    # the table and columns are the benchmark's own names, the values go in as parameters
    query = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.executemany(query, rows)


async def seed_users(
    settings: Settings, count: int, *, with_accounts: bool = True, accounts_per_user: int = 1
) -> None:
    """`count` connected users written straight into the database, in one transaction, each
    with `accounts_per_user` accounts (the first is the one add_keys gives their key).

    The database is opened once through the application (schema and key check), then the rows
    are written with sqlite3 using the same encryption as CredentialStore.save.
    """
    database = await Database.open(settings.database_path, master_keys_from_settings(settings))
    await database.close()
    keys = master_keys_from_settings(settings)
    now = time_text(datetime.now(UTC))
    credentials = []
    accounts = []
    for index in range(count):
        uid = user_id(index)
        credentials.append(
            (
                uid,
                keys.encrypt(api_key(index), user_id=uid, field="api_key"),
                keys.encrypt(api_secret(index), user_id=uid, field="secret"),
                "hmac",
                now,
                now,
                now,
            )
        )
        accounts.append((uid, account_id(index), f"Bench {index}", "Binance US Spot", None))
        accounts.extend(
            (uid, account_id(index, nth), f"Bench {index} #{nth + 1}", "Kraken Spot", None)
            for nth in range(1, accounts_per_user)
        )
    with contextlib.closing(sqlite3.connect(settings.database_path)) as db, db:
        db.executemany("INSERT INTO credentials VALUES (?, ?, ?, ?, ?, ?, ?)", credentials)
        if with_accounts:
            db.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?)", accounts)


# Telegram's flood limits, as the Bot API stand-in enforces them (the bot's defaults keep them).
TELEGRAM_LIMITS: dict[str, Any] = {
    "messages_per_second": 30,
    "group_messages_per_minute": 20,
    "per_chat_per_second": 1,
    "per_chat_burst": 5,
}
# Chats of the scale measurements cycle through these zones; UTC chats have no setting stored.
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Asia/Kathmandu",
)
DUE_INTERVAL = 3600
NOT_DUE_INTERVALS = (900, 1800, 3600, 7200, 21600, 86400)
# Subscriptions not due in the chosen minute fall due this long after it at the earliest.
NOT_DUE_BEFORE = timedelta(seconds=150)


def scale_chat_id(index: int) -> int:
    return -(10**12) - 500_000 - index


def chat_zone(chat_index: int) -> str:
    return ZONES[chat_index % len(ZONES)]


@dataclass(frozen=True)
class ScalePlan:
    """What seed_scheduled writes: `due` of the subscriptions fall due within one minute, each
    in a chat of its own; the others later. Subscription i belongs to user i, in chat i % chats."""

    subscriptions: int = 20_000
    chats: int = 5_000
    alerts: int = 5_000
    due: int = 1_800
    due_spread_seconds: float = 60.0  # the interval ones among the due: spread over this time


def _local_hhmm(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def _subscription_row(index: int, plan: ScalePlan, minute: datetime) -> tuple[Any, ...]:
    """(id, chat, user, account (None: all), kind, interval, daily time, created_at) of
    subscription i.

    Due ones: daily at `minute` in their chat's zone (even i), or hourly on a grid that reaches
    `minute` plus an offset spread over the plan's spread (odd i). The others: daily 2-21 h later, or
    every 15 min to 1 day on a grid whose next point is at least NOT_DUE_BEFORE after `minute`.
    """
    chat = index % plan.chats
    account = None if index >= plan.due and index % 5 == 0 else account_id(index)
    daily = index % 2 == 0
    created = minute - timedelta(days=7)
    schedule: tuple[str, int | None, str | None]
    if index < plan.due:
        if daily:
            schedule = ("daily", None, _local_hhmm(minute, chat_zone(chat)))
        else:
            offset = timedelta(seconds=plan.due_spread_seconds * index / plan.due)
            created = minute + offset - 24 * 7 * timedelta(seconds=DUE_INTERVAL)
            schedule = ("interval", DUE_INTERVAL, None)
    elif daily:
        later = minute + timedelta(hours=2 + index % 20)
        schedule = ("daily", None, _local_hhmm(later, chat_zone(chat)))
    else:
        interval = NOT_DUE_INTERVALS[index % len(NOT_DUE_INTERVALS)]
        spread = (index * 7919) % (interval - 600)
        anchor = minute + NOT_DUE_BEFORE + timedelta(seconds=spread)
        created = anchor - (1 + index % 50) * timedelta(seconds=interval)
        schedule = ("interval", interval, None)
    kind, interval_seconds, daily_time = schedule
    return (
        index + 1,
        scale_chat_id(chat),
        user_id(index),
        account,
        kind,
        interval_seconds,
        daily_time,
        time_text(created),
    )


def seed_scheduled(database: Path, plan: ScalePlan, minute: datetime) -> None:
    """The plan's chat time zones, subscriptions and alerts, written straight into the database.

    Alerts (balance < 1, which the bench accounts never meet) watch users' first accounts and
    post into the same chats. Users must be seeded first (at least plan.subscriptions).
    """
    zones = [
        (scale_chat_id(chat), chat_zone(chat))
        for chat in range(plan.chats)
        if chat_zone(chat) != "UTC"
    ]
    subscriptions = [_subscription_row(i, plan, minute) for i in range(plan.subscriptions)]
    now = time_text(datetime.now(UTC))
    alerts = [
        (
            plan.subscriptions + 1 + i,
            scale_chat_id(i % plan.chats),
            user_id(i),
            account_id(i),
            now,
        )
        for i in range(plan.alerts)
    ]
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.executemany("INSERT INTO chat_settings (chat_id, timezone) VALUES (?, ?)", zones)
        db.executemany(
            "INSERT INTO subscriptions (id, chat_id, user_id, account_id, "
            "schedule_kind, interval_seconds, daily_time, paused, last_error, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL, ?)",
            subscriptions,
        )
        db.executemany(
            "INSERT INTO alerts (id, chat_id, user_id, account_id, metric, operator, "
            "threshold, triggered, created_at) VALUES (?, ?, ?, ?, 'balance', '<', '1', 0, ?)",
            alerts,
        )


# For measurements whose subject is not 3Commas' per-IP limit (Telegram's pacing, the bot's
# overhead and capacity): the bot's budget of 3Commas calls a second lifted, as an operator with
# an arrangement with 3Commas would. (2) measures the default budget.
BUDGET_LIFTED: dict[str, str] = {"THREECOMMAS_MAX_REQUESTS_PER_SECOND": "0"}


def bot_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of `python -m bot run` pointing at the stand-ins of `settings`."""
    assert settings.telegram_bot_token is not None
    assert settings.bot_encryption_key is not None
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "TELEGRAM_BOT_TOKEN": settings.telegram_bot_token.get_secret_value(),
        "TELEGRAM_API_URL": settings.telegram_api_url,
        "THREECOMMAS_API_URL": settings.threecommas_api_url,
        "BOT_ENCRYPTION_KEY": settings.bot_encryption_key.get_secret_value(),
        "DATABASE_PATH": str(settings.database_path),
        "REFRESH_COOLDOWN_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    started_at: float  # time.monotonic() just before the spawn
    stderr_path: Path

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def rss_mb(self) -> float:
        return float(psutil.Process(self.pid).memory_info().rss) / 2**20

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far."""
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def _log_path(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir / "bot-stderr.log"


def _open_log(path: Path) -> BinaryIO:
    return path.open("wb")


@contextlib.asynccontextmanager
async def bot_process(settings: Settings, workdir: Path, **extra: str) -> AsyncIterator[BotProcess]:
    """`python -m bot run` as a child process; SIGTERM (then kill) at the end."""
    async with child_process(["bot", "run"], settings, workdir, **extra) as running:
        yield running


@contextlib.asynccontextmanager
async def floor_process(settings: Settings, workdir: Path) -> AsyncIterator[BotProcess]:
    """`python -m bench.floor` (the minimal reply-only handler) as a child process."""
    async with child_process(["bench.floor"], settings, workdir) as running:
        yield running


@contextlib.asynccontextmanager
async def child_process(
    module_args: list[str], settings: Settings, workdir: Path, **extra: str
) -> AsyncIterator[BotProcess]:
    """`python -m <module_args>` with bot_env(settings); SIGTERM (then kill) at the end."""
    stderr_path = _log_path(workdir)
    with _open_log(stderr_path) as stderr:
        started_at = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *module_args,
            cwd=workdir,  # no .env is read
            env=bot_env(settings, **extra),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    running = BotProcess(process, started_at, stderr_path)
    try:
        yield running
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def first_poll(botapi: BotApiStandIn, timeout: float = 30.0) -> float:  # noqa: ASYNC109
    """Wait (1 ms resolution) until the bot's first getUpdates call; returns time.monotonic()."""
    deadline = time.monotonic() + timeout
    while botapi.calls["getUpdates"] == 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no getUpdates within {timeout} s")
        await asyncio.sleep(0.001)
    return time.monotonic()


class RssSampler:
    """Samples a process's RSS every `interval` seconds in the background; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self.peak_mb = 0.0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> float:
        with contextlib.suppress(psutil.Error):
            rss = float(self._process.memory_info().rss) / 2**20
            self.peak_mb = max(self.peak_mb, rss)
            return rss
        return float("nan")

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self._interval)

    def __enter__(self) -> RssSampler:
        self.sample()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self.sample()


# Every account summary says when it was updated; a progress message does not.
SUMMARY = "Updated"


def summary_shown_at(botapi: BotApiStandIn, chat_id: int, after: int = 0) -> float | None:
    """When (time.monotonic(), as the stand-in accepted it) the first summary after message id
    `after` appeared in the chat: sent as the reply, or a progress message edited into it."""
    for message in botapi.messages(chat_id):
        if message.message_id > after and SUMMARY in message.plain:
            return message.edited_at if message.edits else message.sent_at
    return None


def last_summary_at(botapi: BotApiStandIn, chat_id: int) -> float | None:
    """summary_shown_at for a chat whose latest message is the summary awaited; cheap enough
    to ask for hundreds of chats many times a second."""
    last = botapi.last_message(chat_id)
    if last is None or SUMMARY not in last.plain:
        return None
    return last.edited_at if last.edits else last.sent_at


def summaries_in(botapi: BotApiStandIn, chat_id: int) -> int:
    return sum(SUMMARY in message.plain for message in botapi.messages(chat_id))


def last_message_id(botapi: BotApiStandIn, chat_id: int) -> int:
    return max((message.message_id for message in botapi.messages(chat_id)), default=0)


def machine() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu}, {psutil.cpu_count()} cores, {memory:.1f} GiB RAM; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}"
    )
