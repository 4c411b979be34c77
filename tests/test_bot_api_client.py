"""The bot's Bot API client (aiohttp, bot/telegram/aiohttp_request.py) and its 3Commas client:
proxies from the environment or `.env`, as python-telegram-bot's httpx client honoured the
environment's, looked up once per origin."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.proxies import proxy_for
from standins.demo import DEMO_USER_ID, Sandbox
from tests.support.bot import Chat, bot_running
from tests.support.forward_proxy import ForwardProxy, forward_proxy_running
from tests.support.process import bot_run, finished, process_env

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def environment_proxies(monkeypatch: pytest.MonkeyPatch, **variables: str) -> dict[str, str]:
    """Settings.proxies when the environment holds exactly these proxy variables."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None).proxies


@pytest.fixture
async def forward_proxy() -> AsyncIterator[tuple[ForwardProxy, str]]:
    async with forward_proxy_running() as running:
        yield running


async def answers_help(sandbox: Sandbox, proxies: dict[str, str]) -> None:
    proxy_settings = {f"{scheme}_proxy": value for scheme, value in proxies.items()}
    async with bot_running(sandbox, **proxy_settings):
        answer = await Chat(sandbox.botapi).reply("/help")
    assert "/refresh" in answer.plain


async def test_the_bot_talks_to_telegram_through_the_proxy_in_http_proxy(
    sandbox: Sandbox,
    forward_proxy: tuple[ForwardProxy, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, address = forward_proxy
    proxies = environment_proxies(monkeypatch, HTTP_PROXY=f"http://bot:s%40cret@{address}")
    await answers_help(sandbox, proxies)
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
    proxies = environment_proxies(monkeypatch, HTTP_PROXY=f"http://{address}", NO_PROXY="127.0.0.1")
    await answers_help(sandbox, proxies)
    assert proxy.seen == []


def test_the_proxy_for_an_origin_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert proxy_for("https://api.telegram.org", environment_proxies(monkeypatch)) == (None, None)
    proxies = environment_proxies(monkeypatch, HTTPS_PROXY="http://user:p%3Ass@proxy.internal:3128")
    url, headers = proxy_for("https://api.telegram.org", proxies)
    assert url == "http://proxy.internal:3128"
    assert headers == {"Proxy-Authorization": "Basic " + base64.b64encode(b"user:p:ss").decode()}
    assert proxy_for("http://api.telegram.org", proxies) == (None, None)  # only HTTPS_PROXY is set
    proxies = environment_proxies(
        monkeypatch, HTTPS_PROXY="http://proxy.internal:3128", NO_PROXY="telegram.org"
    )
    assert proxy_for("https://api.telegram.org", proxies) == (None, None)


def test_https_proxy_in_dot_env_is_a_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment_proxies(monkeypatch)
    dot_env = tmp_path / ".env"
    dot_env.write_text("HTTPS_PROXY=http://proxy.internal:3128\nNO_PROXY=localhost\n")
    settings = Settings(_env_file=dot_env)
    assert settings.proxies == {"https": "http://proxy.internal:3128", "no": "localhost"}
    assert proxy_for("https://api.3commas.io", settings.proxies) == (
        "http://proxy.internal:3128",
        None,
    )


async def test_a_proxy_in_dot_env_carries_the_calls_to_telegram_and_to_3commas(
    tmp_path: Path, sandbox: Sandbox, forward_proxy: tuple[ForwardProxy, str]
) -> None:
    """`python -m bot run` with the proxy only in `.env` (the stand-ins speak plain HTTP, so
    the variable is HTTP_PROXY; HTTPS_PROXY is read the same way, test above)."""
    proxy, address = forward_proxy
    (tmp_path / ".env").write_text(f"HTTP_PROXY=http://bot:s%40cret@{address}\n")
    botapi = sandbox.botapi
    async with bot_run(tmp_path, process_env(sandbox.settings)) as process:
        botapi.send_text("/connect demo-key demo-secret", user_id=DEMO_USER_ID)
        await botapi.wait_for_text(DEMO_USER_ID, "Connected", timeout=30)
        botapi.send_text("/refresh 12345678", user_id=DEMO_USER_ID)
        await botapi.wait_for_text(DEMO_USER_ID, "$31.21", timeout=30)
        process.terminate()
        result = await finished(process)
    assert result.status == 0, result.stderr
    methods = {path.rsplit("/", 1)[-1] for path in proxy.seen}
    assert {"getMe", "getUpdates", "sendMessage"} <= methods
    assert "/public/api/ver1/accounts/12345678/load_balances" in proxy.seen
    expected = "Basic " + base64.b64encode(b"bot:s@cret").decode()
    assert proxy.authorizations == {expected}
