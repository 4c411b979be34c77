"""The real bot serving its Mini App, for tests that drive a browser (a blocking client).

The stand-ins and the bot run on their own event loop in a thread, so Selenium's blocking calls
in the test never stall the server. Users connect through the Bot API stand-in as they would in
Telegram; the page is opened with init data signed as Telegram signs it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp

from bot.config import Settings
from standins.demo import DEMO_USER_ID, Sandbox, running_standins
from standins.threecommas_standin import demo_account
from tests.support.bot import Chat, bot_running
from tests.support.miniapp import signed_init_data
from tests.support.process import free_port

T = TypeVar("T")

ANN = {"id": DEMO_USER_ID, "first_name": "Demo"}  # the demo key: three accounts
BOB = {"id": 2002, "first_name": "Bob"}  # a key of his own: one account
CAROL = {"id": 3003, "first_name": "Carol"}  # never connected
BOB_KEY, BOB_SECRET = "bob-key", "bob-secret"
BOB_ACCOUNT = 99_990_001
START_SECONDS = 60.0

LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
}
DARK = {
    "bg_color": "#212121",
    "text_color": "#ffffff",
    "hint_color": "#aaaaaa",
    "link_color": "#8774e1",
    "button_color": "#8774e1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#181818",
}


def bob_account(usd: str) -> dict[str, Any]:
    return demo_account(
        BOB_ACCOUNT,
        "Bob's Bybit",
        exchange_name="Bybit Spot",
        market_code="bybit_spot",
        usd_amount=usd,
        primary_display_currency_amount={"currency": "USD", "amount": usd},
    )


def launch_url(base: str, init_data: str, theme: dict[str, str] | None, platform: str) -> str:
    """The page's URL as a Telegram client opens it: the launch data in the fragment."""
    fragment = f"tgWebAppData={quote(init_data, safe='')}&tgWebAppVersion=8.0"
    fragment += f"&tgWebAppPlatform={platform}"
    if theme is not None:
        fragment += f"&tgWebAppThemeParams={quote(json.dumps(theme), safe='')}"
    return f"{base}/app#{fragment}"


@dataclass
class Dashboard:
    base: str
    sandbox: Sandbox
    loop: asyncio.AbstractEventLoop
    chats: dict[int, Chat]

    @property
    def token(self) -> str:
        return self.sandbox.botapi.token

    def init_data(self, user: dict[str, Any], *, token: str | None = None, age: float = 0.0) -> str:
        auth_date = int(time.time() - age)
        return signed_init_data(token or self.token, user, auth_date, chat_type="sender")

    def url(
        self,
        user: dict[str, Any] | None = None,
        theme: dict[str, str] | None = LIGHT,
        *,
        init_data: str | None = None,
        platform: str = "unknown",
    ) -> str:
        if init_data is None:
            init_data = self.init_data(user or ANN)
        return launch_url(self.base, init_data, theme, platform)

    def get_json(self, user: dict[str, Any], path: str) -> Any:
        """What the bot answers `user`'s page for `path` (as the page asks, with init data)."""
        headers = {"Authorization": f"tma {self.init_data(user)}"}

        async def fetched() -> Any:
            async with (
                aiohttp.ClientSession() as session,
                session.get(self.base + path, headers=headers) as answer,
            ):
                return await answer.json()

        return self.run(fetched())

    def run(self, coroutine: Awaitable[T]) -> T:
        """`coroutine` on the server's loop; its result."""

        async def awaited() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(awaited(), self.loop).result(START_SECONDS)

    def call(self, function: Callable[[], T]) -> T:
        """`function()` on the server's loop (where the stand-ins live); its result."""

        async def called() -> T:
            return function()

        return self.run(called())


@contextmanager
def dashboard_served(data: Path) -> Iterator[Dashboard]:
    """The bot with its HTTP server on a free port, Ann and Bob connected and refreshed once."""
    loop = asyncio.new_event_loop()
    started: concurrent.futures.Future[Dashboard] = concurrent.futures.Future()
    stopping: list[asyncio.Event] = []

    async def serve() -> None:
        stop = asyncio.Event()
        stopping.append(stop)
        base = Settings(
            _env_file=None,
            refresh_cooldown_seconds=0,
            key_pair_cooldown_seconds=0,
            telegram_chat_burst=1_000_000,
            # One module opens Ann's accounts dozens of times, each asking 3Commas for holdings,
            # history, profit and bots: more than a person's 100 a minute per key.
            threecommas_requests_per_minute=10_000,
        )
        async with running_standins(data, base) as sandbox:
            sandbox.threecommas.add_key(BOB_KEY, BOB_SECRET, [bob_account("999.00")])
            port = free_port()
            async with bot_running(sandbox, port=port):
                ann = Chat(sandbox.botapi)
                bob = Chat(sandbox.botapi, user_id=BOB["id"], first_name="Bob")
                await ann.connect()
                await bob.connect(BOB_KEY, BOB_SECRET)
                for chat in (ann, bob):  # last known figures for the page to open with
                    await chat.reply("/refresh all")
                started.set_result(
                    Dashboard(
                        f"http://127.0.0.1:{port}",
                        sandbox,
                        loop,
                        {ann.user_id: ann, bob.user_id: bob},
                    )
                )
                await stop.wait()

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as error:
            if not started.done():
                started.set_exception(error)
            raise
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="dashboard-server", daemon=True)
    thread.start()
    try:
        yield started.result(START_SECONDS)
    finally:
        if stopping:
            loop.call_soon_threadsafe(stopping[0].set)
        thread.join(START_SECONDS)
