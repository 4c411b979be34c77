"""Webhook mode end to end: the Bot API stand-in POSTs updates to the bot, as Telegram does;
/healthz in both modes; SIGTERM in webhook mode."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

import bot.storage.database
from bot.config import Settings
from standins.botapi import WEBHOOK_SECRET_HEADER, BotApiStandIn
from standins.demo import DEMO_USER_ID, Sandbox, running_standins
from tests.support.bot import bot_running
from tests.support.process import bot_run, finished, free_port, process_env

STRANGER = 777_000


def forged_help(update_id: int) -> dict[str, Any]:
    """A well-formed /help update from a user the stand-in never delivered anything for."""
    user = {"id": STRANGER, "is_bot": False, "first_name": "Mallory"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "from": user,
            "chat": {"id": STRANGER, "type": "private", "first_name": "Mallory"},
            "date": int(time.time()),
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


async def http(
    method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, json=body, headers=headers) as response,
    ):
        text = await response.text()
        return response.status, json.loads(text) if text else None


async def botapi_call(botapi: BotApiStandIn, method: str, **params: Any) -> tuple[int, Any]:
    """A Bot API call made by someone else than the bot (an operator, a previous deployment)."""
    return await http("POST", f"{botapi.root_url}/bot{botapi.token}/{method}", body=params)


async def refresh_through_the_webhook(botapi: BotApiStandIn) -> None:
    botapi.send_text("/connect demo-key demo-secret", user_id=DEMO_USER_ID)
    await botapi.wait_for_text(DEMO_USER_ID, "Connected", timeout=10)
    botapi.send_text("/refresh 12345678", user_id=DEMO_USER_ID)
    summary = await botapi.wait_for_text(DEMO_USER_ID, "$31.21", timeout=10)
    edits = botapi.calls["editMessageText"]
    query = botapi.press_button(summary, summary.button_data("🔄 Refresh"), user_id=DEMO_USER_ID)
    # refreshed in place: the summary is edited (into the same figures, the stand-in's are fixed)
    await botapi.wait_for(
        lambda: query in botapi.answered_callbacks and botapi.calls["editMessageText"] > edits,
        timeout=10,
    )


async def test_webhook_mode_sets_the_webhook_and_refresh_works_through_posts(
    sandbox: Sandbox,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/updates"
    async with bot_running(sandbox, webhook_url=url, port=port):
        hook = sandbox.botapi.webhook
        assert hook is not None
        assert hook.url == url
        assert hook.allowed_updates is not None
        assert {"message", "callback_query", "my_chat_member"} <= set(hook.allowed_updates)
        token = sandbox.botapi.token
        # derived from the token (no WEBHOOK_SECRET), without revealing it
        assert hook.secret_token is not None
        assert len(hook.secret_token) == 64
        assert token.split(":")[1] not in hook.secret_token

        await refresh_through_the_webhook(sandbox.botapi)

        assert sandbox.botapi.calls["getUpdates"] == 0
        assert sandbox.botapi.deliveries
        assert {delivery.status for delivery in sandbox.botapi.deliveries} == {200}
    assert sandbox.botapi.webhook is not None  # kept: Telegram queues updates for the next start


async def test_a_post_without_the_right_secret_is_refused_and_not_processed(
    sandbox: Sandbox,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    secret = "our-own_secret-0123456789"
    async with bot_running(sandbox, webhook_url=url, port=port, webhook_secret=SecretStr(secret)):
        assert sandbox.botapi.webhook is not None
        assert sandbox.botapi.webhook.secret_token == secret
        for headers in ({}, {WEBHOOK_SECRET_HEADER: "wrong"}, {WEBHOOK_SECRET_HEADER: secret[:-1]}):
            status, _ = await http("POST", url, body=forged_help(10_001), headers=headers)
            assert status == 403, headers
        # a real update after the refused ones is answered; theirs never is
        sandbox.botapi.send_text("/help", user_id=DEMO_USER_ID)
        await sandbox.botapi.wait_for_text(DEMO_USER_ID, "Connect", timeout=10)
        assert sandbox.botapi.messages(STRANGER) == []
        # with the secret but not an update: refused too
        for body in ([], {"update_id": "x", "message": "not a message"}):
            status, _ = await http("POST", url, body=body, headers={WEBHOOK_SECRET_HEADER: secret})
            assert status == 400, body
        # control: the same body with the secret is processed, so the check above can fail
        status, _ = await http(
            "POST", url, body=forged_help(10_002), headers={WEBHOOK_SECRET_HEADER: secret}
        )
        assert status == 200
        await sandbox.botapi.wait_for_text(STRANGER, "Connect", timeout=10)


async def test_healthz_in_webhook_mode_reports_the_database_and_the_last_update(
    sandbox: Sandbox,
) -> None:
    port = free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    async with bot_running(sandbox, webhook_url=f"http://127.0.0.1:{port}/tg", port=port):
        status, body = await http("GET", health)
        assert status == 200
        assert body == {
            "ok": True,
            "mode": "webhook",
            "database": "ok",
            "seconds_since_last_update": None,
        }
        sandbox.botapi.send_text("/help", user_id=DEMO_USER_ID)
        await sandbox.botapi.wait_for_text(DEMO_USER_ID, "Connect", timeout=10)
        status, body = await http("GET", health)
        assert status == 200
        assert 0 <= body["seconds_since_last_update"] < 10


async def test_a_flood_of_wrong_secret_posts_logs_one_line_with_a_count(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    refusals = 2_000
    with caplog.at_level(logging.WARNING, logger="bot"):
        async with (
            bot_running(sandbox, webhook_url=url, port=port),
            aiohttp.ClientSession() as session,
        ):
            for _ in range(refusals):
                async with session.post(url, json={}, headers={WEBHOOK_SECRET_HEADER: "no"}) as a:
                    assert a.status == 403
    lines = [r.getMessage() for r in caplog.records if "right secret token" in r.getMessage()]
    assert lines == ["webhook: refused a request without the right secret token"]


async def test_a_body_over_the_limit_with_the_right_secret_gets_413(sandbox: Sandbox) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    secret = "our-own_secret-0123456789"
    headers = {WEBHOOK_SECRET_HEADER: secret, "Content-Type": "application/json"}
    async with (
        bot_running(sandbox, webhook_url=url, port=port, webhook_secret=SecretStr(secret)),
        aiohttp.ClientSession() as session,
    ):
        huge = b'{"update_id": 1, "padding": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        async with session.post(url, data=huge, headers=headers) as answer:
            assert answer.status == 413
        # and the bot goes on taking updates
        sandbox.botapi.send_text("/help", user_id=DEMO_USER_ID)
        await sandbox.botapi.wait_for_text(DEMO_USER_ID, "Connect", timeout=10)


async def test_healthz_reads_the_database_file_at_most_once_a_second(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[float] = []
    read_meta = bot.storage.database._read_meta

    def counted(path: Path) -> None:
        reads.append(time.monotonic())
        read_meta(path)

    monkeypatch.setattr(bot.storage.database, "_read_meta", counted)
    port = free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    async with (
        bot_running(sandbox, webhook_url=f"http://127.0.0.1:{port}/tg", port=port),
        aiohttp.ClientSession() as session,
    ):

        async def healthz() -> int:
            async with session.get(health) as answer:
                return answer.status

        started = time.monotonic()
        for _ in range(5):  # bursts of concurrent checks, then one at a time
            assert set(await asyncio.gather(*(healthz() for _ in range(100)))) == {200}
        for _ in range(100):
            assert await healthz() == 200
        took = time.monotonic() - started
    # one read a second, plus one for a second begun; 600 before
    assert 1 <= len(reads) <= took + 2, (len(reads), took)


async def test_healthz_answers_503_while_the_database_file_is_gone(sandbox: Sandbox) -> None:
    port = free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    database = sandbox.settings.database_path
    moved = database.with_name("moved-away.sqlite3")
    async with bot_running(sandbox, webhook_url=f"http://127.0.0.1:{port}/tg", port=port):
        # as when a volume is detached or the file deleted: a restart would start empty
        database.rename(moved)
        try:
            status, body = await http("GET", health)
        finally:
            moved.rename(database)
        assert status == 503
        assert body["ok"] is False
        assert body["database"] == "unreadable"
        assert body["mode"] == "webhook"
        status, body = await http("GET", health)
        assert (status, body["database"]) == (200, "ok")


async def test_polling_deletes_a_leftover_webhook_and_serves_healthz_when_port_is_set(
    sandbox: Sandbox,
) -> None:
    botapi = sandbox.botapi
    leftover = "http://127.0.0.1:9/left-over"
    assert await botapi_call(botapi, "setWebhook", url=leftover) == (
        200,
        {"ok": True, "result": True},
    )
    status, answer = await botapi_call(botapi, "getUpdates")
    assert status == 409, answer  # as Telegram: no polling while a webhook is set
    port = free_port()
    async with bot_running(sandbox, port=port):
        assert botapi.webhook is None
        assert botapi.calls["deleteWebhook"] >= 1
        botapi.send_text("/help", user_id=DEMO_USER_ID)
        await botapi.wait_for_text(DEMO_USER_ID, "Connect", timeout=10)
        status, body = await http("GET", f"http://127.0.0.1:{port}/healthz")
        assert status == 200
        assert body["mode"] == "polling"
        assert body["database"] == "ok"
        assert body["seconds_since_last_update"] is not None


@pytest.mark.realtime  # real time is the point: runs as it is, first under xdist
async def test_sigterm_in_webhook_mode_finishes_the_refresh_and_exits_0(tmp_path: Path) -> None:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(tmp_path, base, latency=4.0) as sandbox:
        port = free_port()
        url = f"http://127.0.0.1:{port}/telegram"
        env = process_env(sandbox.settings, WEBHOOK_URL=url, PORT=str(port))
        botapi = sandbox.botapi
        async with bot_run(tmp_path, env) as process:
            await botapi.wait_for(lambda: botapi.webhook is not None, timeout=30)
            status, body = await http("GET", f"http://127.0.0.1:{port}/healthz")
            assert (status, body["mode"]) == (200, "webhook")
            botapi.send_text("/connect demo-key demo-secret", user_id=DEMO_USER_ID)
            await botapi.wait_for_text(DEMO_USER_ID, "Connected", timeout=20)
            botapi.send_text("/refresh 12345678", user_id=DEMO_USER_ID)
            await botapi.wait_for_text(DEMO_USER_ID, "Refreshing", timeout=10)
            process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            summary = await botapi.wait_for_text(DEMO_USER_ID, "$31.21", timeout=25)
            assert summary.edits and "Refreshing" in summary.edits[-1]
            result = await finished(process, timeout=25)
        assert time.monotonic() - stopped_at < 25
        assert result.status == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert botapi.calls["getUpdates"] == 0
        assert botapi.webhook is not None and botapi.webhook.url == url


def test_a_polling_bot_without_port_does_not_load_the_http_server() -> None:
    """aiohttp's server side (1.6 MB) is imported only when a webhook or /healthz is served."""
    code = "import sys, bot.app; print('aiohttp.web' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "False"
