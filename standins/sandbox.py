"""Sandbox mode: the real bot against local stand-ins, with a chat in the terminal."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import tempfile
from pathlib import Path

from bot.app import STARTUP_ERRORS
from bot.config import Settings
from bot.logs import configure_logging
from standins.botapi import BotApiStandIn
from standins.chat_text import render_for_terminal
from standins.demo import DEMO_USER_ID, Sandbox, add_demo_key, running_standins
from standins.handled import reporting_bot
from standins.miniapp import dashboard_url, free_port

BANNER = (
    "Sandbox mode: no TELEGRAM_BOT_TOKEN is set, so the bot runs against local stand-ins of "
    "Telegram and 3Commas with demo accounts."
)
TRY = (
    "Type messages as the demo user. Try: /connect new (then send sandbox-rsa-key), "
    "/connect demo-key demo-secret, /accounts, /refresh 12345678, /refresh binance, "
    "/refresh all, /bots all, /deals all, /help. End with Ctrl-D."
)
DASHBOARD_HINT = (
    "Open the Dashboard line's address in a browser; it shows the demo accounts once you have "
    "connected (/connect demo-key demo-secret)."
)
# The API key the sandbox's 3Commas gives for a public key the bot sends (`/connect new`).
SANDBOX_RSA_API_KEY = "sandbox-rsa-key"
PUBLIC_KEY = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)
UPSTREAM_LATENCY = 0.2
# The sandbox's 3Commas closes one deal per key this often, so a deal feed has news.
DEAL_CLOSE_SECONDS = 30.0
ANSWER_TIMEOUT = 60.0


class TerminalChat:
    """Prints each bot message of the demo chat once it settles, again when it changes."""

    def __init__(self, botapi: BotApiStandIn, chat_id: int) -> None:
        self._botapi = botapi
        self._chat_id = chat_id
        self._shown: dict[int, str] = {}

    def print_changes(self) -> None:
        files = {sent.message.message_id: sent for sent in self._botapi.files_in(self._chat_id)}
        for message in self._botapi.messages(self._chat_id):
            text = render_for_terminal(message)
            sent = files.get(message.message_id)
            if sent is not None:
                what = (
                    f"photo {sent.width}×{sent.height}"
                    if sent.method == "sendPhoto"
                    else f"file {sent.file.filename}"
                )
                text = f"[{what}] {text}"
            if self._shown.get(message.message_id) == text:
                continue
            self._shown[message.message_id] = text
            print(f"bot> {text}\n", flush=True)


class PublicKeyRegistrar:
    """Plays the user's part in the 3Commas web app: a public key the bot sends becomes the
    self-generated key SANDBOX_RSA_API_KEY, seeing the demo accounts."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._registered: set[str] = set()

    def register_new(self) -> None:
        for public_key in self._public_keys_sent():
            if public_key in self._registered:
                continue
            self._registered.add(public_key)
            add_demo_key(self._sandbox.threecommas, SANDBOX_RSA_API_KEY, public_key)
            print(
                f"(sandbox: the 3Commas stand-in registered that public key as API key "
                f"{SANDBOX_RSA_API_KEY}, with the demo accounts: send {SANDBOX_RSA_API_KEY})\n",
                flush=True,
            )

    def _public_keys_sent(self) -> list[str]:
        botapi = self._sandbox.botapi
        texts = [message.plain for message in botapi.messages(DEMO_USER_ID)]
        texts += [sent.data.decode("ascii", "replace") for sent in botapi.files_in(DEMO_USER_ID)]
        return [match.strip() for text in texts for match in PUBLIC_KEY.findall(text)]


DEMO_FIRST_NAME = "Demo"


def dashboard_line(botapi: BotApiStandIn, port: int) -> str:
    """The Mini App for the demo user, with init data signed as Telegram signs it."""
    user = {"id": DEMO_USER_ID, "first_name": DEMO_FIRST_NAME}
    url = dashboard_url(f"http://127.0.0.1:{port}", botapi.token, user)
    return f"Dashboard: {url}"


async def _chat(settings: Settings) -> None:
    # The HTTP server serves the Mini App on PORT, or on a free port.
    port = settings.port or free_port()
    with tempfile.TemporaryDirectory(prefix="bot-sandbox-") as data:
        async with running_standins(Path(data), settings, latency=UPSTREAM_LATENCY) as sandbox:
            served = sandbox.settings.model_copy(update={"port": port, "miniapp_url": None})
            async with reporting_bot(served, sandbox.botapi):
                sandbox.threecommas.close_deals_every(DEAL_CLOSE_SECONDS)
                print(dashboard_line(sandbox.botapi, port), flush=True)
                print(DASHBOARD_HINT, flush=True)
                await _converse(sandbox.botapi, PublicKeyRegistrar(sandbox))


async def _converse(botapi: BotApiStandIn, registrar: PublicKeyRegistrar) -> None:
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
        registrar.register_new()


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
