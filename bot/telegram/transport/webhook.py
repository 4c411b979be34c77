"""The bot's HTTP server: Telegram's webhook POSTs (webhook mode), `GET /healthz`, and the
routes of other front ends served beside them (the Mini App's, added by bot.app).

aiohttp serves it (already a dependency) and updates go into the application's update queue,
as in python-telegram-bot's custom webhook examples; PTB's own webhook server would need the
`webhooks` extra (tornado) for one route.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from telegram import Update

from bot.config import HEALTH_PATH, Settings
from bot.logs import EveryInterval
from bot.telegram.context import BotApplication, Context

if TYPE_CHECKING:
    from aiohttp import web

    from bot.telegram.transport.http_connections import ConnectionGuard

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# Fixed label of the derived secret; changing it changes every derived secret.
_SECRET_LABEL = b"threecommas-telegram-bot webhook secret_token v1"
HEALTH_DATABASE_TIMEOUT = 5.0
# A good answer of the database probe stands this long: /healthz can be asked thousands of
# times a second, and each probe opens the file on the database's thread.
HEALTH_DATABASE_FRESH_SECONDS = 1.0
# A Telegram update is far smaller; anything bigger is not from Telegram.
MAX_UPDATE_BYTES = 1024 * 1024
# From the end of a request's headers to the end of its body (Telegram sends at once).
BODY_SECONDS = 10.0

Mode = Literal["webhook", "polling"]


def webhook_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET, or one derived from the bot token that does not reveal it (HMAC)."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value().encode()
    return hmac.new(token, _SECRET_LABEL, hashlib.sha256).hexdigest()


class LastUpdate:
    """When the bot last took an update, for /healthz."""

    def __init__(self) -> None:
        self._at: float | None = None

    async def note(self, update: Update, context: Context) -> None:
        self._at = time.monotonic()

    def seconds_ago(self) -> float | None:
        return None if self._at is None else round(time.monotonic() - self._at, 1)


class DatabaseProbe:
    """Whether the database file can be read: a good answer stands for a second, and requests
    arriving while a probe runs wait for that one. A bad answer is not kept, so /healthz says
    the database is back as soon as it is."""

    def __init__(
        self,
        readable: Callable[[], Awaitable[bool]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._readable = readable
        self._clock = clock
        self._good_until = float("-inf")
        self._running: asyncio.Future[bool] | None = None

    async def readable(self) -> bool:
        if self._clock() < self._good_until:
            return True
        if self._running is None:
            self._running = asyncio.ensure_future(self._probe())
        # shield: a client that goes away must not cancel the probe others wait on.
        return await asyncio.shield(self._running)

    async def _probe(self) -> bool:
        try:
            readable = await asyncio.wait_for(self._readable(), HEALTH_DATABASE_TIMEOUT)
        except TimeoutError:
            logger.warning(
                "health: the database did not answer within %.0f s", HEALTH_DATABASE_TIMEOUT
            )
            readable = False
        finally:
            self._running = None
        if readable:
            self._good_until = self._clock() + HEALTH_DATABASE_FRESH_SECONDS
        return readable


class BotHttpServer:
    """`GET /healthz` always; the webhook route only in webhook mode."""

    def __init__(
        self,
        application: BotApplication,
        *,
        mode: Mode,
        database_readable: Callable[[], Awaitable[bool]],
        last_update: LastUpdate,
        webhook_path: str | None = None,
        secret: str | None = None,
        more_routes: Callable[[web.Application], None] | None = None,
    ) -> None:
        self._application = application
        self._mode = mode
        self._database = DatabaseProbe(database_readable)
        self._last_update = last_update
        self._webhook_path = webhook_path
        self._secret = (secret or "").encode()
        self._more_routes = more_routes
        self._runner: web.AppRunner | None = None
        self._guard: ConnectionGuard | None = None
        self._restore_accept_errors: Callable[[], None] | None = None
        self._refused = EveryInterval(
            logger, logging.WARNING, "webhook: refused a request without the right secret token"
        )

    async def start(self, port: int) -> None:
        """Listen on every interface (the platform's proxy or Telegram connects from outside)."""
        # Imported only when a server is wanted: 1.6 MB a polling worker without PORT never needs.
        from aiohttp import web

        from bot.telegram.transport.http_connections import (
            IDLE_SECONDS,
            CappedSite,
            ConnectionGuard,
            connection_cap,
            quiet_accept_errors,
        )

        guard = ConnectionGuard(connection_cap())
        app = web.Application(client_max_size=MAX_UPDATE_BYTES, middlewares=[guard.track])
        app.router.add_get(HEALTH_PATH, self._health)
        if self._webhook_path is not None:
            app.router.add_post(self._webhook_path, self._receive)
        if self._more_routes is not None:
            self._more_routes(app)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, keepalive_timeout=IDLE_SECONDS
        )
        await runner.setup()
        try:
            await CappedSite(runner, port, guard).start()
        except BaseException:
            await runner.cleanup()
            raise
        guard.start()
        self._restore_accept_errors = quiet_accept_errors(asyncio.get_running_loop())
        self._runner, self._guard = runner, guard

    async def stop(self) -> None:
        """Stop listening; requests being answered finish first (their updates are queued)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._guard is not None:
            await self._guard.stop()
            self._guard = None
        if self._restore_accept_errors is not None:
            self._restore_accept_errors()
            self._restore_accept_errors = None

    async def _receive(self, request: web.Request) -> web.Response:
        from aiohttp import web

        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            self._refused.note()
            return _json({"ok": False, "description": "Forbidden"}, 403)
        try:
            body = await asyncio.wait_for(request.read(), BODY_SECONDS)
        except web.HTTPRequestEntityTooLarge:
            return _closing(_json({"ok": False, "description": "Request Entity Too Large"}, 413))
        except TimeoutError:
            return _closing(_json({"ok": False, "description": "Request Timeout"}, 408))
        update = self._update_from(body)
        if update is None:
            return _json({"ok": False, "description": "Bad Request: not an update"}, 400)
        await self._application.update_queue.put(update)
        return _json({"ok": True}, 200)

    def _update_from(self, body: bytes) -> Update | None:
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                return None
            return Update.de_json(data, self._application.bot)
        except Exception:  # malformed JSON or fields: whatever de_json raises, it is not an update
            logger.warning("webhook: refused a body that is not a Telegram update")
            return None

    async def _health(self, request: web.Request) -> web.Response:
        readable = await self._database.readable()
        body = {
            "ok": readable,
            "mode": self._mode,
            "database": "ok" if readable else "unreadable",
            "seconds_since_last_update": self._last_update.seconds_ago(),
        }
        return _json(body, 200 if readable else 503)


def _json(body: dict[str, Any], status: int) -> web.Response:
    from aiohttp import web

    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def _closing(response: web.Response) -> web.Response:
    """The answer to a request whose body was not read whole: the connection cannot go on."""
    response.force_close()
    return response
