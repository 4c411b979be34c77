"""An HTTP forward proxy on 127.0.0.1 that records what goes through it (plain HTTP only: the
stand-ins speak HTTP, so requests arrive in absolute form, `GET http://host/path`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import yarl
from aiohttp import web

# Hop-by-hop and per-connection headers: the proxy's own, never forwarded.
_NOT_FORWARDED = {
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "host",
    "content-length",
    "transfer-encoding",
}


class ForwardProxy:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.authorizations: set[str] = set()
        self._client: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.Response:
        assert self._client is not None
        self.seen.append(request.path)
        self.authorizations.add(request.headers.get("Proxy-Authorization", ""))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        # the target as it was written: its query is signed (3Commas) and must not be re-encoded
        target = yarl.URL(request.raw_path, encoded=True)
        if not target.is_absolute():
            target = request.url
        async with self._client.request(
            request.method, target, data=await request.read(), headers=headers
        ) as answer:
            body = await answer.read()
            return web.Response(status=answer.status, body=body, content_type=answer.content_type)


@contextlib.asynccontextmanager
async def forward_proxy_running() -> AsyncIterator[tuple[ForwardProxy, str]]:
    """The proxy and its address, `127.0.0.1:PORT`."""
    proxy = ForwardProxy()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as proxy._client:
        try:
            yield proxy, f"127.0.0.1:{port}"
        finally:
            await runner.cleanup()
