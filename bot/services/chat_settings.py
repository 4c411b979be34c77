"""A chat's settings, as one value: read once per update (or per scheduled run) and handed on.

The store keeps them in memory (`ChatSettingsStore`), so reading them costs no query after the
first. Handlers, views and services take the zone as a `ZoneInfo`, never as a name, and the
language as a supported code.

The language: in a private chat, the one its user chose with /language, else the one Telegram
says they read (`language_code`, remembered for the posts the bot makes by itself), else
English. In a group, the one an administrator chose, else English.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.services.errors import AdminsOnly
from bot.services.languages import DEFAULT_LANGUAGE, parse_language, supported
from bot.services.schedules import parse_timezone
from bot.services.schedules import zone as stored_zone
from bot.storage.database import Database

UTC_ZONE = stored_zone(None)


@dataclass(frozen=True)
class ChatSettings:
    """What a chat has chosen."""

    zone: ZoneInfo = UTC_ZONE  # daily times and every time shown; UTC when none is set
    language: str = DEFAULT_LANGUAGE  # a code of LANGUAGES

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


def is_private_chat(chat_id: int) -> bool:
    """A private chat's id is its user's id, always positive; groups' ids are negative."""
    return chat_id > 0


ZoneListener = Callable[[int], Awaitable[None]]


class ChatSettingsService:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._zone_listeners: list[ZoneListener] = []

    def add_zone_listener(self, listener: ZoneListener) -> None:
        """Called with the chat's id after its zone changed (the subscriptions reschedule)."""
        self._zone_listeners.append(listener)

    async def settings(self, chat_id: int, *, language_code: str | None = None) -> ChatSettings:
        """`language_code`: what Telegram says the private chat's user reads, when an update
        from them is being answered; remembered for the posts made without one."""
        zone = _known_zone(await self._db.chats.get_timezone(chat_id))
        return ChatSettings(zone=zone, language=await self._language(chat_id, language_code))

    async def _language(self, chat_id: int, language_code: str | None) -> str:
        stored = await self._db.chats.get_language(chat_id)
        chosen = supported(stored.chosen)
        if chosen is not None:
            return chosen
        if not is_private_chat(chat_id):
            return DEFAULT_LANGUAGE
        if language_code is None:
            return supported(stored.telegram) or DEFAULT_LANGUAGE
        told = supported(language_code) or DEFAULT_LANGUAGE
        if told != stored.telegram:
            await self._db.chats.set_telegram_language(chat_id, told)
        return told

    async def set_timezone(self, chat_id: int, name: str, *, may_change: bool) -> ChatSettings:
        """`may_change`: the sender is the private chat's user or the group's administrator."""
        if not may_change:
            raise AdminsOnly("timezone")
        found = parse_timezone(name)
        await self._db.chats.set_timezone(chat_id, found)
        for listener in self._zone_listeners:
            await listener(chat_id)
        return await self.settings(chat_id)

    async def set_language(self, chat_id: int, given: str, *, may_change: bool) -> ChatSettings:
        """`/language <given>`; `may_change` as for the time zone. Read at each post's sending,
        so nothing needs rescheduling."""
        if not may_change:
            raise AdminsOnly("language")
        code = parse_language(given)
        await self._db.chats.set_language(chat_id, chosen=code)
        return await self.settings(chat_id)
