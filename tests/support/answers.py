"""Waiting for the bot's answer to one message, by message id (no quiet-period waits)."""

from __future__ import annotations

from standins.botapi import BotApiStandIn, SentMessage


async def answer_to(
    botapi: BotApiStandIn, chat_id: int, message_id: int, contains: str
) -> SentMessage:
    """The bot's first message in the chat after the user's `message_id`; it must say `contains`."""
    answer = await botapi.next_message(chat_id, after=message_id, timeout=10)
    assert contains in answer.plain, answer.plain
    return answer
