"""Small pieces every handler uses: who is asking, where, and how to answer an error."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from telegram import InlineKeyboardButton, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.telegram.context import Context, OpenProgress
from bot.telegram.transport.replies import edit_html, send_html
from bot.telegram.views.html import escape
from bot.telegram.views.keyboards import dashboard_button
from bot.telegram.views.texts import INTERRUPTED_BY_RESTART, SOMETHING_WENT_WRONG, error_sentence

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asker:
    """The sender of a command and the chat it came from."""

    user_id: int
    chat_id: int
    is_private: bool
    message: Message


def asker(update: Update) -> Asker | None:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return None
    return Asker(user.id, chat.id, chat.type == ChatType.PRIVATE, message)


def dashboard(context: Context, *, private: bool) -> InlineKeyboardButton | None:
    """The "📊 Dashboard" button, when the Mini App has an https address (MINIAPP_URL)."""
    url = context.bot_data.services.settings.miniapp_button_url
    if url is None:
        return None
    return dashboard_button(url, private=private, bot_username=context.bot.username)


def typed_text(message: Message) -> str:
    """The message's text, or the caption of a photo or document (keys get pasted there too)."""
    return message.text or message.caption or ""


def argument_text(message: Message) -> str:
    """What follows the command, with its line breaks kept (a pasted PEM needs them)."""
    text = typed_text(message)
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) == 2 and parts[0].startswith("/") else ""


async def reply_error(context: Context, who: Asker, error: Exception) -> None:
    await send_html(
        context.bot,
        who.chat_id,
        f"❌ {escape(error_sentence(error))}",
        reply_to=who.message.message_id,
    )


@contextlib.asynccontextmanager
async def progress_settles(context: Context, chat_id: int, message_id: int) -> AsyncIterator[None]:
    """The progress message ends as the result, or as a sentence instead of hanging: when the
    work inside fails unexpectedly, when Telegram keeps refusing the edit, or when a restart
    cancels the work (the task is listed in `open_progress` for that)."""
    task = asyncio.current_task()
    assert task is not None
    entry = OpenProgress(chat_id, message_id, task)
    context.bot_data.open_progress.add(entry)
    try:
        yield
    except asyncio.CancelledError:
        await _settle_with(context, chat_id, message_id, INTERRUPTED_BY_RESTART)
        raise
    except Exception:
        logger.exception("unexpected failure behind progress message in chat %s", chat_id)
        await _settle_with(context, chat_id, message_id, SOMETHING_WENT_WRONG)
    finally:
        context.bot_data.open_progress.discard(entry)


async def _settle_with(context: Context, chat_id: int, message_id: int, sentence: str) -> None:
    """The last attempt to settle a progress message; if even that fails, the log says so."""
    try:
        await edit_html(context.bot, chat_id, message_id, f"❌ {escape(sentence)}")
    except Exception as error:
        logger.error(
            "progress message %s in chat %s could not be settled: %s",
            message_id,
            chat_id,
            type(error).__name__,
        )


async def delete_quietly(message: Message) -> bool:
    """Delete a message that carried key material; False when Telegram would not."""
    try:
        return await message.delete()
    except TelegramError as error:
        logger.info("could not delete a message in chat %s: %s", message.chat_id, error.message)
        return False
