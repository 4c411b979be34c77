"""One home for the command list: handlers, menus, /help and the README's table all agree."""

from __future__ import annotations

import re
from pathlib import Path

from bot.telegram.commands import COMMANDS, GROUP_COMMANDS, help_text
from bot.telegram.views.translator import ENGLISH
from standins.demo import Sandbox
from tests.support.bot import Chat

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_table() -> dict[str, str]:
    """Command name -> its "where" cell, from the table under "Using the bot"."""
    section = README.read_text().split("## Using the bot", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) < 3 or not cells[0].startswith("`/"):
            continue
        for name in re.findall(r"`/([a-z_]+)", cells[0]):
            rows[name] = cells[1]
    return rows


def test_the_readme_table_lists_every_command_and_where_it_works() -> None:
    table = readme_table()
    assert set(table) == {command.name for command in COMMANDS}
    for command in COMMANDS:
        assert table[command.name] == ("private" if command.private_only else "anywhere")


def test_help_names_every_command_once() -> None:
    HELP = help_text(ENGLISH)
    for command in COMMANDS:
        assert HELP.count(f"/{command.name} ") + HELP.count(f"/{command.name}\n") >= 1


async def test_the_menus_are_set_from_the_same_list(running: Sandbox) -> None:
    menus = running.botapi.commands
    private = [c["command"] for c in menus["all_private_chats"]]
    groups = [c["command"] for c in menus["all_group_chats"]]
    assert private == [command.name for command in COMMANDS]
    assert groups == [command.name for command in GROUP_COMMANDS]
    answer = await Chat(running.botapi).reply("/help")
    assert "/holdings" in answer.plain and "/profit" in answer.plain
