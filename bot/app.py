"""Wiring only: build the Application, register every handler, run it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.ext import (
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import ConfigError, Settings
from bot.logs import configure_logging, register_secret
from bot.services.clock import Clock
from bot.services.runtime import Services
from bot.storage.encryption import MasterKeyError
from bot.storage.errors import StorageStartupError
from bot.telegram.callback_data import CallbackSigner
from bot.telegram.context import CONTEXT_TYPES, BotApplication
from bot.telegram.flood import FloodLimiter
from bot.telegram.handlers.access import on_error, only_allowed_users
from bot.telegram.handlers.accounts import accounts_command, disconnect_command
from bot.telegram.handlers.connect import cancel_command, connect_command, private_text
from bot.telegram.handlers.help import help_command, start, unknown_command
from bot.telegram.handlers.refresh import refresh_button_pressed, refresh_command
from bot.telegram.handlers.subscriptions import (
    alert_command,
    chat_migrated,
    membership_changed,
    subscribe_command,
    subscriptions_command,
    timezone_command,
    unsubscribe_command,
)
from bot.telegram.keyboards import REFRESH, REFRESH_ALL
from bot.telegram.notifications import Notifier
from bot.telegram.texts import COMMANDS, GROUP_COMMANDS

logger = logging.getLogger(__name__)

STARTUP_ERRORS = (ConfigError, MasterKeyError, StorageStartupError)
CONCURRENT_UPDATES = 1024


def _token(settings: Settings) -> str:
    if settings.telegram_bot_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN: expected the token from @BotFather")
    return settings.telegram_bot_token.get_secret_value()


def build_application(
    settings: Settings,
    services: Services,
    update_processor: BaseUpdateProcessor | None = None,
) -> BotApplication:
    """The bot with every handler; `update_processor` lets the stand-ins see updates finish."""
    token = _token(settings)
    application: BotApplication = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(update_processor or CONCURRENT_UPDATES)
        .rate_limiter(FloodLimiter())
        .connection_pool_size(64)
        .get_updates_connection_pool_size(2)
        .build()
    )
    application.bot_data.attach(services, CallbackSigner(token), Notifier(application))

    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, only_allowed_users), group=-1)
    application.add_handlers(
        [
            CommandHandler("start", start),
            CommandHandler("help", help_command),
            CommandHandler("connect", connect_command),
            CommandHandler("cancel", cancel_command),
            CommandHandler("accounts", accounts_command),
            CommandHandler("refresh", refresh_command),
            CommandHandler("disconnect", disconnect_command),
            CommandHandler("subscribe", subscribe_command),
            CommandHandler("subscriptions", subscriptions_command),
            CommandHandler("unsubscribe", unsubscribe_command),
            CommandHandler("alert", alert_command),
            CommandHandler("timezone", timezone_command),
            MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated),
            ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
            CallbackQueryHandler(refresh_button_pressed, pattern=f"^({REFRESH}|{REFRESH_ALL}):"),
            MessageHandler(private & filters.TEXT & ~filters.COMMAND, private_text),
            # after every CommandHandler: only a command none of them took gets here
            MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, unknown_command),
        ]
    )
    application.add_error_handler(on_error)
    return application


async def set_command_menus(application: BotApplication) -> None:
    def commands(pairs: list[tuple[str, str]]) -> list[BotCommand]:
        return [BotCommand(name, description) for name, description in pairs]

    await application.bot.set_my_commands(
        commands(COMMANDS), scope=BotCommandScopeAllPrivateChats()
    )
    await application.bot.set_my_commands(
        commands(GROUP_COMMANDS), scope=BotCommandScopeAllGroupChats()
    )


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    clock: Clock | None = None,
    *,
    update_processor: BaseUpdateProcessor | None = None,
) -> AsyncIterator[BotApplication]:
    """The bot polling for updates until the block ends; then in-flight work is finished."""
    register_secret(_token(settings))
    services = await Services.open(settings, clock)
    try:
        application = build_application(settings, services, update_processor)
        await application.initialize()
        try:
            await set_command_menus(application)
            await application.start()
            await application.bot_data.notifier.start()
            assert application.updater is not None
            await application.updater.start_polling(
                poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES
            )
            yield application
        finally:
            await _stop(application, settings.shutdown_grace_seconds)
    finally:
        await services.close()


async def _stop(application: BotApplication, grace_seconds: float) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        try:
            await asyncio.wait_for(_finish_in_flight(application), timeout=grace_seconds)
        except TimeoutError:
            logger.warning("in-flight work did not finish within %.0f s; stopping", grace_seconds)
    await application.shutdown()


async def _finish_in_flight(application: BotApplication) -> None:
    await application.stop()
    await application.bot_data.services.accounts.drain()


async def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then finish in-flight refreshes and return."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with running_bot(settings) as application:
        logger.info("bot @%s is running", application.bot.username)
        await stop.wait()
        logger.info("stopping: finishing in-flight work")


def run_bot(settings: Settings) -> int:
    configure_logging(settings.log_level_number)
    try:
        asyncio.run(serve(settings))
    except STARTUP_ERRORS as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    return 0
