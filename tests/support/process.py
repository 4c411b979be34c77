"""`python -m bot run` as a child process, as a platform starts it: environment only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
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


# Ports for a test to hand to the bot (PORT=, webhook URLs): below the kernel's ephemeral range
# (32768-60999), so no connection's own port and no bind to port 0 can take one between the
# probe and the bot's bind; each xdist worker has its own slice, so workers never pick the same.
_PORTS_BELOW = 32_000
_PORTS_PER_WORKER = 500
_next_port: list[int] = []


def free_port() -> int:
    """A TCP port nobody holds right now, from this worker's own slice of ports."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    first = _PORTS_BELOW - _PORTS_PER_WORKER * (1 + worker % 60)
    if not _next_port:  # a random start: two test runs at once rarely meet either
        _next_port.append(random.randrange(_PORTS_PER_WORKER))
    for _ in range(_PORTS_PER_WORKER):
        port = first + _next_port[0] % _PORTS_PER_WORKER
        _next_port[0] += 1  # never the same port twice in a row (TIME_WAIT, a slow exit)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{first + _PORTS_PER_WORKER - 1}")


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
