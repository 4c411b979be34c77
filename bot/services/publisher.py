"""What a service needs from the chat side to post by itself (scheduled posts, alerts, and the
deal feed's poller): put a post into a chat or a forum topic."""

from __future__ import annotations

from typing import Protocol, TypeVar

P_contra = TypeVar("P_contra", contravariant=True)


class Publisher(Protocol[P_contra]):
    """Posts `post` (made by the chat side: a text or a photo with its buttons) to a chat, into
    `topic` when given. Follows the chat when it moved, posts to the chat's main thread when the
    topic is gone, and pauses the chat's subscriptions when the bot was shut out. True once the
    chat accepted it; False when it could not be posted now (it is posted by a later run)."""

    async def publish(self, chat_id: int, post: P_contra, *, topic: int | None = None) -> bool: ...

    async def tell_user(self, user_id: int, text: str) -> None:
        """A private word to an owner; nothing when it cannot be told."""
        ...
