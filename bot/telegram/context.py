"""The typed context every handler receives: `context.bot_data.services` and friends, and the
chat's settings (its language's translator among them), resolved once per update."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.services.chat_settings import ChatSettings
from bot.services.runtime import Services
from bot.telegram.views.callback_data import CallbackSigner
from bot.telegram.views.translator import Translator, translator


@dataclass
class ConnectSession:
    """A /connect in progress: waiting for the API key, then for the secret."""

    api_key: str | None = None


@dataclass(frozen=True)
class OpenProgress:
    """A progress message not settled yet, and the task that will settle it."""

    chat_id: int
    message_id: int
    task: asyncio.Task[Any]


@dataclass
class BotData:
    _services: Services | None = None
    _signer: CallbackSigner | None = None
    connecting: dict[int, ConnectSession] = field(default_factory=dict)
    open_progress: set[OpenProgress] = field(default_factory=set)

    def attach(self, services: Services, signer: CallbackSigner) -> None:
        self._services, self._signer = services, signer

    @property
    def services(self) -> Services:
        assert self._services is not None, "services are attached in build_application"
        return self._services

    @property
    def signer(self) -> CallbackSigner:
        assert self._signer is not None, "the signer is attached in build_application"
        return self._signer


# What a job callback is typed as receiving (PTB's JobQueue is typed with the base class).
JobContext = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]


class Context(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]):
    """PTB makes one per update and hands it to every handler group: the first groups resolve
    the chat's settings into it (handlers/settings.py), the handlers read them."""

    chat_settings: ChatSettings | None = None

    @property
    def settings(self) -> ChatSettings:
        """The chat's settings; the defaults for an update without a chat."""
        return self.chat_settings or ChatSettings()

    @property
    def t(self) -> Translator:
        """The chat's language."""
        return translator(self.settings.language)


BotApplication = Application[ExtBot[Any], Context, dict[Any, Any], dict[Any, Any], BotData, Any]
CONTEXT_TYPES: ContextTypes[Context, dict[Any, Any], dict[Any, Any], BotData] = ContextTypes(
    context=Context, bot_data=BotData
)
