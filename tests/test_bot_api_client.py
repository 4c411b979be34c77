"""The bot's Bot API client (aiohttp, bot/telegram/aiohttp_request.py): proxies from the
environment as python-telegram-bot's httpx client honoured them, looked up once per origin."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.telegram.aiohttp_request import env_proxy
from standins.demo import Sandbox
from tests.support.bot import Chat, bot_running


class ForwardProxy:
    """An HTTP proxy on 127.0.0.1 that forwards absolute-form requests and records them."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.authorizations: set[str] = set()
        self._client: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.Response:
        assert self._client is not None
        self.seen.append(request.path)
        self.authorizations.add(request.headers.get("Proxy-Authorization", ""))
        async with self._client.request(
            request.method,
            str(request.url),
            data=await request.read(),
            headers={"Content-Type": request.headers.get("Content-Type", "")},
        ) as answer:
            body = await answer.read()
            return web.Response(status=answer.status, body=body, content_type="application/json")

    @classmethod
    async def running(cls) -> AsyncIterator[tuple[ForwardProxy, str]]:
        proxy = cls()
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


@pytest.fixture
async def forward_proxy() -> AsyncIterator[tuple[ForwardProxy, str]]:
    async for running in ForwardProxy.running():
        yield running


async def answers_help(sandbox: Sandbox) -> None:
    async with bot_running(sandbox):
        answer = await Chat(sandbox.botapi).reply("/help")
    assert "/refresh" in answer.plain


async def test_the_bot_talks_to_telegram_through_the_proxy_in_http_proxy(
    sandbox: Sandbox,
    forward_proxy: tuple[ForwardProxy, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, address = forward_proxy
    monkeypatch.setenv("HTTP_PROXY", f"http://bot:s%40cret@{address}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    await answers_help(sandbox)
    methods = {path.rsplit("/", 1)[-1] for path in proxy.seen}
    assert {"getMe", "getUpdates", "sendMessage"} <= methods
    expected = "Basic " + base64.b64encode(b"bot:s@cret").decode()
    assert proxy.authorizations == {expected}


async def test_no_proxy_exempts_the_bot_api_host(
    sandbox: Sandbox,
    forward_proxy: tuple[ForwardProxy, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, address = forward_proxy
    monkeypatch.setenv("HTTP_PROXY", f"http://{address}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    await answers_help(sandbox)
    assert proxy.seen == []


def test_the_proxy_for_an_origin_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    assert env_proxy("https://api.telegram.org") == (None, None)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:p%3Ass@proxy.internal:3128")
    url, headers = env_proxy("https://api.telegram.org")
    assert url == "http://proxy.internal:3128"
    assert headers == {"Proxy-Authorization": "Basic " + base64.b64encode(b"user:p:ss").decode()}
    assert env_proxy("http://api.telegram.org") == (None, None)  # only HTTPS_PROXY is set
    monkeypatch.setenv("NO_PROXY", "telegram.org")
    assert env_proxy("https://api.telegram.org") == (None, None)
