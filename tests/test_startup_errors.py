"""`python -m bot run` that cannot start: one line on stderr, no traceback, never the token,
and an exit status per cause (the table in README.md, "Exit statuses")."""

from __future__ import annotations

import contextlib
import signal
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from standins.demo import Sandbox
from tests.support.process import Finished, bot_run, finished, free_port, process_env

# Shaped like a real token, so it passes the settings check and reaches Telegram.
UNKNOWN_TOKEN = "654321:AAHfq0-unknown_token_0123456789abcdef"


def the_one_line(result: Finished, *secrets: str) -> str:
    """The whole output: a single line on stderr, nothing on stdout, no secret, no traceback."""
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for secret in secrets:
        assert secret not in result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


async def test_a_token_telegram_refuses_exits_3(tmp_path: Path, sandbox: Sandbox) -> None:
    env = process_env(sandbox.settings, TELEGRAM_BOT_TOKEN=UNKNOWN_TOKEN)
    async with bot_run(tmp_path, env) as process:
        result = await finished(process)
    assert result.status == 3, result.stderr
    line = the_one_line(result, UNKNOWN_TOKEN, UNKNOWN_TOKEN.split(":")[1])
    assert line == (
        "Cannot start: Telegram refused TELEGRAM_BOT_TOKEN (Unauthorized): "
        "copy the token from @BotFather again"
    )


async def test_telegram_unreachable_is_retried_for_the_limit_then_exits_4(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = process_env(
        sandbox.settings, TELEGRAM_API_URL=closed, TELEGRAM_STARTUP_RETRY_SECONDS="1.5"
    )
    started = time.monotonic()
    async with bot_run(tmp_path, env) as process:
        result = await finished(process)
    took = time.monotonic() - started
    assert result.status == 4, result.stderr
    line = the_one_line(result, env["TELEGRAM_BOT_TOKEN"].split(":")[1])
    assert line.startswith(
        f"Cannot start: cannot reach Telegram at {closed}: gave up after 1.5 s ("
    )
    assert "aiohttp.ClientConnectorError: Cannot connect to host 127.0.0.1" in line
    assert 1.5 <= took < 15  # kept trying until the limit, then stopped


async def test_a_webhook_telegram_refuses_exits_5(tmp_path: Path, sandbox: Sandbox) -> None:
    port = free_port()
    env = process_env(sandbox.settings, WEBHOOK_URL="https://bot.invalid/tg", PORT=str(port))
    async with bot_run(tmp_path, env) as process:
        result = await finished(process)
    assert result.status == 5, result.stderr
    line = the_one_line(result, env["TELEGRAM_BOT_TOKEN"].split(":")[1])
    assert line == (
        "Cannot start: Telegram refused setWebhook: "
        "Bad webhook: failed to resolve host: name or service not known"
    )


async def test_a_port_in_use_exits_6(tmp_path: Path, sandbox: Sandbox) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("0.0.0.0", 0))  # noqa: S104 - the bot listens on every interface
        taken.listen()
        port = int(taken.getsockname()[1])
        env = process_env(
            sandbox.settings, WEBHOOK_URL=f"http://127.0.0.1:{port}/tg", PORT=str(port)
        )
        async with bot_run(tmp_path, env) as process:
            result = await finished(process)
    assert result.status == 6, result.stderr
    line = the_one_line(result, env["TELEGRAM_BOT_TOKEN"].split(":")[1])
    assert line == f"Cannot start: cannot listen on PORT {port}: Address already in use"
    assert sandbox.botapi.webhook is None  # Telegram was not pointed at a bot that is not there


async def test_sigterm_while_telegram_is_unreachable_stops_at_once(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = process_env(
        sandbox.settings,
        TELEGRAM_API_URL=closed,
        TELEGRAM_STARTUP_RETRY_SECONDS="60",
        LOG_LEVEL="DEBUG",
    )
    async with bot_run(tmp_path, env) as process:
        assert process.stderr is not None
        line = b"-"
        while line and b"Telegram not reachable yet" not in line:
            line = await process.stderr.readline()
        assert line, "the bot exited before it retried"  # now it is in its retries
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        result = await finished(process, timeout=30)
        took = time.monotonic() - signalled
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "stopped during start-up" in result.stderr
    assert took < 5  # about 0.1 s here; before, the whole 60 s window and status 4


@contextlib.asynccontextmanager
async def garbage_server() -> AsyncIterator[str]:
    """Answers every request 200 with a body that is not JSON (a captive portal, say)."""

    async def garbage(request: web.Request) -> web.Response:
        return web.Response(text="<html>Welcome to the hotel Wi-Fi</html>")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", garbage)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_an_answer_that_is_not_json_is_retried_then_exits_4(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    async with garbage_server() as url:
        env = process_env(
            sandbox.settings, TELEGRAM_API_URL=url, TELEGRAM_STARTUP_RETRY_SECONDS="1.5"
        )
        async with bot_run(tmp_path, env) as process:
            result = await finished(process)
    assert result.status == 4, result.stderr
    line = the_one_line(result, env["TELEGRAM_BOT_TOKEN"].split(":")[1])
    assert line == (
        f"Cannot start: cannot reach Telegram at {url}: gave up after 1.5 s "
        "(the answer was not the Bot API's JSON)"
    )


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        pytest.param({}, "TELEGRAM_BOT_TOKEN is not set", id="no-token"),
        pytest.param(
            {"TELEGRAM_BOT_TOKEN": UNKNOWN_TOKEN, "WEBHOOK_SECRET": "has spaces"},
            "Configuration error: WEBHOOK_SECRET: expected 1-256 characters, only A-Z, a-z, "
            "0-9, _ and -",
            id="webhook-secret",
        ),
        pytest.param(
            {"TELEGRAM_BOT_TOKEN": UNKNOWN_TOKEN, "WEBHOOK_URL": "bot.example.com/tg"},
            "Configuration error: WEBHOOK_URL: expected the public https:// URL Telegram "
            "should call",
            id="webhook-url",
        ),
        pytest.param(
            {"TELEGRAM_BOT_TOKEN": UNKNOWN_TOKEN, "WEBHOOK_URL": "http://bot.example.com/tg"},
            "Configuration error: WEBHOOK_URL: Telegram calls only https:// URLs (http:// needs "
            "a self-hosted TELEGRAM_API_URL)",
            id="webhook-url-http",
        ),
        pytest.param(
            {"TELEGRAM_BOT_TOKEN": UNKNOWN_TOKEN, "PORT": "http"},
            "Configuration error: PORT: Input should be a valid integer, unable to parse "
            "string as an integer",
            id="port",
        ),
    ],
)
async def test_a_missing_or_malformed_setting_exits_2(
    tmp_path: Path, variables: dict[str, str], expected: str
) -> None:
    async with bot_run(tmp_path, process_env(**variables)) as process:
        result = await finished(process)
    assert result.status == 2, result.stderr
    assert the_one_line(result, UNKNOWN_TOKEN.split(":")[1], "has spaces") == expected
