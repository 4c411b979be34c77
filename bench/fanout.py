"""(3) 300 group subscriptions due at the same instant, Telegram stand-in enforcing 30 msg/s."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import (
    BUDGET_LIFTED,
    Row,
    account_id,
    add_keys,
    bot_process,
    first_poll,
    insert_rows,
    seed_users,
    user_id,
)
from bot.config import Settings
from bot.storage.columns import time_text
from standins.demo import running_standins

RATE = 30
INTERVAL = 3600
DUE_AFTER = 6.0  # seconds after seeding: the bot is polling by then


def group_chat_id(index: int) -> int:
    return -(10**12) - 1000 - index


def seed_subscriptions(database: Path, count: int, due: datetime) -> None:
    """Interval subscriptions whose grid puts the next run of all of them at `due`."""
    created = time_text(due - timedelta(seconds=INTERVAL))
    rows = [
        (group_chat_id(i), user_id(i), account_id(i), "interval", INTERVAL, None, 0, None, created)
        for i in range(count)
    ]
    columns = [
        "chat_id",
        "user_id",
        "account_id",
        "schedule_kind",
        "interval_seconds",
        "daily_time",
        "paused",
        "last_error",
        "created_at",
    ]
    insert_rows(database, "subscriptions", columns, rows)


async def measure(data: Path, count: int) -> Row:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(data, base, messages_per_second=RATE) as sandbox:
        botapi = sandbox.botapi
        add_keys(sandbox.threecommas, count)
        await seed_users(sandbox.settings, count)
        due = datetime.now(UTC) + timedelta(seconds=DUE_AFTER)
        due_monotonic = time.monotonic() + DUE_AFTER
        seed_subscriptions(sandbox.settings.database_path, count, due)
        async with bot_process(sandbox.settings, data, **BUDGET_LIFTED) as bot:
            await first_poll(botapi)
            if time.monotonic() > due_monotonic:
                raise RuntimeError("the bot started after the subscriptions were due")

            def delivered() -> int:
                return sum(1 for i in range(count) if botapi.messages(group_chat_id(i)))

            ideal = count / RATE
            with contextlib.suppress(TimeoutError):
                await botapi.wait_for(lambda: delivered() >= count, timeout=DUE_AFTER + ideal * 4)
            finished = time.monotonic()
            arrived = delivered()
            await asyncio.sleep(1.0)  # anything late or doubled
            messages = sum(len(botapi.messages(group_chat_id(i))) for i in range(count))
            summaries = sum(
                1
                for i in range(count)
                for m in botapi.messages(group_chat_id(i))
                if f"Bench {i}" in m.plain and "Updated" in m.plain
            )
            errors = [line for line in bot.stderr().splitlines() if "Traceback" in line]
    took = finished - due_monotonic
    lost = count - arrived
    share = ideal / took if took > 0 else float("nan")
    return Row(
        3,
        f"Notification fan-out: {count} group subscriptions due at once, Bot API stand-in "
        f"enforcing {RATE} messages/s",
        f"all delivered {took:.2f} s after due (ideal {ideal:.0f} s): {share:.0%} of the allowed "
        f"rate; lost {lost}; 429s received {botapi.flood_429s}; {messages} messages, "
        f"{summaries} with the account summary; tracebacks in the bot's log: {len(errors)}",
        ">= 90% of the allowed rate, nothing lost, no 429",
        share >= 0.9 and lost == 0 and botapi.flood_429s == 0,
    )
