"""The one shape every chat command shares: the asker, the chat's settings and the error
sentence come with `ChatCommand`; the command list is made of the command objects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram.ext import CommandHandler

from bot.services.errors import NoAccounts
from bot.telegram.commands import ACCOUNT_COMMANDS, COMMANDS
from bot.telegram.context import BotApplication
from bot.telegram.handlers.account_command import AccountCommand
from bot.telegram.handlers.bots import BOTS_COMMAND, DEALS_COMMAND
from bot.telegram.handlers.chat_command import ChatCommand, ChatRequest
from bot.telegram.handlers.history import CHART_COMMAND, PROFIT_COMMAND
from bot.telegram.handlers.holdings import HOLDINGS_COMMAND
from bot.telegram.handlers.refresh import REFRESH_COMMAND
from bot.telegram.handlers.subscriptions import TIMEZONE_COMMAND
from standins.demo import Sandbox
from tests.support.bot import Chat, bot_running

GROUP = -100900


async def zone_here(request: ChatRequest) -> None:
    await request.reply(f"zone {request.settings.zone.key} for {request.who.user_id}")


async def fails(request: ChatRequest) -> None:
    raise NoAccounts


ZONE_HERE = ChatCommand("zonehere", "/zonehere", "the chat's zone", zone_here)
FAILS = ChatCommand("fails", "/fails", "always fails", fails)


@pytest.fixture
async def stub_bot(sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    async with bot_running(sandbox) as application:
        _add_stubs(application)
        yield sandbox


def _add_stubs(application: BotApplication) -> None:
    # before the catch-all for unknown commands, which is registered last in group 0
    application.handlers[0][0:0] = [
        CommandHandler(command.name, command.command_handler()) for command in (ZONE_HERE, FAILS)
    ]


async def test_a_chat_command_is_handed_the_chats_zone(stub_bot: Sandbox) -> None:
    chat = Chat(stub_bot.botapi)
    assert (await chat.reply("/zonehere")).plain == f"zone UTC for {chat.user_id}"
    await chat.reply("/timezone Asia/Tokyo")
    assert (await chat.reply("/zonehere")).plain == f"zone Asia/Tokyo for {chat.user_id}"
    group = Chat(stub_bot.botapi, chat_id=GROUP, chat_type="supergroup")
    assert (await group.reply("/zonehere")).plain == f"zone UTC for {chat.user_id}"


async def test_a_chat_commands_failure_is_answered_with_its_sentence(stub_bot: Sandbox) -> None:
    answer = await Chat(stub_bot.botapi).reply("/fails")
    assert (
        answer.plain == "❌ Your 3Commas key sees no exchange accounts. Connect an exchange "
        "in 3Commas first."
    )


def test_the_command_list_is_made_of_the_command_objects() -> None:
    assert REFRESH_COMMAND in COMMANDS and TIMEZONE_COMMAND in COMMANDS
    assert ACCOUNT_COMMANDS == [
        REFRESH_COMMAND,
        HOLDINGS_COMMAND,
        CHART_COMMAND,
        PROFIT_COMMAND,
        BOTS_COMMAND,
        DEALS_COMMAND,
    ]
    assert all(isinstance(command, AccountCommand | ChatCommand) for command in COMMANDS)
    names = [command.name for command in COMMANDS]
    assert len(names) == len(set(names))
