"""One user sending 1,100 messages at once does not stall the bot for anyone else.

Against a Bot API stand-in that enforces Telegram's flood limits (the bot's defaults keep them):
the flooding chat's answers are paced at about one a second, so the bot takes a few of its
updates at a time, drops the rest and says so once; another user is answered at once meanwhile,
whether the updates come by polling or through the webhook, from a private chat or a group.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import running_bot
from bot.config import Settings
from bot.telegram.transport.incoming import IN_PROGRESS_PER_CHAT
from bot.telegram.views.texts import too_many_at_once
from bot.telegram.views.translator import ENGLISH
from standins.botapi import BotApiStandIn
from standins.demo import Sandbox, running_standins
from standins.handled import HandledReporter
from tests.support.bot import Chat, bot_running
from tests.support.process import free_port

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

FLOOD = 1_100
FLOODER = 31_000
OTHER = 32_000
GROUP = -100_555_000
LIMITS: dict[str, Any] = {
    "messages_per_second": 30,
    "group_messages_per_minute": 20,
    "per_chat_per_second": 1,
    "per_chat_burst": 5,
}
HELP_LINE = "3Commas balances in Telegram"


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[Sandbox]:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(tmp_path, base, **LIMITS) as sandbox:
        yield sandbox


def webhook_settings() -> dict[str, Any]:
    port = free_port()
    return {"webhook_url": f"http://127.0.0.1:{port}/telegram/updates", "port": port}


async def another_user_waits_during_a_flood(botapi: BotApiStandIn, flooder: Chat) -> float:
    """Seconds until another user's /help was answered, asked once the bot holds the flood."""
    for _ in range(FLOOD):
        flooder.send("/help")
    # every update of the flood is with the bot (polled or POSTed); its answers are still paced
    await botapi.wait_for(lambda: botapi.pending_updates() == 0, timeout=60)
    asked_at = time.monotonic()
    botapi.send_text("/help", user_id=OTHER, first_name="Other")
    answer = await botapi.next_message(OTHER, timeout=10)
    assert HELP_LINE in answer.plain
    return answer.sent_at - asked_at


def assert_flood_answered_in_part_and_told_once(botapi: BotApiStandIn, chat_id: int) -> None:
    sent = [m.plain for m in botapi.messages(chat_id)]
    answers = [text for text in sent if HELP_LINE in text]
    told = [text for text in sent if text == too_many_at_once(ENGLISH, IN_PROGRESS_PER_CHAT)]
    # the first ones, and a few more as answers went out and made room: never the flood
    assert IN_PROGRESS_PER_CHAT <= len(answers) <= 3 * IN_PROGRESS_PER_CHAT, len(answers)
    assert len(told) == 1, sent[-3:]
    assert len(sent) == len(answers) + 1
    assert botapi.flood_429s == 0


@pytest.mark.realtime  # Telegram's pacing in real time is the point: starts first under xdist
@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_another_user_is_answered_at_once_while_one_user_floods_a_private_chat(
    limited: Sandbox, mode: str
) -> None:
    botapi = limited.botapi
    settings = webhook_settings() if mode == "webhook" else {}
    flooder = Chat(botapi, user_id=FLOODER, first_name="Flood")
    async with bot_running(limited, **settings):
        waited = await another_user_waits_during_a_flood(botapi, flooder)
        assert waited < 1.0, f"another user waited {waited:.2f} s"
        await botapi.wait_for(lambda: len(botapi.messages(FLOODER)) > IN_PROGRESS_PER_CHAT, 30)
    assert_flood_answered_in_part_and_told_once(botapi, FLOODER)


@pytest.mark.realtime  # Telegram's pacing in real time is the point: starts first under xdist
@pytest.mark.timeout(180)
async def test_another_user_is_answered_at_once_while_one_user_floods_a_group(
    limited: Sandbox,
) -> None:
    botapi = limited.botapi
    flooder = Chat(botapi, user_id=FLOODER, chat_id=GROUP, chat_type="group", first_name="Flood")
    async with bot_running(limited):
        waited = await another_user_waits_during_a_flood(botapi, flooder)
        assert waited < 1.0, f"another user waited {waited:.2f} s"
        await botapi.wait_for(lambda: len(botapi.messages(GROUP)) > IN_PROGRESS_PER_CHAT, 30)
    assert_flood_answered_in_part_and_told_once(botapi, GROUP)


async def test_answers_waiting_for_their_chats_hold_no_update_slot(limited: Sandbox) -> None:
    """Two slots only, one message a second per chat: two users' second and third answers
    wait for their chats, and a third user still gets in at once."""
    botapi = limited.botapi
    settings = limited.settings.model_copy(update={"telegram_chat_burst": 1})
    async with running_bot(settings, update_processor=HandledReporter(botapi, 2)):
        for user in (FLOODER, FLOODER + 1):
            for _ in range(3):
                botapi.send_text("/help", user_id=user)
        await botapi.wait_for(lambda: botapi.pending_updates() == 0, timeout=10)
        asked_at = time.monotonic()
        botapi.send_text("/help", user_id=OTHER)
        answer = await botapi.next_message(OTHER, timeout=10)
        waited = answer.sent_at - asked_at
        await botapi.wait_for(
            lambda: all(len(botapi.messages(u)) == 3 for u in (FLOODER, FLOODER + 1)), 10
        )
    assert waited < 1.0, f"the third user waited {waited:.2f} s for a slot"
    assert botapi.flood_429s == 0
