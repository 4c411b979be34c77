"""Telegram's part in opening the Mini App: init data signed with the bot's token, passed in the
URL fragment as Telegram's clients pass it (`#tgWebAppData=…&tgWebAppThemeParams=…`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from typing import Any
from urllib.parse import quote, urlencode

# Telegram's default light theme, as its clients pass it.
LIGHT_THEME = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#3390ec",
    "button_color": "#3390ec",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#f4f4f5",
}


def init_data(bot_token: str, user: dict[str, Any], auth_date: int | None = None) -> str:
    """The query string a Telegram client gives a Mini App opened by `user`."""
    fields = {
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "chat_instance": "-1",
        "chat_type": "sender",
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
    }
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    check = "\n".join(f"{name}={value}" for name, value in sorted(fields.items()))
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest}, quote_via=quote)


def dashboard_url(base_url: str, bot_token: str, user: dict[str, Any]) -> str:
    """The Mini App's address with the launch data in its fragment, to open in any browser."""
    fragment = urlencode(
        {
            "tgWebAppData": init_data(bot_token, user),
            "tgWebAppVersion": "8.0",
            "tgWebAppPlatform": "web",
            "tgWebAppThemeParams": json.dumps(LIGHT_THEME, separators=(",", ":")),
        },
        quote_via=quote,
    )
    return f"{base_url}/app#{fragment}"


def free_port() -> int:
    """A port nothing listens on now (the sandbox's HTTP server takes it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
