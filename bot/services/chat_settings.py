"""A chat's settings, as one value: read once per update (or per scheduled run) and handed on.

The store keeps them in memory (`ChatSettingsStore`), so reading them costs no query after the
first. Only this module turns the stored zone name into a `ZoneInfo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.services.errors import AdminsOnly
from bot.services.schedules import parse_timezone
from bot.storage.database import Database

UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class ChatSettings:
    """What a chat has chosen. The languages issue adds `language` here."""

    zone: ZoneInfo = UTC_ZONE  # daily times and every time shown; UTC when none is set

    @property
    def zone_name(self) -> str:
        return self.zone.key


DEFAULT_SETTINGS = ChatSettings()


def zone_named(name: str | None) -> ZoneInfo:
    """The stored zone; UTC when none is set, or when this machine no longer knows it."""
    if not name:
        return UTC_ZONE
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return UTC_ZONE


class ChatSettingsService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def settings(self, chat_id: int) -> ChatSettings:
        return ChatSettings(zone=zone_named(await self._db.chats.get_timezone(chat_id)))

    async def set_timezone(self, chat_id: int, name: str, *, may_change: bool) -> ChatSettings:
        """`may_change`: the sender is the private chat's user or the group's administrator."""
        if not may_change:
            raise AdminsOnly
        found = parse_timezone(name)
        await self._db.chats.set_timezone(chat_id, found)
        return ChatSettings(zone=ZoneInfo(found))
