"""Sandbox mode: the real bot against local stand-ins, with a chat in the terminal."""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from pathlib import Path

from bot.app import STARTUP_ERRORS
from bot.config import Settings
from bot.logs import configure_logging
from standins.botapi import BotApiStandIn
from standins.chat_text import render_for_terminal
from standins.demo import DEMO_USER_ID, running_standins
from standins.handled import reporting_bot

BANNER = (
    "Sandbox mode: no TELEGRAM_BOT_TOKEN is set, so the bot runs against local stand-ins of "
    "Telegram and 3Commas with demo accounts."
)
TRY = (
    "Type messages as the demo user. Try: /connect demo-key demo-secret, /accounts, "
    "/refresh 12345678, /refresh binance, /refresh all, /help. End with Ctrl-D."
)
UPSTREAM_LATENCY = 0.2
ANSWER_TIMEOUT = 60.0


class TerminalChat:
    """Prints each bot message of the demo chat once it settles, again when it changes."""

    def __init__(self, botapi: BotApiStandIn, chat_id: int) -> None:
        self._botapi = botapi
        self._chat_id = chat_id
        self._shown: dict[int, str] = {}

    def print_changes(self) -> None:
        for message in self._botapi.messages(self._chat_id):
            text = render_for_terminal(message)
            if self._shown.get(message.message_id) == text:
                continue
            self._shown[message.message_id] = text
            print(f"bot> {text}\n", flush=True)


async def _chat(settings: Settings) -> None:
    with tempfile.TemporaryDirectory(prefix="bot-sandbox-") as data:
        async with (
            running_standins(Path(data), settings, latency=UPSTREAM_LATENCY) as sandbox,
            reporting_bot(sandbox.settings, sandbox.botapi),
        ):
            await _converse(sandbox.botapi)


async def _converse(botapi: BotApiStandIn) -> None:
    chat = TerminalChat(botapi, DEMO_USER_ID)
    print(TRY, flush=True)
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            print("you> ", end="", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        if not line.strip():
            continue
        if not interactive:
            print(f"you> {line.rstrip()}", flush=True)
        incoming = botapi.send_text(line.rstrip("\n"), user_id=DEMO_USER_ID)
        await botapi.wait_handled(botapi.last_update_id, timeout=ANSWER_TIMEOUT)
        if (DEMO_USER_ID, incoming) in botapi.deleted_incoming:
            print("(the bot deleted your message: it carried key material)", flush=True)
        chat.print_changes()


def run_sandbox(settings: Settings) -> int:
    print(BANNER, flush=True)
    configure_logging(max(settings.log_level_number, logging.WARNING))
    try:
        asyncio.run(_chat(settings))
    except STARTUP_ERRORS as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
