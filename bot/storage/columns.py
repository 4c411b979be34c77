"""How Python values are written to and read from columns: times as UTC ISO text, money as
Decimal text (never float)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


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
