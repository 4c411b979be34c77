"""A command the bot does not know gets the closest one, or /help; in groups only when it
was addressed to this bot (a bare `/foo` there may be another bot's)."""

from __future__ import annotations

import pytest

from standins.demo import DEMO_USER_ID, Sandbox
from tests.support.bot import Chat

GROUP = -100900
BOT = "threecommas_test_bot"


def in_group(sandbox: Sandbox) -> Chat:
    return Chat(sandbox.botapi, user_id=DEMO_USER_ID, chat_id=GROUP, chat_type="group")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (
            "/refersh all",
            "I don't know /refersh. Did you mean /refresh? Send /help to see every command.",
        ),
        (
            "/acounts",
            "I don't know /acounts. Did you mean /accounts? Send /help to see every command.",
        ),
        ("/foo", "I don't know /foo. Send /help to see every command."),
    ],
)
async def test_an_unknown_command_in_a_private_chat_gets_the_closest_one(
    chat: Chat, text: str, answer: str
) -> None:
    changed = await chat.say(text)
    assert [m.plain for m in changed] == [answer]


async def test_an_unknown_command_in_a_group_is_answered_only_when_addressed_to_this_bot(
    running: Sandbox,
) -> None:
    group = in_group(running)
    assert await group.say("/foo") == []
    assert await group.say("/refersh all") == []
    assert await group.say("/foo@other_bot") == []
    answer = await group.reply(f"/refersh@{BOT} all")
    assert answer.plain == (
        "I don't know /refersh. Did you mean /refresh? Send /help to see every command."
    )
    answer = await group.reply(f"/foo@{BOT.upper()}")
    assert answer.plain == "I don't know /foo. Send /help to see every command."


async def test_known_commands_are_not_taken_for_unknown_ones(chat: Chat) -> None:
    for text in ("/help", "/start", f"/help@{BOT}", "/Help"):
        changed = await chat.say(text)
        assert len(changed) == 1 and "I don't know" not in changed[0].plain, text


async def test_a_long_unknown_command_is_not_echoed_whole(chat: Chat) -> None:
    answer = await chat.reply("/" + "x" * 4000)
    assert answer.plain.startswith("I don't know /xxx") and "…" in answer.plain
    assert len(answer.plain) < 150, answer.plain
