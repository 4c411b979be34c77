"""Who opened the Mini App: Telegram's init data, checked as Telegram documents it.

secret = HMAC-SHA256(key "WebAppData", message bot token); the data-check string is every field
but `hash` (the newer `signature` included), as `key=value` lines sorted by key, values
URL-decoded once and never re-encoded; the init data is valid when HMAC-SHA256(secret, that
string) in hex equals `hash`. The Login Widget signs with SHA256(token) instead: such a hash is
refused here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

# Telegram's init data is a few hundred bytes; a longer one is not Telegram's.
MAX_INIT_DATA_CHARS = 8192
MAX_FIELDS = 32
# auth_date may be ahead of this clock by this much (clocks differ), not more.
FUTURE_SKEW_SECONDS = 300
_SECRET_LABEL = b"WebAppData"


class InitDataRefused(Exception):
    """The init data is missing, malformed, not signed for this bot, or too old."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


@dataclass(frozen=True)
class WebAppUser:
    id: int
    first_name: str


def secret_key(bot_token: str) -> bytes:
    """The key init data is signed with: one per bot, computed once."""
    return hmac.new(_SECRET_LABEL, bot_token.encode(), hashlib.sha256).digest()


def validated_user(init_data: str, key: bytes, *, now: float, max_age: int) -> WebAppUser:
    """The user of init data signed with `key` (secret_key) at most `max_age` seconds ago."""
    if not init_data:
        raise InitDataRefused("no init data")
    if len(init_data) > MAX_INIT_DATA_CHARS:
        raise InitDataRefused("init data too long")
    try:
        pairs = parse_qsl(
            init_data, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS
        )
    except ValueError:
        raise InitDataRefused("init data is not a query string") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataRefused("a field appears twice")
    given = fields.pop("hash", "")
    check = "\n".join(f"{name}={value}" for name, value in sorted(fields.items()))
    expected = hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise InitDataRefused("wrong hash")
    auth_date = _int(fields.get("auth_date"))
    if auth_date is None or auth_date > now + FUTURE_SKEW_SECONDS:
        raise InitDataRefused("no valid auth_date")
    if now - auth_date > max_age:
        raise InitDataRefused("init data expired", expired=True)
    return _user(fields.get("user"))


def _user(text: str | None) -> WebAppUser:
    try:
        user = json.loads(text or "")
    except ValueError:
        raise InitDataRefused("user is not JSON") from None
    if not isinstance(user, dict):
        raise InitDataRefused("no user")
    user_id = user.get("id")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**63:
        raise InitDataRefused("no user id")
    first_name = user.get("first_name")
    return WebAppUser(user_id, first_name if isinstance(first_name, str) else "")


def _int(text: str | None) -> int | None:
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)
