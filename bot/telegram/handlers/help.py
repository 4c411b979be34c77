"""/start and /help."""

from __future__ import annotations

from telegram import Update

from bot.telegram.context import Context
from bot.telegram.handlers.common import argument_text, asker
from bot.telegram.handlers.connect import begin_connect
from bot.telegram.replies import send_html
from bot.telegram.texts import HELP


async def start(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    if who.is_private and argument_text(who.message) == "connect":
        await begin_connect(update, context)
        return
    await send_html(context, who.chat_id, HELP)


async def help_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is not None:
        await send_html(context, who.chat_id, HELP)
