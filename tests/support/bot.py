"""Driving the real application end to end through the Bot API and 3Commas stand-ins."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bot.services.clock import Clock
from bot.telegram.context import BotApplication
from standins.botapi import BotApiStandIn, SentMessage
from standins.demo import DEMO_API_KEY, DEMO_SECRET, DEMO_USER_ID, Sandbox
from standins.handled import reporting_bot


class Chat:
    """One user in one chat: says things and reads what the bot answered."""

    def __init__(
        self,
        botapi: BotApiStandIn,
        *,
        user_id: int = DEMO_USER_ID,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Demo",
        language: str | None = None,
    ) -> None:
        """`language`: the `language_code` the user's Telegram app sends (none by default)."""
        self.botapi = botapi
        if language is not None:
            botapi.set_language(user_id, language)
        self.user_id = user_id
        self.chat_id = chat_id if chat_id is not None else user_id
        self.chat_type = chat_type
        self.first_name = first_name
        self.last_incoming_id = 0

    def _seen(self) -> dict[int, str]:
        return {m.message_id: m.text for m in self.botapi.messages(self.chat_id)}

    def _changed_since(self, seen: dict[int, str]) -> list[SentMessage]:
        return [m for m in self.botapi.messages(self.chat_id) if seen.get(m.message_id) != m.text]

    def send(self, text: str, *, topic: int | None = None) -> int:
        """Offer `text` from this user in this chat (in forum topic `topic`); its message id."""
        return self.botapi.send_text(
            text,
            user_id=self.user_id,
            chat_id=self.chat_id,
            chat_type=self.chat_type,
            first_name=self.first_name,
            message_thread_id=topic,
        )

    async def say(self, text: str, *, timeout: float = 15.0) -> list[SentMessage]:
        """Send `text`; return the bot messages that appeared or changed once it was handled."""
        seen = self._seen()
        queued_before = self.botapi.last_update_id
        self.last_incoming_id = self.send(text)
        await self._handled(queued_before, timeout)
        return self._changed_since(seen)

    async def reply(self, text: str, **options: Any) -> SentMessage:
        """Send `text` and return the one last message the bot sent or edited for it."""
        changed = await self.say(text, **options)
        assert changed, f"no answer to {text!r}\n{self.botapi.describe()}"
        return changed[-1]

    async def press(self, message: SentMessage, label: str) -> list[SentMessage]:
        seen = self._seen()
        queued_before = self.botapi.last_update_id
        self.botapi.press_button(
            message, message.button_data(label), user_id=self.user_id, first_name=self.first_name
        )
        await self._handled(queued_before, 15.0)
        return self._changed_since(seen)

    async def _handled(self, queued_before: int, timeout: float) -> None:
        """Wait for the update just sent; privacy mode may have kept it from the bot."""
        if self.botapi.last_update_id != queued_before:
            await self.botapi.wait_handled(self.botapi.last_update_id, timeout)

    def incoming_deleted(self, message_id: int | None = None) -> bool:
        wanted = self.last_incoming_id if message_id is None else message_id
        return (self.chat_id, wanted) in self.botapi.deleted_incoming

    async def connect(self, api_key: str = DEMO_API_KEY, secret: str = DEMO_SECRET) -> SentMessage:
        answer = await self.reply(f"/connect {api_key} {secret}")
        assert "Connected" in answer.plain, answer.plain
        return answer


@contextlib.asynccontextmanager
async def bot_running(
    sandbox: Sandbox, *, clock: Clock | None = None, **settings: Any
) -> AsyncIterator[BotApplication]:
    """The real application against the sandbox's stand-ins, with settings overridden."""
    async with reporting_bot(
        sandbox.settings.model_copy(update=settings), sandbox.botapi, clock
    ) as application:
        yield application


async def ask(chat: Chat, text: str, *, topic: int | None = None) -> SentMessage:
    """Send `text` (in forum topic `topic`) and wait for the bot's reply to that message."""
    incoming = chat.send(text, topic=topic)
    found: list[SentMessage] = []

    def answered() -> bool:
        found[:] = [
            m for m in chat.botapi.messages(chat.chat_id) if m.reply_to_message_id == incoming
        ]
        return bool(found)

    await chat.botapi.wait_for(answered, timeout=10)
    return found[0]
