"""How many subscriptions and alerts a chat and a user may have (set in bot/config.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.errors import LimitReached


@dataclass(frozen=True)
class EntryLimits:
    per_chat: int
    per_user: int

    def ensure_room(self, entries: str, in_chat: int, of_user: int) -> None:
        """LimitReached when one more of `entries` would pass the chat's or the user's limit."""
        if in_chat >= self.per_chat:
            raise LimitReached(entries, "chat", self.per_chat)
        if of_user >= self.per_user:
            raise LimitReached(entries, "user", self.per_user)
