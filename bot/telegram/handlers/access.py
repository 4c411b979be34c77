"""Who may use the bot (ALLOWED_USER_IDS), and the handler of last resort for errors."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.services.languages import DEFAULT_LANGUAGE, supported
from bot.telegram.context import Context
from bot.telegram.transport.replies import send_html
from bot.telegram.views.texts import BOT_IS_PRIVATE, SOMETHING_WENT_WRONG
from bot.telegram.views.translator import translator

logger = logging.getLogger(__name__)


async def only_allowed_users(update: Update, context: Context) -> None:
    allowed = context.bot_data.services.settings.allowed_user_ids
    user = update.effective_user
    if not allowed or (user is not None and user.id in allowed):
        return
    # in the sender's Telegram language; nothing is read or stored for someone turned away
    code = supported(user.language_code) if user is not None else None
    said = translator(code or DEFAULT_LANGUAGE)(BOT_IS_PRIVATE)
    if update.callback_query is not None:
        await update.callback_query.answer(said, show_alert=True)
    elif update.effective_chat is not None and update.effective_chat.type == "private":
        await send_html(context.bot, update.effective_chat.id, said)
    raise ApplicationHandlerStop


async def on_error(update: object, context: Context) -> None:
    """Log the unexpected, tell the user something went wrong, keep serving everyone else."""
    error = context.error
    if isinstance(error, Forbidden):
        logger.info("a chat blocked the bot or removed it: %s", error.message)
        return
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("update %s failed", update_id, exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        chat_id = update.effective_chat.id
        try:
            # PTB gives the error handler a context of its own: the settings are read again
            # (from memory), in case the failure came before they were resolved.
            settings = await context.bot_data.services.chat_settings.settings(chat_id)
            await send_html(
                context.bot, chat_id, translator(settings.language)(SOMETHING_WENT_WRONG)
            )
        except TelegramError:
            logger.warning("could not tell chat %s about the error", update.effective_chat.id)
