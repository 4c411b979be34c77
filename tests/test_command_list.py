"""One home for the command list: handlers, menus, /help and the README's table all agree."""

from __future__ import annotations

import re
from pathlib import Path

from bot.telegram.commands import ACCOUNT_COMMANDS, COMMANDS, GROUP_COMMANDS, help_text
from bot.telegram.views import keyboards
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


def test_no_two_kinds_of_button_share_their_two_letters() -> None:
    """A per-account command writes its buttons' letters in its object, the others are in
    views/keyboards.py: a button pressed must reach the one handler it was made for."""
    own = [command.action for command in ACCOUNT_COMMANDS]
    shared = {
        value
        for name, value in vars(keyboards).items()
        if name.isupper() and isinstance(value, str) and len(value) == 2
    }
    assert len(own) == len(set(own)), own
    assert shared >= {"rf", "ho", "ch", "pr", "kp", "hk", "lg"}
    taken_elsewhere = shared - {"rf", "ho", "ch", "pr"}  # these four are commands' own
    assert not set(own) & taken_elsewhere, set(own) & taken_elsewhere
