"""The plain values the stores return: frozen dataclasses, money as Decimal, times in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final


class KeyType(StrEnum):
    HMAC = "hmac"
    RSA = "rsa"


class ScheduleKind(StrEnum):
    INTERVAL = "interval"
    DAILY = "daily"


class SubscriptionContent(StrEnum):
    """What a subscription posts."""

    SUMMARY = "summary"
    HOLDINGS = "holdings"
    CHART = "chart"
    PROFIT = "profit"


class AlertMetric(StrEnum):
    BALANCE = "balance"
    DAY = "day"  # the day's profit in %


class AlertOperator(StrEnum):
    BELOW = "<"
    ABOVE = ">"


KEY_TYPES = tuple(KeyType)
SCHEDULE_KINDS = tuple(ScheduleKind)
SUBSCRIPTION_CONTENTS = tuple(SubscriptionContent)
ALERT_METRICS = tuple(AlertMetric)
ALERT_OPERATORS = tuple(AlertOperator)
ALL_ACCOUNTS: Final = "all"
# The longest interval a subscription may have: a year, leap day included.
MAX_INTERVAL_SECONDS = 366 * 86400
# A daily subscription's time: HH:MM on a 24-hour clock.
DAILY_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class StoredCredentials:
    user_id: int
    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    key_type: KeyType
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


def account_order(account: KnownAccount) -> tuple[str, str, int]:
    """The one order accounts are listed in everywhere: by name ignoring case, then by id."""
    return account.name.casefold(), account.name, account.account_id


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
    day_profit_usd: Decimal | None = None  # today in USD, for totals (None before schema 7)
    updated_at: datetime | None = None  # when 3Commas last updated the balance (idem)


@dataclass(frozen=True)
class Subscription:
    id: int
    chat_id: int
    owner_user_id: int
    account_selector: str
    schedule_kind: ScheduleKind
    interval_seconds: int | None
    daily_time: str | None
    paused: bool
    last_error: str | None
    created_at: datetime
    message_thread_id: int | None = None  # the forum topic it posts into; None: General
    content: SubscriptionContent = SubscriptionContent.SUMMARY


@dataclass(frozen=True)
class Alert:
    id: int
    chat_id: int
    owner_user_id: int
    account_id: int
    metric: AlertMetric
    operator: AlertOperator
    threshold: Decimal
    triggered: bool
    created_at: datetime
    message_thread_id: int | None = None  # the forum topic it posts into; None: General
    currency: str | None = None  # of a balance threshold; None: set before currencies were kept
