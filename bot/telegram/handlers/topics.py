"""Forum topics: the handlers' answers go to the topic the update came from."""

from __future__ import annotations

from telegram import Update

from bot.telegram.context import Context
from bot.telegram.transport.replies import set_update_topic


async def remember_topic(update: Update, context: Context) -> None:
    """Runs before every handler: what the handlers send to this chat goes to this topic."""
    message = update.effective_message
    if message is not None and message.is_topic_message and message.message_thread_id:
        set_update_topic(message.chat_id, message.message_thread_id)
