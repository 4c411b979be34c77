"""How Python values are written to and read from columns: times as UTC ISO text, money as
Decimal text (never float)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.targets import ALL_ACCOUNTS, Target


def now_text() -> str:
    return time_text(datetime.now(UTC))


def time_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("expected a timezone-aware datetime")
    # A fixed width keeps the text sortable in SQL.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def optional_time_text(moment: datetime | None) -> str | None:
    return None if moment is None else time_text(moment)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def parse_optional_time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def decimal_text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, Decimal | int):
        raise TypeError(f"expected a Decimal, got {type(value).__name__}")
    return str(Decimal(value))


def parse_decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def target_column(target: Target) -> int | None:
    """Which account, as an `account_id` column holds it: NULL for all of them."""
    if target == ALL_ACCOUNTS:
        return None
    if not isinstance(target, int):
        raise ValueError(f"an account is an id or {ALL_ACCOUNTS!r}, not {target!r}")
    return target


def parse_target(value: object) -> Target:
    """An `account_id` column's account; ValueError for what no release wrote."""
    if value is None:
        return ALL_ACCOUNTS
    if not isinstance(value, int):
        raise ValueError(f"account_id must be an integer or NULL, not {value!r}")
    return value
