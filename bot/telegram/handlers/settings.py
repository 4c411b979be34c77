"""The chat's settings, resolved once per update before any handler runs (as aiogram's i18n
middleware does): every handler, view and error sentence of the update reads them from the
context, never from the store again."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.telegram.context import Context


async def resolve_chat_settings(update: Update, context: Context) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    language_code = (
        user.language_code if user is not None and chat.type == ChatType.PRIVATE else None
    )
    context.chat_settings = await context.bot_data.services.chat_settings.settings(
        chat.id, language_code=language_code
    )
