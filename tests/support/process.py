"""`python -m bot run` as a child process, as a platform starts it: environment only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings

REPO = Path(__file__).resolve().parents[2]


def process_env(settings: Settings | None = None, **variables: str) -> dict[str, str]:
    """PATH and PYTHONPATH (this checkout), the settings pointing at the stand-ins, `variables`."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)}
    if settings is not None:
        assert settings.telegram_bot_token is not None
        assert settings.bot_encryption_key is not None
        env.update(
            TELEGRAM_BOT_TOKEN=settings.telegram_bot_token.get_secret_value(),
            TELEGRAM_API_URL=settings.telegram_api_url,
            THREECOMMAS_API_URL=settings.threecommas_api_url,
            BOT_ENCRYPTION_KEY=settings.bot_encryption_key.get_secret_value(),
            DATABASE_PATH=str(settings.database_path),
            REFRESH_COOLDOWN_SECONDS="0",
        )
    env.update(variables)
    return env


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Finished:
    status: int
    stdout: str
    stderr: str


@contextlib.asynccontextmanager
async def bot_run(cwd: Path, env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run` with exactly `env`; killed at the end if still running."""
    async with spawned([sys.executable, "-m", "bot", "run"], cwd, env) as process:
        yield process


@contextlib.asynccontextmanager
async def spawned(
    argv: list[str], cwd: Path, env: dict[str, str]
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`argv` with exactly `env` in `cwd` (no .env there is read); killed at the end if running."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


async def finished(process: asyncio.subprocess.Process, timeout: float = 30.0) -> Finished:
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(), stderr.decode())
