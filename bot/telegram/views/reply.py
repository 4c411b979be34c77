"""A reply, as a command or a scheduled post makes it: a text or a photo, with its buttons."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardMarkup


@dataclass(frozen=True)
class TextReply:
    text: str
    markup: InlineKeyboardMarkup | None = None
    quiet: bool = False  # posted without sound (disable_notification)


@dataclass(frozen=True)
class PhotoReply:
    png: bytes
    caption: str
    markup: InlineKeyboardMarkup | None = None


Reply = TextReply | PhotoReply
