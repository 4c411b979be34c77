"""A chat's settings, as one value: read once per update (or per scheduled run) and handed on.

The store keeps them in memory (`ChatSettingsStore`), so reading them costs no query after the
first. Handlers, views and services take the zone as a `ZoneInfo`, never as a name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.services.errors import AdminsOnly
from bot.services.schedules import parse_timezone
from bot.services.schedules import zone as stored_zone
from bot.storage.database import Database

UTC_ZONE = stored_zone(None)


@dataclass(frozen=True)
class ChatSettings:
    """What a chat has chosen. The languages issue adds `language` here."""

    zone: ZoneInfo = UTC_ZONE  # daily times and every time shown; UTC when none is set

    @property
    def zone_name(self) -> str:
        return self.zone.key


def _known_zone(name: str | None) -> ZoneInfo:
    """The stored zone; UTC when none is set, or when this machine no longer knows it (the
    scheduler tells the owner of a daily subscription that cannot run)."""
    try:
        return stored_zone(name)
    except (ValueError, ZoneInfoNotFoundError):
        return UTC_ZONE


ZoneListener = Callable[[int], Awaitable[None]]


class ChatSettingsService:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._zone_listeners: list[ZoneListener] = []

    def add_zone_listener(self, listener: ZoneListener) -> None:
        """Called with the chat's id after its zone changed (the subscriptions reschedule)."""
        self._zone_listeners.append(listener)

    async def settings(self, chat_id: int) -> ChatSettings:
        return ChatSettings(zone=_known_zone(await self._db.chats.get_timezone(chat_id)))

    async def set_timezone(self, chat_id: int, name: str, *, may_change: bool) -> ChatSettings:
        """`may_change`: the sender is the private chat's user or the group's administrator."""
        if not may_change:
            raise AdminsOnly
        found = parse_timezone(name)
        await self._db.chats.set_timezone(chat_id, found)
        for listener in self._zone_listeners:
            await listener(chat_id)
        return ChatSettings(zone=stored_zone(found))
