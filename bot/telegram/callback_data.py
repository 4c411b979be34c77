"""Button data `action:arg:...:tag`, signed so a tampered button is refused.

Telegram lets the client choose callback data, so every button carries an HMAC tag over its
action and arguments (the owner's user id among them); the key is derived from the bot token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

CALLBACK_DATA_LIMIT = 64


class TamperedCallback(ValueError):
    """The button's data was not made by this bot."""


class CallbackSigner:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"callback-data\x00" + secret.encode()).digest()

    def _tag(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:9]
        return base64.urlsafe_b64encode(digest).decode()

    def pack(self, action: str, *args: object) -> str:
        payload = ":".join([action, *map(str, args)])
        data = f"{payload}:{self._tag(payload)}"
        if len(data.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError("callback data over Telegram's 64 bytes")
        return data

    def unpack(self, data: str | None) -> tuple[str, list[str]]:
        payload, _, tag = (data or "").rpartition(":")
        if not payload or not hmac.compare_digest(tag, self._tag(payload)):
            raise TamperedCallback
        action, *args = payload.split(":")
        return action, args
