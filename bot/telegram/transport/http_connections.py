"""The HTTP server's connections: a cap on how many are open, a deadline for each request's
headers, and a quiet log when the process runs out of descriptors anyway.

Without them, slow or idle connections each hold a descriptor until the process has none left:
then /healthz times out, a webhook update is lost, and asyncio logs a traceback per failed
accept. Imported only when the server starts (see webhook.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from bot.logs import EveryInterval

logger = logging.getLogger(__name__)

# From a connection's start, or the end of its last answer, to the next request's headers:
# the header read timeout and the keep-alive at once. Telegram sends at once.
IDLE_SECONDS = 10.0
MAX_CONNECTIONS = 256
SWEEP_SECONDS = 1.0
# The most a process with few descriptors gives its server: it needs others for SQLite and its
# own calls to Telegram and 3Commas.
SHARE_OF_DESCRIPTORS = 4
# asyncio's message when accept() fails with EMFILE, ENFILE, ENOBUFS or ENOMEM.
ACCEPT_FAILED = "socket.accept() out of system resource"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def connection_cap() -> int:
    """MAX_CONNECTIONS, or less when the descriptor limit (RLIMIT_NOFILE) is low."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS, soft // SHARE_OF_DESCRIPTORS))


class _Refused(asyncio.Protocol):
    """A connection over the cap when every open one is busy: closed at once."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class ConnectionGuard:
    """Connections waiting for a request are closed after IDLE_SECONDS; at the cap, a new
    connection closes the one that has waited longest (a client that sends its request at once
    always gets in), or is itself closed when all are answering."""

    def __init__(
        self,
        max_connections: int,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_connections
        self._idle_seconds = idle_seconds
        self._clock = clock
        # The connections not answering a request, oldest first, with when they became idle.
        self._idle: dict[RequestHandler, float] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def protocol_factory(self, server: web.Server) -> Callable[[], asyncio.Protocol]:
        def accept() -> asyncio.Protocol:
            if len(server.connections) >= self._max and not self._close_oldest_idle():
                return _Refused()
            handler = server()
            self._idle[handler] = self._clock()
            return handler

        return accept

    @web.middleware
    async def track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """A connection answering a request is busy; it is idle again once answered."""
        protocol = request.protocol
        self._idle.pop(protocol, None)
        try:
            return await handler(request)
        finally:
            if protocol.transport is not None:
                self._idle[protocol] = self._clock()

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    def _close_oldest_idle(self) -> bool:
        while self._idle:
            oldest = next(iter(self._idle))
            del self._idle[oldest]
            if oldest.transport is not None:
                oldest.force_close()
                return True
        return False

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self.sweep()

    def sweep(self) -> None:
        """Close the connections idle for longer than IDLE_SECONDS; forget the closed ones."""
        deadline = self._clock() - self._idle_seconds
        for handler, since in list(self._idle.items()):
            if handler.transport is None:
                del self._idle[handler]
            elif since <= deadline:
                del self._idle[handler]
                handler.force_close()


class CappedSite(web.BaseSite):
    """aiohttp's TCPSite on every interface, with its connections kept by a ConnectionGuard."""

    def __init__(self, runner: web.BaseRunner, port: int, guard: ConnectionGuard) -> None:
        super().__init__(runner)
        self._port = port
        self._guard = guard

    @property
    def name(self) -> str:
        return f"http://0.0.0.0:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._guard.protocol_factory(server), port=self._port, backlog=self._backlog
        )


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Log failed accepts once a minute with a count, instead of a traceback each (asyncio
    retries them itself); return what puts the loop's previous handler back."""
    previous = loop.get_exception_handler()
    failed = EveryInterval(
        logger,
        logging.ERROR,
        "cannot accept connections: the process is out of descriptors or memory",
    )

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_FAILED:
            failed.note(str(context.get("exception", "")))
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
    return lambda: loop.set_exception_handler(previous)
