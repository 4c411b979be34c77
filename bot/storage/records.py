"""The plain values the stores return: frozen dataclasses, money as Decimal, times in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

KEY_TYPES = ("hmac", "rsa")
SCHEDULE_KINDS = ("interval", "daily")
ALERT_METRICS = ("balance", "day")
ALERT_OPERATORS = ("<", ">")
ALL_ACCOUNTS = "all"
# The longest interval a subscription may have: a year, leap day included.
MAX_INTERVAL_SECONDS = 366 * 86400
# A daily subscription's time: HH:MM on a 24-hour clock.
DAILY_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class StoredCredentials:
    user_id: int
    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    key_type: str
    created_at: datetime
    updated_at: datetime
    last_validated_at: datetime | None


@dataclass(frozen=True)
class PendingKey:
    """A key pair the bot made for a user, waiting for the API key 3Commas gives for it."""

    user_id: int
    # None once expired: the row then only remembers that a pair was made, to say so.
    private_key: str | None = field(repr=False)
    created_at: datetime


@dataclass(frozen=True)
class KnownAccount:
    account_id: int
    name: str
    exchange: str | None = None
    refreshed_at: datetime | None = None


@dataclass(frozen=True)
class Snapshot:
    user_id: int
    account_id: int
    taken_at: datetime
    currency: str | None
    amount: Decimal | None
    usd_amount: Decimal | None
    btc_amount: Decimal | None
    profit: Decimal | None
    profit_percentage: Decimal | None
    day_profit: Decimal | None
    day_profit_percentage: Decimal | None


@dataclass(frozen=True)
class Subscription:
    id: int
    chat_id: int
    owner_user_id: int
    account_selector: str
    schedule_kind: str
    interval_seconds: int | None
    daily_time: str | None
    paused: bool
    last_error: str | None
    created_at: datetime
    message_thread_id: int | None = None  # the forum topic it posts into; None: General


@dataclass(frozen=True)
class Alert:
    id: int
    chat_id: int
    owner_user_id: int
    account_id: int
    metric: str
    operator: str
    threshold: Decimal
    triggered: bool
    created_at: datetime
    message_thread_id: int | None = None  # the forum topic it posts into; None: General
