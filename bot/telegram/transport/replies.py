"""Sending and editing HTML safely: split at Telegram's limit, plain text if HTML is refused,
sent again with backoff when Telegram fails for a moment; in a forum, what answers an update
stays in the update's topic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from enum import Enum
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import ExtBot

from bot.telegram.transport.flood import BROADCAST
from bot.telegram.views.html import html_to_plain, split_message
from bot.telegram.views.reply import PhotoReply, Reply

logger = logging.getLogger(__name__)

# (chat id, topic) of the update being handled; set in the update's own task, so it is seen
# by its handlers and by nothing else.
_update_topic: ContextVar[tuple[int, int] | None] = ContextVar("update_topic", default=None)


class Topic(Enum):
    """Where `send_html` posts in a forum unless told a topic (an int) or General (None)."""

    OF_UPDATE = "the topic of the update being handled, in its chat"


def set_update_topic(chat_id: int, topic: int) -> None:
    """What is sent to `chat_id` while this update is handled goes to `topic` (a ContextVar: the
    update's own task and the tasks it starts see it, nothing else)."""
    _update_topic.set((chat_id, topic))


def _thread_id(chat_id: int, topic: int | Topic | None) -> int | None:
    if topic is not Topic.OF_UPDATE:
        return topic
    current = _update_topic.get()
    return current[1] if current is not None and current[0] == chat_id else None


# Waits before each new attempt after a 5xx, a dropped connection or a timeout: 7.5 s in all.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)

T = TypeVar("T")


def _transient(error: Exception) -> bool:
    """Telegram failed for a moment (5xx, network, timeout): worth sending again; 400/403 not."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """`call()`, made again with backoff while Telegram fails for a moment, within a bound.

    A timed-out send may have been accepted: sending it again can show it twice, which we
    prefer to losing it.
    """
    for delay in RETRY_DELAYS:
        try:
            return await call()
        except NetworkError as error:
            if not _transient(error):
                raise
            logger.warning(
                "Telegram failed (%s); trying again in %.1f s", type(error).__name__, delay
            )
        await asyncio.sleep(delay)
    return await call()


def _is_parse_error(error: BadRequest) -> bool:
    return "can't parse entities" in error.message.lower()


def _not_modified(error: BadRequest) -> bool:
    return "message is not modified" in error.message.lower()


async def _send_chunk(
    bot: ExtBot[Any],
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    reply_to: int | None,
    thread_id: int | None,
    broadcast: bool,
    quiet: bool = False,
) -> Message:
    reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    traffic = BROADCAST if broadcast else None
    try:
        return await with_retries(
            lambda: bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                reply_parameters=reply,
                rate_limit_args=traffic,
                message_thread_id=thread_id,
                disable_notification=quiet or None,
            )
        )
    except BadRequest as error:
        if not _is_parse_error(error):
            raise
        logger.warning("Telegram refused our HTML; sending plain text instead")
        return await with_retries(
            lambda: bot.send_message(
                chat_id,
                html_to_plain(text),
                reply_markup=markup,
                reply_parameters=reply,
                rate_limit_args=traffic,
                message_thread_id=thread_id,
                disable_notification=quiet or None,
            )
        )


async def send_html(
    bot: ExtBot[Any],
    chat_id: int,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
    topic: int | Topic | None = Topic.OF_UPDATE,
    broadcast: bool = False,
    quiet: bool = False,
) -> Message:
    """Send `text`, split on line boundaries; the keyboard goes on the last part.

    `broadcast`: the bot's own post, not an answer: paced at Telegram's 30 messages/s.
    """
    thread_id = _thread_id(chat_id, topic)
    chunks = split_message(text)
    message: Message | None = None
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        message = await _send_chunk(
            bot,
            chat_id,
            chunk,
            reply_markup if last else None,
            reply_to if index == 0 else None,
            thread_id,
            broadcast,
            quiet,
        )
    assert message is not None
    return message


async def _edit_chunk(
    bot: ExtBot[Any], chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    try:
        await with_retries(
            lambda: bot.edit_message_text(
                text, chat_id, message_id, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        )
    except BadRequest as error:
        if _not_modified(error):
            return
        if not _is_parse_error(error):
            raise
        logger.warning("Telegram refused our HTML; editing to plain text instead")
        await with_retries(
            lambda: bot.edit_message_text(
                html_to_plain(text), chat_id, message_id, reply_markup=markup
            )
        )


async def edit_html(
    bot: ExtBot[Any],
    chat_id: int,
    message_id: int,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Edit a message into `text`; parts beyond the first go out as new messages."""
    first, *rest = split_message(text)
    await _edit_chunk(bot, chat_id, message_id, first, None if rest else reply_markup)
    for index, chunk in enumerate(rest):
        last = index == len(rest) - 1
        await _send_chunk(
            bot,
            chat_id,
            chunk,
            reply_markup if last else None,
            None,
            _thread_id(chat_id, Topic.OF_UPDATE),
            False,
        )


async def send_photo(
    bot: ExtBot[Any],
    chat_id: int,
    png: bytes,
    caption: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
    topic: int | Topic | None = Topic.OF_UPDATE,
    broadcast: bool = False,
) -> Message:
    """Send a PNG with an HTML caption (at most 1024 characters: the renderer keeps it so)."""
    reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    thread_id = _thread_id(chat_id, topic)
    return await with_retries(
        lambda: bot.send_photo(
            chat_id,
            png,
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_markup=reply_markup,
            reply_parameters=reply,
            message_thread_id=thread_id,
            rate_limit_args=BROADCAST if broadcast else None,
        )
    )


async def delete_message(bot: ExtBot[Any], chat_id: int, message_id: int) -> None:
    """Delete one of the bot's own messages; one that cannot be deleted stays, and is logged."""
    try:
        await with_retries(lambda: bot.delete_message(chat_id, message_id))
    except TelegramError as error:
        logger.info("could not delete message %s in chat %s: %s", message_id, chat_id, error)


async def send_reply(
    bot: ExtBot[Any],
    chat_id: int,
    reply: Reply,
    *,
    reply_to: int | None = None,
    topic: int | Topic | None = Topic.OF_UPDATE,
    broadcast: bool = False,
) -> Message:
    """A command's reply as it is: its chart with the caption, or its text."""
    if isinstance(reply, PhotoReply):
        return await send_photo(
            bot,
            chat_id,
            reply.png,
            reply.caption,
            reply_markup=reply.markup,
            reply_to=reply_to,
            topic=topic,
            broadcast=broadcast,
        )
    return await send_html(
        bot,
        chat_id,
        reply.text,
        reply_markup=reply.markup,
        reply_to=reply_to,
        topic=topic,
        broadcast=broadcast,
        quiet=reply.quiet,
    )
