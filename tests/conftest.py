from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from standins.demo import Sandbox, running_standins
from tests.support.bot import Chat, bot_running


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """Both stand-ins, the demo key with its accounts, settings pointing at them."""
    # No per-chat pacing: tests talk faster than one message a second (test_flood_* test it).
    base = Settings(_env_file=None, refresh_cooldown_seconds=0, telegram_chat_burst=1_000_000)
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
