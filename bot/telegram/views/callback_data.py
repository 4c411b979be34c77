"""Button data `action:arg:...:tag`, signed so a tampered or moved button is refused.

Telegram lets the client choose callback data, so every button carries an HMAC tag over its
action and arguments (the owner's user id among them) and over the chat it was sent to, so
data copied onto a message in another chat is refused. The chat id is signed, not carried:
Telegram allows 64 bytes of data. The key is derived from the bot token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

CALLBACK_DATA_LIMIT = 64


class TamperedCallback(ValueError):
    """The button's data was not made by this bot for this chat."""


class CallbackSigner:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"callback-data\x00" + secret.encode()).digest()

    def _tag(self, chat_id: int, payload: str) -> str:
        signed = f"{int(chat_id)}\x00{payload}".encode()
        digest = hmac.new(self._key, signed, hashlib.sha256).digest()[:9]
        return base64.urlsafe_b64encode(digest).decode()

    def pack(self, action: str, *args: object, chat_id: int) -> str:
        """Data for a button of a message in `chat_id`; valid only there."""
        payload = ":".join([action, *map(str, args)])
        data = f"{payload}:{self._tag(chat_id, payload)}"
        if len(data.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError("callback data over Telegram's 64 bytes")
        return data

    def unpack(self, data: str | None, *, chat_id: int) -> tuple[str, list[str]]:
        """The action and arguments of a button pressed in `chat_id`, or TamperedCallback."""
        payload, _, tag = (data or "").rpartition(":")
        if not payload or not hmac.compare_digest(tag, self._tag(chat_id, payload)):
            raise TamperedCallback
        action, *args = payload.split(":")
        return action, args
