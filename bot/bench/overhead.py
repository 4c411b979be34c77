"""(1) Bot overhead per /refresh, against the floor of a minimal python-telegram-bot handler."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from bot.app import running_bot
from bot.bench.common import Row, percentile
from bot.config import Settings
from bot.sandbox.botapi_standin import BotApiStandIn
from bot.sandbox.demo import DEMO_API_KEY, DEMO_SECRET, DEMO_USER_ID, running_standins

UPSTREAM_LATENCY = 0.010  # the 3Commas stand-in's configured latency, subtracted below
WARM_UP = 20
# A /refresh sends two messages (progress, then the edit). The bot's FloodLimiter allows 30
# per second, as Telegram does; back to back, every 15th refresh would wait for it. Refreshes
# start at most 14 per second so this measures the bot, not the flood limit (both sides paced).
PACE = 1 / 14


async def _paced(start: float) -> None:
    await asyncio.sleep(max(0.0, start + PACE - time.perf_counter()))


async def _offer_and_wait(botapi: BotApiStandIn, text: str, chat_id: int) -> float:
    """Seconds from the update being offered to a new bot message that has been edited."""
    before = len(botapi.messages(chat_id))

    def done() -> bool:
        sent = botapi.messages(chat_id)
        return len(sent) > before and bool(sent[-1].edits)

    start = time.perf_counter()
    botapi.send_text(text, user_id=DEMO_USER_ID)
    await botapi.wait_for(done, timeout=30)
    return time.perf_counter() - start


async def _offer_and_wait_reply(botapi: BotApiStandIn, text: str, chat_id: int) -> float:
    """Seconds from the update being offered to the bot's reply arriving."""
    before = len(botapi.messages(chat_id))
    start = time.perf_counter()
    botapi.send_text(text, user_id=DEMO_USER_ID)
    await botapi.wait_for(lambda: len(botapi.messages(chat_id)) > before, timeout=30)
    return time.perf_counter() - start


async def _only_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("Done.")


def _floor_application(botapi: BotApiStandIn) -> Application:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(botapi.token)
        .base_url(f"{botapi.root_url}/bot")
        .base_file_url(f"{botapi.root_url}/file/bot")
        .build()
    )
    application.add_handler(CommandHandler("refresh", _only_reply))
    return application


async def floor_latencies(data: Path, count: int) -> list[float]:
    async with running_standins(data, Settings(_env_file=None)) as sandbox:
        application = _floor_application(sandbox.botapi)
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0.0, timeout=10)
            try:
                samples = []
                for index in range(WARM_UP + count):
                    started = time.perf_counter()
                    took = await _offer_and_wait_reply(sandbox.botapi, "/refresh", DEMO_USER_ID)
                    await _paced(started)
                    if index >= WARM_UP:
                        samples.append(took)
            finally:
                await application.updater.stop()
                await application.stop()
    return samples


async def bot_latencies(data: Path, count: int) -> list[float]:
    base = Settings(
        _env_file=None,
        refresh_cooldown_seconds=0,
        threecommas_requests_per_minute=1_000_000,  # one key, 500 refreshes: not the subject
        log_level="WARNING",
    )
    async with (
        running_standins(data, base, latency=UPSTREAM_LATENCY) as sandbox,
        running_bot(sandbox.settings),
    ):
        botapi = sandbox.botapi
        botapi.send_text(f"/connect {DEMO_API_KEY} {DEMO_SECRET}", user_id=DEMO_USER_ID)
        await botapi.wait_for_text(DEMO_USER_ID, "Connected", timeout=30)
        samples = []
        for index in range(WARM_UP + count):
            started = time.perf_counter()
            took = await _offer_and_wait(botapi, "/refresh 12345678", DEMO_USER_ID)
            await _paced(started)
            if index >= WARM_UP:
                samples.append(took - UPSTREAM_LATENCY)
        final = botapi.messages(DEMO_USER_ID)[-1]
        assert "$31.21" in final.plain, final.plain
    return samples


async def measure(data: Path, count: int) -> Row:
    logging.getLogger("telegram").setLevel(logging.WARNING)
    floor = await floor_latencies(data / "floor", count)
    ours = await bot_latencies(data / "bot", count)
    floor_p50, floor_p99 = percentile(floor, 0.5) * 1000, percentile(floor, 0.99) * 1000
    p50, p99 = percentile(ours, 0.5) * 1000, percentile(ours, 0.99) * 1000
    return Row(
        1,
        f"Bot overhead per /refresh ({count} sequential, at most 14/s, upstream latency "
        f"{UPSTREAM_LATENCY * 1000:.0f} ms subtracted)",
        f"bot p50 {p50:.2f} ms, p99 {p99:.2f} ms; floor (minimal PTB handler that only replies) "
        f"p50 {floor_p50:.2f} ms, p99 {floor_p99:.2f} ms; p50 difference {p50 - floor_p50:+.2f} ms",
        "p50 within 2 ms of the floor",
        p50 - floor_p50 <= 2.0,
    )
