"""(10) One user floods the bot: how long everyone else waits meanwhile.

One user sends 1,100 `/help` at once from a private chat (by polling, then through the
webhook), or 1,040 in a group (polling); the Bot API stand-in enforces Telegram's limits, so
that chat's answers are paced at about one a second. Once the bot has taken every update of
the flood (none left to poll or to POST), other users each send `/help`, one every
`ASK_EVERY` seconds: the time from their message until the stand-in accepted the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import time
from pathlib import Path

from bench.common import TELEGRAM_LIMITS, Row, bot_process, first_poll
from bot.config import Settings
from bot.telegram.transport.incoming import IN_PROGRESS_PER_CHAT
from bot.telegram.views.texts import too_many_at_once
from bot.telegram.views.translator import ENGLISH
from standins.botapi import BotApiStandIn
from standins.demo import running_standins

PRIVATE_FLOOD = 1_100  # the figures
GROUP_FLOOD = 1_040
FLOODER = 70_000_001  # in a private chat; the group's flooder is another user
GROUP_FLOODER = 70_000_002
GROUP = -100_700_000_001
FIRST_OTHER = 71_000_000
ASK_EVERY = 0.5
TARGET_SECONDS = 1.0
HELP_LINE = "3Commas balances in Telegram"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _others_wait(
    botapi: BotApiStandIn, flooder: int, chat_id: int, flood: int, others: list[int]
) -> list[float]:
    """Flood from `flooder` in `chat_id`, then each of `others` asks once: their waits."""
    chat_type = "private" if chat_id == flooder else "group"
    for _ in range(flood):
        botapi.send_text("/help", user_id=flooder, chat_id=chat_id, chat_type=chat_type)
    await botapi.wait_for(lambda: botapi.pending_updates() == 0, timeout=120)
    waits = []
    for other in others:
        asked_at = time.monotonic()
        botapi.send_text("/help", user_id=other, first_name="Other")
        answer = await botapi.next_message(other, timeout=120)
        waits.append(answer.sent_at - asked_at)
        await asyncio.sleep(ASK_EVERY)
    return waits


async def _flood_chat(botapi: BotApiStandIn, chat_id: int) -> str:
    """What the flooding chat got, once it was told (its answers go out one a second)."""
    notice = too_many_at_once(ENGLISH, IN_PROGRESS_PER_CHAT)

    def told() -> int:
        return sum(message.plain == notice for message in botapi.messages(chat_id))

    with contextlib.suppress(TimeoutError):
        await botapi.wait_for(lambda: told() > 0, timeout=60)
    answers = sum(HELP_LINE in message.plain for message in botapi.messages(chat_id))
    return f"the flooding chat: {answers} answers, told {told()}x"


def _waits(waits: list[float]) -> str:
    return f"median {statistics.median(waits):.3f} s, max {max(waits):.3f} s"


async def measure(data: Path, others: int) -> Row:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    people = iter(range(FIRST_OTHER, FIRST_OTHER + 3 * others))
    results: dict[str, tuple[list[float], str]] = {}
    async with running_standins(data / "polling", base, **TELEGRAM_LIMITS) as sandbox:
        botapi = sandbox.botapi
        async with bot_process(sandbox.settings, data / "polling"):
            await first_poll(botapi)
            asking = [next(people) for _ in range(others)]
            waits = await _others_wait(botapi, FLOODER, FLOODER, PRIVATE_FLOOD, asking)
            results["private chat, polling"] = (waits, await _flood_chat(botapi, FLOODER))
            asking = [next(people) for _ in range(others)]
            waits = await _others_wait(botapi, GROUP_FLOODER, GROUP, GROUP_FLOOD, asking)
            results["group, polling"] = (waits, await _flood_chat(botapi, GROUP))
        polling_429s = botapi.flood_429s
    async with running_standins(data / "webhook", base, **TELEGRAM_LIMITS) as sandbox:
        botapi = sandbox.botapi
        port = _free_port()
        webhook = {"WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/updates", "PORT": str(port)}
        async with bot_process(sandbox.settings, data / "webhook", **webhook):
            await botapi.wait_for(lambda: botapi.webhook is not None, timeout=30)
            asking = [next(people) for _ in range(others)]
            waits = await _others_wait(botapi, FLOODER, FLOODER, PRIVATE_FLOOD, asking)
            results["private chat, webhook"] = (waits, await _flood_chat(botapi, FLOODER))
        webhook_429s = botapi.flood_429s
    slowest = max(max(waits) for waits, _ in results.values())
    parts = [f"{name}: {_waits(waits)} ({flood})" for name, (waits, flood) in results.items()]
    return Row(
        10,
        f"One-user flood: one user sends {PRIVATE_FLOOD:,} /help at once from a private chat "
        f"(polling, then webhook) or {GROUP_FLOOD:,} in a group; once the bot has taken them "
        f"all, {others} other users each send /help, {ASK_EVERY} s apart (stand-in enforcing "
        "Telegram's limits)",
        "other users answered after " + "; ".join(parts) + f"; 429s for a broken limit: "
        f"{polling_429s + webhook_429s}",
        f"each other user's answer < {TARGET_SECONDS:.0f} s (before issue 19: 72.2 s private, "
        "12.1 s group)",
        slowest < TARGET_SECONDS and polling_429s + webhook_429s == 0,
    )
