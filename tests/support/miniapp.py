"""Mini App init data, signed here as Telegram documents it, independently of bot/miniapp.

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app:
secret_key = HMAC_SHA256(<bot_token>, "WebAppData") (key "WebAppData", message the token);
data_check_string = every received field except hash, sorted alphabetically, `key=<value>`
joined by "\\n"; hash = hex(HMAC_SHA256(data_check_string, secret_key)).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote, urlencode


def webapp_secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode("utf-8"), hashlib.sha256).digest()


def login_widget_secret(bot_token: str) -> bytes:
    """The Login Widget's key: the wrong one for Mini Apps (aiogram #1545)."""
    return hashlib.sha256(bot_token.encode("utf-8")).digest()


def user_json(user: dict[str, Any]) -> str:
    """As Telegram's clients write it: compact, slashes escaped (`https:\\/\\/t.me\\/...`)."""
    return json.dumps(user, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/")


def sign_fields(fields: dict[str, str], key: bytes) -> str:
    """The init data query string of `fields` (decoded values) with its hash under `key`."""
    check = "\n".join(f"{name}={fields[name]}" for name in sorted(fields))
    digest = hmac.new(key, check.encode("utf-8"), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest}, quote_via=quote)


def signed_init_data(bot_token: str, user: dict[str, Any], auth_date: int, **extra: str) -> str:
    """Init data for `user`, as a Telegram client passes it to the Mini App."""
    fields = {"user": user_json(user), "auth_date": str(auth_date), **extra}
    return sign_fields(fields, webapp_secret(bot_token))


def authorization(init_data: str) -> dict[str, str]:
    return {"Authorization": f"tma {init_data}"}
