"""Incoming updates: a budget per user and per chat, so one sender cannot stall everyone.

Each user, and each chat, may have `IN_PROGRESS_PER_USER` / `IN_PROGRESS_PER_CHAT` updates
being handled at once. An answer waits for its chat's flood limit (five at once, then about
one a second in a private chat; 20 a minute in a group), so a sender past that budget has
more asked than Telegram lets the bot answer: the excess is dropped unread, and the chat is
told once (`texts.too_many_at_once`, at most once in `TOLD_EVERY_SECONDS`).

The updates let in share `slots` (update_slots.py), which a reply gives back while it waits
for its chat. python-telegram-bot's own semaphore (around `do_process_update`) cannot be
given back early, so it is opened wide and these slots take its place.
"""

from __future__ import annotations

import inspect
import logging
import sys
import time
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor, ExtBot

from bot.services.languages import DEFAULT_LANGUAGE, supported
from bot.telegram.transport.replies import send_html
from bot.telegram.transport.update_slots import UpdateSlots
from bot.telegram.views.texts import too_many_at_once
from bot.telegram.views.translator import Translator, translator

logger = logging.getLogger(__name__)

IN_PROGRESS_PER_CHAT = 10
# More: one person may ask in several groups at once (/subscribe in 20 groups), each with room.
IN_PROGRESS_PER_USER = 30
TOLD_EVERY_SECONDS = 60.0
_REMEMBERED_TOLD = 10_000  # chats told lately, before the old ones are forgotten

_Key = tuple[str, int]


def _keys(update: object) -> tuple[_Key, ...]:
    """What an update counts against: its sender and its chat."""
    if not isinstance(update, Update):
        return ()
    keys: list[_Key] = []
    if update.effective_user is not None:
        keys.append(("user", update.effective_user.id))
    if update.effective_chat is not None:
        keys.append(("chat", update.effective_chat.id))
    return tuple(keys)


def _expects_an_answer(update: Update) -> bool:
    """A button, a command, or anything in a private chat; not chatter in a group."""
    if update.callback_query is not None:
        return True
    chat, message = update.effective_chat, update.effective_message
    if chat is not None and chat.type == chat.PRIVATE:
        return True
    text = (message.text or message.caption) if message is not None else None
    return bool(text and text.startswith("/"))


class _Budget:
    """Updates in progress per user and per chat."""

    def __init__(self, per_user: int, per_chat: int) -> None:
        self._limits = {"user": per_user, "chat": per_chat}
        self._in_progress: dict[_Key, int] = {}

    def take(self, keys: tuple[_Key, ...]) -> bool:
        if any(self._in_progress.get(key, 0) >= self._limits[key[0]] for key in keys):
            return False
        for key in keys:
            self._in_progress[key] = self._in_progress.get(key, 0) + 1
        return True

    def give_back(self, keys: tuple[_Key, ...]) -> None:
        for key in keys:
            left = self._in_progress[key] - 1
            if left:
                self._in_progress[key] = left
            else:
                del self._in_progress[key]


class IncomingUpdates(BaseUpdateProcessor):
    """The bot's update processor: budgets per user and chat, slots free while waiting."""

    def __init__(
        self,
        slots: int,
        *,
        per_user: int = IN_PROGRESS_PER_USER,
        per_chat: int = IN_PROGRESS_PER_CHAT,
    ) -> None:
        super().__init__(sys.maxsize)  # wide open: `self.slots` limit instead
        self.slots = UpdateSlots(slots)
        self._budget = _Budget(per_user, per_chat)
        self._answered = per_chat
        self._told: dict[int, float] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys = _keys(update)
        if not self._budget.take(keys):
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # dropped unread
            if isinstance(update, Update):
                await self._tell_once(update)
            return
        try:
            async with self.slots.held():
                await coroutine
        finally:
            self._budget.give_back(keys)

    async def _tell_once(self, update: Update) -> None:
        """Tell the chat its updates are being dropped, once in TOLD_EVERY_SECONDS."""
        chat = update.effective_chat
        if chat is None or not _expects_an_answer(update):
            return
        try:
            bot = update.get_bot()
        except RuntimeError:  # an update built without a bot: nobody to tell it with
            return
        if not isinstance(bot, ExtBot):
            return
        now = time.monotonic()
        if now - self._told.get(chat.id, -TOLD_EVERY_SECONDS) < TOLD_EVERY_SECONDS:
            return
        self._remember_told(chat.id, now)
        logger.warning(
            "chat %s sends faster than it can be answered: updates past %d in progress dropped",
            chat.id,
            self._answered,
        )
        message = update.effective_message
        topic = message.message_thread_id if message and message.is_topic_message else None
        try:
            await send_html(
                bot, chat.id, too_many_at_once(_language(update), self._answered), topic=topic
            )
        except TelegramError as error:
            logger.info("could not tell chat %s it sends too fast: %s", chat.id, error)

    def _remember_told(self, chat_id: int, now: float) -> None:
        if len(self._told) >= _REMEMBERED_TOLD:
            self._told = {
                chat: at for chat, at in self._told.items() if now - at < TOLD_EVERY_SECONDS
            }
        self._told[chat_id] = now


def _language(update: Update) -> Translator:
    """The language of a dropped update's chat, from the update alone (nothing is read before a
    dropped update: that is the point of dropping it): a private chat's user's Telegram
    language, English in groups."""
    chat, user = update.effective_chat, update.effective_user
    private = chat is not None and chat.type == ChatType.PRIVATE
    code = supported(user.language_code) if private and user is not None else None
    return translator(code or DEFAULT_LANGUAGE)
