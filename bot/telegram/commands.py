"""Every command the bot knows, in one list: each command object, written once.

Each command says its own name, how to call it and what it does (`ChatCommand`,
`AccountCommand`); the handlers, the command menus, /help and the README's command table
(checked by a test) all come from `COMMANDS`. /start, /help and the answer to an unknown
command are here because they are about this list.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from telegram import Update

from bot.telegram.context import Context
from bot.telegram.handlers.account_command import AccountCommand
from bot.telegram.handlers.accounts import ACCOUNTS_COMMAND, DISCONNECT_COMMAND
from bot.telegram.handlers.bots import BOTS_COMMAND, DEALS_COMMAND
from bot.telegram.handlers.chat_command import ChatCommand, ChatRequest
from bot.telegram.handlers.common import asker, dashboard
from bot.telegram.handlers.connect import CANCEL_COMMAND, CONNECT_COMMAND, begin_connect
from bot.telegram.handlers.history import CHART_COMMAND, PROFIT_COMMAND
from bot.telegram.handlers.holdings import HOLDINGS_COMMAND
from bot.telegram.handlers.refresh import REFRESH_COMMAND
from bot.telegram.handlers.subscriptions import (
    ALERT_COMMAND,
    SUBSCRIBE_COMMAND,
    SUBSCRIPTIONS_COMMAND,
    TIMEZONE_COMMAND,
    UNSUBSCRIBE_COMMAND,
)
from bot.telegram.transport.replies import send_html
from bot.telegram.views.html import escape
from bot.telegram.views.keyboards import DASHBOARD_START, with_row
from bot.telegram.views.render import render_unknown_command
from bot.telegram.views.texts import CONNECT_HELP, DASHBOARD_OPEN, IN_GROUPS, INTRO


class Command(Protocol):
    """What the list needs of a command, whichever its shape."""

    @property
    def name(self) -> str: ...
    @property
    def usage(self) -> str: ...
    @property
    def does(self) -> str: ...
    @property
    def private_only(self) -> bool: ...

    def command_handler(self) -> Callable[[Update, Context], Coroutine[Any, Any, None]]: ...


async def start(request: ChatRequest) -> None:
    """/start, and the deep links `/start connect` and `/start dashboard` (private chat)."""
    who = request.who
    if who.is_private and request.argument == "connect":
        await begin_connect(request.context, who)
        return
    button = dashboard(request.context, private=who.is_private)
    markup = with_row(None, button)
    if who.is_private and request.argument == DASHBOARD_START and button is not None:
        await send_html(request.context.bot, who.chat_id, DASHBOARD_OPEN, reply_markup=markup)
        return
    await send_html(request.context.bot, who.chat_id, HELP, reply_markup=markup)


async def help_text(request: ChatRequest) -> None:
    await send_html(request.context.bot, request.who.chat_id, HELP)


START_COMMAND = ChatCommand("start", "/start", "what this bot does", start)
HELP_COMMAND = ChatCommand("help", "/help", "how to connect and every command", help_text)

# In the order of /help and the menus.
COMMANDS: list[Command] = [
    START_COMMAND,
    HELP_COMMAND,
    CONNECT_COMMAND,
    ACCOUNTS_COMMAND,
    REFRESH_COMMAND,
    HOLDINGS_COMMAND,
    CHART_COMMAND,
    PROFIT_COMMAND,
    BOTS_COMMAND,
    DEALS_COMMAND,
    SUBSCRIBE_COMMAND,
    SUBSCRIPTIONS_COMMAND,
    UNSUBSCRIBE_COMMAND,
    ALERT_COMMAND,
    TIMEZONE_COMMAND,
    DISCONNECT_COMMAND,
    CANCEL_COMMAND,
]
GROUP_COMMANDS = [command for command in COMMANDS if not command.private_only]
# The commands that act on one account (or all): their buttons are handled with them.
ACCOUNT_COMMANDS = [command for command in COMMANDS if isinstance(command, AccountCommand)]


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
