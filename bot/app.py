"""Wiring only: build the Application, register every handler, run it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    MenuButtonWebApp,
    Update,
    WebAppInfo,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import ConfigError, Settings
from bot.logs import configure_logging, register_secret, secrets
from bot.services.clock import Clock
from bot.services.publisher import Publisher
from bot.services.runtime import Services
from bot.storage.encryption import MasterKeyError
from bot.storage.errors import StorageStartupError
from bot.telegram.commands import (
    ACCOUNT_COMMANDS,
    COMMANDS,
    GROUP_COMMANDS,
    Command,
    unknown_command,
)
from bot.telegram.context import CONTEXT_TYPES, BotApplication
from bot.telegram.handlers.access import on_error, only_allowed_users
from bot.telegram.handlers.connect import (
    CONNECT_COMMAND,
    connect_choice_pressed,
    private_text,
    schedule_key_pair_expiry,
)
from bot.telegram.handlers.scheduled import ScheduledPosts
from bot.telegram.handlers.subscriptions import chat_migrated, membership_changed
from bot.telegram.handlers.topics import remember_topic
from bot.telegram.notifications import AlertPosts, TelegramPublisher
from bot.telegram.transport.aiohttp_request import BotApiClients
from bot.telegram.transport.flood import FloodLimiter
from bot.telegram.transport.incoming import IncomingUpdates
from bot.telegram.transport.startup import (
    EXIT_PORT_UNAVAILABLE,
    StartupFailure,
    connect,
    telegram_step,
)
from bot.telegram.transport.webhook import BotHttpServer, LastUpdate, webhook_secret
from bot.telegram.views.callback_data import CallbackSigner
from bot.telegram.views.keyboards import HAVE_A_KEY, MAKE_KEY_PAIR
from bot.telegram.views.reply import Reply
from bot.telegram.views.texts import DASHBOARD_BUTTON

logger = logging.getLogger(__name__)

STARTUP_ERRORS = (ConfigError, MasterKeyError, StorageStartupError)
# The same updates in both modes: the polling has always asked for every type.
ALLOWED_UPDATES = Update.ALL_TYPES
CONNECTIONS = 64  # to the Bot API; the flood limiter keeps no more requests in flight
SETTLE_SECONDS = 5.0  # at shutdown, for interrupted progress messages to say so
CONNECT_CAPTION = r"^/connect(@\w+)?(\s|$)"
CONCURRENT_UPDATES = 1024


def _token(settings: Settings) -> str:
    if settings.telegram_bot_token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN: expected the token from @BotFather")
    return settings.telegram_bot_token.get_secret_value()


def build_application(
    settings: Settings,
    services: Services,
    last_update: LastUpdate,
    clients: BotApiClients,
    update_processor: IncomingUpdates | None = None,
) -> BotApplication:
    """The bot with every handler; `update_processor` lets the stand-ins see updates finish."""
    token = _token(settings)
    application: BotApplication = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(update_processor or IncomingUpdates(CONCURRENT_UPDATES))
        .rate_limiter(
            FloodLimiter(
                chat_limit=settings.telegram_chat_burst,
                chat_period=float(settings.telegram_chat_burst),
                max_in_flight=CONNECTIONS,
            )
        )
        .request(clients.requests)
        .get_updates_request(clients.updates)
        .build()
    )
    signer = CallbackSigner(token)
    publisher: Publisher[Reply] = TelegramPublisher(
        subscriptions=services.subscriptions, bot=application.bot
    )
    alert_posts = AlertPosts(
        publisher=publisher, alerts=services.alerts, chat_settings=services.chat_settings
    )
    services.accounts.add_refresh_listener(alert_posts.check_alerts)
    services.subscriptions.deliver_with(ScheduledPosts(application, publisher))
    application.bot_data.attach(services, signer)

    private = filters.ChatType.PRIVATE
    # One handler runs per group: each cross-cutting step has its own.
    application.add_handler(TypeHandler(Update, last_update.note), group=-3)
    application.add_handler(TypeHandler(Update, remember_topic), group=-2)
    application.add_handler(TypeHandler(Update, only_allowed_users), group=-1)
    application.add_handlers(
        [CommandHandler(command.name, command.command_handler()) for command in COMMANDS]
        + [
            CallbackQueryHandler(command.button_handler(), pattern=f"^{command.action}:")
            for command in ACCOUNT_COMMANDS
        ]
        + [
            MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated),
            ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
            CallbackQueryHandler(
                connect_choice_pressed, pattern=f"^({MAKE_KEY_PAIR}|{HAVE_A_KEY}):"
            ),
            # Keys get pasted into captions too.
            MessageHandler(
                filters.CaptionRegex(CONNECT_CAPTION), CONNECT_COMMAND.command_handler()
            ),
            MessageHandler(
                private & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND, private_text
            ),
            # after every CommandHandler: only a command none of them took gets here
            MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, unknown_command),
        ]
    )
    application.add_error_handler(on_error)
    schedule_key_pair_expiry(application)
    return application


async def set_command_menus(application: BotApplication) -> None:
    def commands(listed: list[Command]) -> list[BotCommand]:
        return [BotCommand(command.name, command.does) for command in listed]

    await application.bot.set_my_commands(
        commands(COMMANDS), scope=BotCommandScopeAllPrivateChats()
    )
    await application.bot.set_my_commands(
        commands(GROUP_COMMANDS), scope=BotCommandScopeAllGroupChats()
    )


async def set_dashboard_menu_button(application: BotApplication, miniapp_url: str) -> None:
    """The menu button of every private chat opens the Mini App (an operator's own menu button,
    set with @BotFather, is replaced only when MINIAPP_URL or WEBHOOK_URL gives an https one)."""
    await application.bot.set_chat_menu_button(
        menu_button=MenuButtonWebApp(DASHBOARD_BUTTON, WebAppInfo(miniapp_url))
    )


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    clock: Clock | None = None,
    *,
    update_processor: IncomingUpdates | None = None,
) -> AsyncIterator[BotApplication]:
    """The bot taking updates until the block ends (from its webhook when WEBHOOK_URL is set,
    else by polling); then in-flight work is finished."""
    register_secret(_token(settings), webhook_secret(settings))
    services = await Services.open(settings, clock)
    clients = BotApiClients(CONNECTIONS, settings.proxies)
    try:
        last_update = LastUpdate()
        application = build_application(settings, services, last_update, clients, update_processor)
        server = _http_server(settings, application, services, last_update)
        await connect(
            application, settings.telegram_api_url, settings.telegram_startup_retry_seconds
        )
        try:
            with telegram_step("setMyCommands", settings.telegram_api_url):
                await set_command_menus(application)
            if settings.miniapp_button_url is not None:
                with telegram_step("setChatMenuButton", settings.telegram_api_url):
                    await set_dashboard_menu_button(application, settings.miniapp_button_url)
            # Updates wait in the queue until the application starts (PTB's run_polling order).
            if server is not None:
                await _listen(server, settings.listen_port)
            await _take_updates(application, settings)
            await application.start()
            await services.subscriptions.start()
            yield application
        finally:
            await _stop(application, server, settings.shutdown_grace_seconds)
    finally:
        await clients.close()
        await services.close()


def _http_server(
    settings: Settings,
    application: BotApplication,
    services: Services,
    last_update: LastUpdate,
) -> BotHttpServer | None:
    """The webhook, /healthz and the Mini App in webhook mode; in polling mode /healthz and the
    Mini App only if PORT is set."""
    if settings.webhook_url is None and settings.port is None:
        return None
    webhook = settings.webhook_url is not None
    # Imported only when the server runs: a polling worker without PORT never loads it.
    from bot.miniapp.server import MiniApp

    return BotHttpServer(
        application,
        mode="webhook" if webhook else "polling",
        database_readable=services.db.readable,
        last_update=last_update,
        webhook_path=settings.webhook_path if webhook else None,
        secret=webhook_secret(settings) if webhook else None,
        more_routes=MiniApp(settings, services).add_to,
    )


async def _listen(server: BotHttpServer, port: int) -> None:
    try:
        await server.start(port)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise StartupFailure(
            f"cannot listen on PORT {port}: {reason}", EXIT_PORT_UNAVAILABLE
        ) from None


async def _take_updates(application: BotApplication, settings: Settings) -> None:
    """Point Telegram at the webhook, or poll (PTB's start_polling deletes any webhook first)."""
    if settings.webhook_url is not None:
        with telegram_step("setWebhook", settings.telegram_api_url):
            await application.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=webhook_secret(settings),
                allowed_updates=ALLOWED_UPDATES,
            )
        return
    assert application.updater is not None
    with telegram_step("deleteWebhook", settings.telegram_api_url):
        await application.updater.start_polling(
            poll_interval=0.0, timeout=10, allowed_updates=ALLOWED_UPDATES
        )


async def _stop(
    application: BotApplication, server: BotHttpServer | None, grace_seconds: float
) -> None:
    """Stop taking updates (polling or webhook alike), then finish what was taken."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if server is not None:
        await server.stop()
    if application.running:
        try:
            await asyncio.wait_for(_finish_in_flight(application), timeout=grace_seconds)
        except TimeoutError:
            logger.warning("in-flight work did not finish within %.0f s; stopping", grace_seconds)
            await _interrupt_progress(application)
    await application.shutdown()


async def _interrupt_progress(application: BotApplication) -> None:
    """Cancel the refreshes still running: each progress message settles as interrupted."""
    tasks = {entry.task for entry in application.bot_data.open_progress}
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=SETTLE_SECONDS)


async def _finish_in_flight(application: BotApplication) -> None:
    await application.bot_data.services.subscriptions.stop()
    await application.stop()
    await application.bot_data.services.accounts.drain()


async def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then finish in-flight refreshes and return."""
    stop = asyncio.Event()
    running = asyncio.Event()
    starting = asyncio.current_task()

    def on_signal() -> None:
        stop.set()
        if not running.is_set() and starting is not None:
            starting.cancel()  # start-up (its retries too) stops now; there is nothing to finish

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    try:
        async with running_bot(settings) as application:
            running.set()
            mode = f"webhook {settings.webhook_path}" if settings.webhook_url else "polling"
            logger.info("bot @%s is running (%s)", application.bot.username, mode)
            await stop.wait()
            logger.info("stopping: finishing in-flight work")
    except asyncio.CancelledError:
        if running.is_set() or not stop.is_set():
            raise
        logger.info("stopped during start-up")


def run_bot(settings: Settings) -> int:
    configure_logging(settings.log_level_number)
    try:
        asyncio.run(serve(settings))
    except STARTUP_ERRORS as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    except StartupFailure as error:
        print(f"Cannot start: {secrets.redact(str(error))}", file=sys.stderr)
        return error.exit_status
    return 0
