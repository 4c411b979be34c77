"""The bot under test tells the Bot API stand-in when it has finished with each update.

Tests and the sandbox wait for that event (`BotApiStandIn.wait_handled`) instead of guessing
from a quiet period, which judged the bot idle while a slow 3Commas call was still running.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from telegram import Update

from bot.app import CONCURRENT_UPDATES, running_bot
from bot.config import Settings
from bot.services.clock import Clock
from bot.telegram.context import BotApplication
from bot.telegram.transport.incoming import IncomingUpdates
from standins.botapi import BotApiStandIn


class HandledReporter(IncomingUpdates):
    """The bot's own processor, reporting each update's id to the stand-in when it is done
    with it (handled, or dropped past its sender's budget)."""

    def __init__(self, botapi: BotApiStandIn, slots: int = 1) -> None:
        super().__init__(slots)
        self._botapi = botapi

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await super().do_process_update(update, coroutine)
        finally:
            if isinstance(update, Update):
                self._botapi.report_handled(update.update_id)


@contextlib.asynccontextmanager
async def reporting_bot(
    settings: Settings, botapi: BotApiStandIn, clock: Clock | None = None
) -> AsyncIterator[BotApplication]:
    """The real bot polling `botapi`, reporting every update it handled and its background work."""
    reporter = HandledReporter(botapi, CONCURRENT_UPDATES)
    async with running_bot(settings, clock, update_processor=reporter) as application:
        # snapshots and alert checks a refresh leaves running after its answer
        botapi.background_work = application.bot_data.services.accounts.drain
        try:
            yield application
        finally:
            botapi.background_work = None
