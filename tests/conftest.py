from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.logs import configure_logging
from standins.demo import Sandbox, running_standins
from tests.support.bot import Chat, bot_running


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """Both stand-ins, the demo key with its accounts, settings pointing at them."""
    # No per-chat pacing: tests talk faster than one message a second (test_flood_* test it).
    base = Settings(
        _env_file=None,
        refresh_cooldown_seconds=0,
        key_pair_cooldown_seconds=0,
        telegram_chat_burst=1_000_000,
    )
    async with running_standins(tmp_path, base) as running:
        yield running


@pytest.fixture
async def running(sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    """The real application polling the Bot API stand-in."""
    async with bot_running(sandbox):
        yield sandbox


@pytest.fixture
def chat(running: Sandbox) -> Chat:
    """The demo user's private chat with the running bot."""
    return Chat(running.botapi)


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The logging of `python -m bot` at LOG_LEVEL=DEBUG; yields what its handler writes."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {name: logging.getLogger(name).level for name in ("httpx", "apscheduler")}
    configure_logging(logging.DEBUG)
    written = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(written)
    yield written
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
