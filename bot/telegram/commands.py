"""Every command the bot knows, in one list: its name, where it works, what it does.

The handlers, the command menus, /help and the README's command table (checked by a test) all
come from `COMMANDS`; /start, /help and the answer to an unknown command are here because they
are about this list.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.telegram.context import Context
from bot.telegram.handlers.account_command import AccountCommand
from bot.telegram.handlers.accounts import accounts_command, disconnect_command
from bot.telegram.handlers.common import argument_text, asker
from bot.telegram.handlers.connect import begin_connect, cancel_command, connect_command
from bot.telegram.handlers.history import CHART_COMMAND, PROFIT_COMMAND
from bot.telegram.handlers.holdings import HOLDINGS_COMMAND
from bot.telegram.handlers.refresh import REFRESH_COMMAND
from bot.telegram.handlers.subscriptions import (
    alert_command,
    subscribe_command,
    subscriptions_command,
    timezone_command,
    unsubscribe_command,
)
from bot.telegram.transport.replies import send_html
from bot.telegram.views.html import escape
from bot.telegram.views.render import render_unknown_command
from bot.telegram.views.texts import CONNECT_HELP, IN_GROUPS, INTRO

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str  # how to call it, in /help: `/refresh <account|all>`
    does: str  # what it does: the command menu's description and the rest of its /help line
    callback: Callback
    private_only: bool = False


# The commands that act on one account (or all): their buttons are handled with them.
ACCOUNT_COMMANDS: list[AccountCommand] = [
    REFRESH_COMMAND,
    HOLDINGS_COMMAND,
    CHART_COMMAND,
    PROFIT_COMMAND,
]


async def start(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    if who.is_private and argument_text(who.message) == "connect":
        await begin_connect(update, context)
        return
    await send_html(context.bot, who.chat_id, HELP)


async def help_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is not None:
        await send_html(context.bot, who.chat_id, HELP)


COMMANDS: list[Command] = [
    Command("start", "/start", "what this bot does", start),
    Command("help", "/help", "how to connect and every command", help_command),
    Command(
        "connect",
        "/connect",
        "connect 3Commas: /connect new makes a key pair (private chat)",
        connect_command,
        private_only=True,
    ),
    Command(
        "accounts", "/accounts", "your exchange accounts, with refresh buttons", accounts_command
    ),
    Command(
        "refresh",
        "/refresh <account|all>",
        "balances and profits, by id or (part of the) name",
        REFRESH_COMMAND.command_handler(),
    ),
    Command(
        "holdings",
        "/holdings <account|all>",
        "the coins held, largest first",
        HOLDINGS_COMMAND.command_handler(),
    ),
    Command(
        "chart",
        "/chart <account|all> [7d|30d|90d|1y]",
        "a chart of the balance, deposits marked",
        CHART_COMMAND.command_handler(),
    ),
    Command(
        "profit",
        "/profit <account|all> [days|weeks|months]",
        "profit by period, net of deposits",
        PROFIT_COMMAND.command_handler(),
    ),
    Command(
        "subscribe",
        "/subscribe <account|all> every 1h",
        "post summaries here on a schedule (or daily 09:00; add holdings, chart or profit)",
        subscribe_command,
    ),
    Command(
        "subscriptions",
        "/subscriptions",
        "this chat's subscriptions and alerts",
        subscriptions_command,
    ),
    Command(
        "unsubscribe",
        "/unsubscribe <number>",
        "remove a subscription or alert (its creator or a group admin)",
        unsubscribe_command,
    ),
    Command(
        "alert",
        "/alert <account> balance < 25000",
        "a word here when a balance or day profit crosses a line (also day < -5%, and >)",
        alert_command,
    ),
    Command(
        "timezone",
        "/timezone Europe/Berlin",
        "this chat's time zone for daily summaries and the times shown",
        timezone_command,
    ),
    Command(
        "disconnect",
        "/disconnect",
        "forget your keys and everything stored for you",
        disconnect_command,
    ),
    Command("cancel", "/cancel", "stop connecting", cancel_command, private_only=True),
]
GROUP_COMMANDS = [command for command in COMMANDS if not command.private_only]


def _help_text() -> str:
    lines = [f"{escape(command.usage)} - {escape(command.does)}" for command in COMMANDS]
    return "\n\n".join([INTRO, CONNECT_HELP, "<b>Commands</b>\n" + "\n".join(lines), IN_GROUPS])


HELP = _help_text()


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
    known = [command.name for command in (COMMANDS if who.is_private else GROUP_COMMANDS)]
    await send_html(
        context.bot,
        who.chat_id,
        render_unknown_command(name, known),
        reply_to=who.message.message_id,
    )
