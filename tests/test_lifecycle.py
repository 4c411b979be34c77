"""Restarts, the command line, the piped sandbox, and SIGTERM during a slow refresh."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.storage.database import Database
from bot.storage.encryption import generate_key_text, load_master_keys
from standins.demo import DEMO_API_KEY, DEMO_SECRET, DEMO_USER_ID, Sandbox, running_standins
from tests.support.bot import Chat, bot_running

REPO = Path(__file__).resolve().parent.parent


def minimal_env(**variables: str) -> dict[str, str]:
    """Only what Python needs to find the bot package, plus `variables`."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)}
    env.update(variables)
    return env


def run_cli(
    tmp_path: Path, *args: str, stdin: str | None = None, **variables: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,  # no .env is read
        env=minimal_env(**variables),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_restart_with_the_same_settings_keeps_the_key(sandbox: Sandbox) -> None:
    async with bot_running(sandbox):
        await Chat(sandbox.botapi).connect()
    async with bot_running(sandbox):
        summary = await Chat(sandbox.botapi).reply("/refresh 12345678")
        assert "$31.21" in summary.plain
    async with bot_running(sandbox):
        summary = await Chat(sandbox.botapi).reply("/refresh all")
        assert "Total (3 accounts)" in summary.plain


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        pytest.param({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL", id="log-level"),
        pytest.param({"TELEGRAM_BOT_TOKEN": "garbage"}, "TELEGRAM_BOT_TOKEN", id="token"),
        pytest.param(
            {"TELEGRAM_BOT_TOKEN": "123456:abcdefghijklmnop", "BOT_ENCRYPTION_KEY": "short"},
            "BOT_ENCRYPTION_KEY",
            id="encryption-key",
        ),
    ],
)
def test_bad_setting_exits_2_with_one_line_naming_it(
    tmp_path: Path, variables: dict[str, str], named: str
) -> None:
    result = run_cli(tmp_path, **variables)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    for secret in variables.values():
        if secret != "LOUD":
            assert secret not in result.stderr  # a bad secret is not echoed back


def test_genkey_prints_a_usable_key(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "genkey")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert len(result.stdout.strip().splitlines()) == 1
    load_master_keys(key, None)  # accepted as BOT_ENCRYPTION_KEY
    assert run_cli(tmp_path, "genkey").stdout.strip() != key


def test_piped_sandbox_prints_the_replies_and_exits_at_end_of_input(tmp_path: Path) -> None:
    result = run_cli(tmp_path, stdin="/connect demo-key demo-secret\n/refresh 12345678\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Sandbox mode"), lines[:2]
    connected = result.stdout.find("Connected")
    summary = result.stdout.find("$31.21")
    assert 0 < connected < summary, result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.realtime  # real time is the point: runs as it is, first under xdist
async def test_sigterm_during_a_slow_refresh_finishes_it_and_exits(tmp_path: Path) -> None:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(tmp_path, base, latency=4.0) as sandbox:
        settings = sandbox.settings
        assert settings.telegram_bot_token is not None
        assert settings.bot_encryption_key is not None
        env = minimal_env(
            TELEGRAM_BOT_TOKEN=settings.telegram_bot_token.get_secret_value(),
            TELEGRAM_API_URL=settings.telegram_api_url,
            THREECOMMAS_API_URL=settings.threecommas_api_url,
            BOT_ENCRYPTION_KEY=settings.bot_encryption_key.get_secret_value(),
            DATABASE_PATH=str(settings.database_path),
            REFRESH_COOLDOWN_SECONDS="0",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            # a bot in another process cannot report handled updates: wait for its answers
            sandbox.botapi.send_text("/help", user_id=DEMO_USER_ID)
            await sandbox.botapi.wait_for_text(DEMO_USER_ID, "/refresh", timeout=30)
            sandbox.botapi.send_text(f"/connect {DEMO_API_KEY} {DEMO_SECRET}", user_id=DEMO_USER_ID)
            await sandbox.botapi.wait_for_text(DEMO_USER_ID, "Connected", timeout=15)
            sandbox.botapi.send_text("/refresh 12345678", user_id=DEMO_USER_ID)
            await sandbox.botapi.wait_for_text(DEMO_USER_ID, "Refreshing", timeout=10)
            process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            summary = await sandbox.botapi.wait_for_text(DEMO_USER_ID, "$31.21", timeout=25)
            assert summary.edits and "Refreshing" in summary.edits[-1]
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=25)
            assert time.monotonic() - stopped_at < 25
            assert process.returncode == 0, stderr.decode()
            assert b"Traceback" not in stderr
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


def test_run_without_a_token_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run")
    assert result.returncode == 2
    assert result.stderr.strip() == "TELEGRAM_BOT_TOKEN is not set"
    assert result.stdout == ""


def installed_bot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` outside the checkout: only the installed `bot` package, as in a
    production install."""
    env = minimal_env()
    del env["PYTHONPATH"]
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_installed_bot_without_a_checkout_says_the_sandbox_needs_one(tmp_path: Path) -> None:
    result = installed_bot(tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "sandbox needs a checkout" in result.stderr


def test_sandbox_asked_for_outside_a_checkout_says_only_that_it_needs_one(tmp_path: Path) -> None:
    result = installed_bot(tmp_path, "sandbox")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "The sandbox needs a checkout of the repository (its standins/ folder is not installed)."
    )


def test_backup_of_a_missing_database_exits_non_zero_in_one_line_creating_nothing(
    tmp_path: Path,
) -> None:
    result = run_cli(tmp_path, "backup", "copy.sqlite3", DATABASE_PATH="data/typo.sqlite3")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no database at data/typo.sqlite3" in lines[0] and "DATABASE_PATH" in lines[0]
    assert "Backup written" not in result.stdout
    assert list(tmp_path.iterdir()) == []


async def test_backup_runs_without_the_encryption_key(tmp_path: Path) -> None:
    key = generate_key_text()
    database = await Database.open(tmp_path / "data" / "bot.sqlite3", load_master_keys(key, None))
    await database.credentials.save(DEMO_USER_ID, "stored-key", "stored-secret", "hmac")
    await database.close()
    result = run_cli(tmp_path, "backup", "copy.sqlite3", DATABASE_PATH="data/bot.sqlite3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Backup written to copy.sqlite3"
    copy = tmp_path / "copy.sqlite3"
    assert copy.stat().st_mode & 0o077 == 0
    restored = await Database.open(copy, load_master_keys(key, None))
    try:
        stored = await restored.credentials.load(DEMO_USER_ID)
        assert stored is not None and stored.secret == "stored-secret"
    finally:
        await restored.close()


def test_piped_sandbox_shows_bots_all_and_deals_all(tmp_path: Path) -> None:
    result = run_cli(tmp_path, stdin="/connect demo-key demo-secret\n/bots all\n/deals all\n")
    assert result.returncode == 0, result.stderr
    bots = result.stdout.index("🤖 Bots · Binance Futures")
    deals = result.stdout.index("📈 Active deals · All accounts")
    assert bots < result.stdout.index("Total (3 accounts)") < deals, result.stdout
    assert "No bots in this account" in result.stdout  # Kraken Main
    assert "Total unrealized (" in result.stdout[deals:]
    assert "Traceback" not in result.stderr
