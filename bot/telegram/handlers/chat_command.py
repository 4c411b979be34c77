"""The one shape of every command that is not per-account: `/<name> [words]` in a chat.

A command says what it does (`ChatCommand.run`, given a `ChatRequest`). Done here once, for
every such command: who is asking and where (an update without a sender or a chat is not
answered), the chat's settings (resolved once for the update, handlers/settings.py), and the
error sentence when the work fails as a service may fail (FAILURES).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.services.chat_settings import ChatSettings
from bot.services.errors import FAILURES
from bot.services.runtime import Services
from bot.telegram.context import Context
from bot.telegram.handlers.common import Asker, argument_text, asker, reply_error
from bot.telegram.transport.replies import send_html


@dataclass(frozen=True)
class ChatRequest:
    """One run of a chat command: who asked, where, and the chat's settings."""

    context: Context
    who: Asker

    @property
    def settings(self) -> ChatSettings:
        return self.context.settings

    @property
    def services(self) -> Services:
        return self.context.bot_data.services

    @property
    def argument(self) -> str:
        """What follows the command, line breaks kept."""
        return argument_text(self.who.message)

    async def reply(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Answer in the chat, as a reply to the command."""
        await send_html(
            self.context.bot,
            self.who.chat_id,
            text,
            reply_markup=markup,
            reply_to=self.who.message.message_id,
        )


@dataclass(frozen=True)
class ChatCommand:
    """A chat command, declared: its name, its /help line and menu entry, and what it does."""

    name: str  # the command, without the slash
    usage: str  # how to call it, in /help: `/timezone Europe/Berlin`
    does: str  # what it does (a sentence of texts.py): its menu description and /help line
    run: Callable[[ChatRequest], Awaitable[None]]
    private_only: bool = False

    def command_handler(self) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
        async def command(update: Update, context: Context) -> None:
            who = asker(update)
            if who is None:
                return
            try:
                await self.run(ChatRequest(context, who))
            except FAILURES as error:
                await reply_error(context, who, error)

        return command
