"""/start, /help, and an answer to a command this bot does not know."""

from __future__ import annotations

from telegram import Update

from bot.telegram.context import Context
from bot.telegram.handlers.common import argument_text, asker
from bot.telegram.handlers.connect import begin_connect
from bot.telegram.render import render_unknown_command
from bot.telegram.replies import send_html
from bot.telegram.texts import COMMANDS, GROUP_COMMANDS, HELP


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


async def unknown_command(update: Update, context: Context) -> None:
    """Suggest the closest command, or /help. In groups only for `/foo@thisbot`: a bare `/foo`
    there may be meant for another bot."""
    who = asker(update)
    if who is None or not who.message.text:
        return
    name, _, addressee = who.message.text.split(maxsplit=1)[0][1:].partition("@")
    addressed_to_me = addressee.casefold() == context.bot.username.casefold()
    if not addressed_to_me and (addressee or not who.is_private):
        return
    commands = [command for command, _ in (COMMANDS if who.is_private else GROUP_COMMANDS)]
    await send_html(
        context,
        who.chat_id,
        render_unknown_command(name, commands),
        reply_to=who.message.message_id,
    )
