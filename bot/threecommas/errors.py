"""The 3Commas error family and the mapping from an HTTP response to one of them.

Every message here is safe to log and to show: no API key, secret, signature or raw body.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from typing import Any

# 3Commas documents a 300 s block after too many requests; a missing Retry-After means that.
DEFAULT_RATE_LIMIT_BLOCK = 300.0
# A 418 ban lasts 2 minutes to 3 days; without a header assume the shortest.
DEFAULT_BAN_BLOCK = 120.0

_UNAVAILABLE_CODES = frozenset({"unknown_error", "unknown_market_api_error"})


class ThreeCommasError(Exception):
    """Base of every error the 3Commas client raises."""

    # What happened, for logs and exception messages; users get their sentence from the front
    # end (bot/telegram/texts.py), the one home of what the bot says.
    summary: str = "3Commas refused the request."

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        description: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        # 3Commas' own error_description: a fixed sentence, kept for logs, never the raw body.
        self.description = description
        parts = [detail or self.summary]
        if status is not None:
            parts.append(f"HTTP {status}")
        if code:
            parts.append(code)
        super().__init__(" | ".join(parts))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r})"


class InvalidApiKey(ThreeCommasError):
    summary = (
        "Your 3Commas API key was refused: it is wrong, expired, or limited to other IP addresses."
    )


class PermissionDenied(ThreeCommasError):
    summary = (
        "Your 3Commas API key lacks a permission for this: give it Accounts read "
        "(and Accounts write only if refreshing is refused)."
    )

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        description: str | None = None,
        permission: str | None = None,
    ) -> None:
        super().__init__(detail, status=status, code=code, description=description)
        self.permission = permission


class BotsPermissionMissing(PermissionDenied):
    """403 from a bots or deals endpoint: the key lacks BOTS_READ ("Bots read" in 3Commas)."""

    summary = "Your 3Commas API key lacks the Bots read permission."


class AccountNotFound(ThreeCommasError):
    summary = "3Commas has no such account for this API key."


class ExchangeKeysInvalid(ThreeCommasError):
    summary = (
        "The exchange connection's keys stored in 3Commas are no longer valid: "
        "fix them in 3Commas (My Exchanges), not here."
    )


class RateLimited(ThreeCommasError):
    summary = "3Commas is limiting requests for this API key; please try again later."

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: float,
        banned: bool = False,
        status: int | None = None,
        code: str | None = None,
        description: str | None = None,
    ) -> None:
        self.retry_after = max(0.0, retry_after)
        self.banned = banned
        what = "banned this IP" if banned else "rate limited this API key"
        detail = detail or f"3Commas {what}; retry after {self.retry_after:.1f} s"
        super().__init__(detail, status=status, code=code, description=description)

    def __repr__(self) -> str:
        return (
            f"RateLimited(status={self.status!r}, retry_after={self.retry_after:.1f}, "
            f"banned={self.banned!r})"
        )


class Unavailable(ThreeCommasError):
    summary = "3Commas or the exchange is unavailable right now; please try again later."


class UnexpectedResponse(Unavailable):
    """A response that could not be read: HTML, non-JSON, truncated, or the wrong shape."""


def parse_retry_after(headers: Mapping[str, str], default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), else `default`."""
    value = headers.get("Retry-After")
    if value is None:
        return default
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return default
    return max(0.0, seconds)


def _error_fields(body: bytes) -> tuple[str | None, str | None, dict[str, Any]]:
    """(code, description, attributes) from a JSON error body, or Nones for anything else."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurd nesting
        return None, None, {}
    if not isinstance(data, dict):
        return None, None, {}
    code = data.get("error")
    description = data.get("error_description")
    attributes = data.get("error_attributes")
    return (
        code if isinstance(code, str) else None,
        description[:200] if isinstance(description, str) else None,
        attributes if isinstance(attributes, dict) else {},
    )


def error_from_response(status: int, body: bytes, headers: Mapping[str, str]) -> ThreeCommasError:
    """The error for a non-2xx response (the mapping table of 3commas-api.md)."""
    code, description, attributes = _error_fields(body)
    fields: dict[str, Any] = {"status": status, "code": code, "description": description}
    if status == 429:
        return RateLimited(
            retry_after=parse_retry_after(headers, DEFAULT_RATE_LIMIT_BLOCK), **fields
        )
    if status == 418:
        return RateLimited(
            retry_after=parse_retry_after(headers, DEFAULT_BAN_BLOCK), banned=True, **fields
        )
    if status >= 500 or code in _UNAVAILABLE_CODES:
        return Unavailable(**fields)
    if status == 401:
        return InvalidApiKey(**fields)
    if status == 403:
        permission = attributes.get("permission")
        return PermissionDenied(
            permission=permission if isinstance(permission, str) else None, **fields
        )
    if status == 404:
        return AccountNotFound(**fields)
    if code == "invalid_api_key":
        return ExchangeKeysInvalid(**fields)
    return ThreeCommasError(**fields)
