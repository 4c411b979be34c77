"""Posting by the bot itself (scheduled posts, alerts, words to owners), in a way that survives
chat changes: the Telegram side of services/publisher.py.

It follows a group's move to a supergroup, posts to General when a forum topic is gone, and
pauses a chat's subscriptions when the bot was removed or blocked there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

from bot.services.alerts import AlertService
from bot.services.chat_settings import ChatSettingsService
from bot.services.deal_feed import ENDED_DISCONNECTED, ClosedDeal
from bot.services.publisher import Publisher
from bot.services.records import ALL_ACCOUNTS, DealFeed, Subscription
from bot.services.subscriptions import SubscriptionService
from bot.services.summary import AccountSummary
from bot.telegram.transport.replies import send_html, send_reply
from bot.telegram.views import texts
from bot.telegram.views.render import render_alert_fired, render_chat, target_name
from bot.telegram.views.render_deal_feed import (
    render_closed_deal,
    render_deal_digest,
    render_feed_ended,
    render_feed_paused,
)
from bot.telegram.views.reply import Reply, TextReply
from bot.telegram.views.translator import translator

logger = logging.getLogger(__name__)

# What Telegram answers when a forum topic was deleted or closed to the bot.
_TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_closed")


class TelegramPublisher:
    """Posts replies the bot makes by itself, paced as a broadcast (30 messages/s)."""

    def __init__(
        self,
        *,
        subscriptions: SubscriptionService,
        chat_settings: ChatSettingsService,
        bot: ExtBot[Any],
    ) -> None:
        self._subscriptions = subscriptions
        self._chat_settings = chat_settings
        self._bot = bot

    async def publish(self, chat_id: int, post: Reply, *, topic: int | None = None) -> bool:
        """Send to a chat (into a forum topic, or General when the topic is gone); True once
        Telegram accepted it."""
        return await self._posted(
            chat_id, topic, lambda chat, thread: self._send(chat, post, thread)
        )

    async def tell_user(self, user_id: int, text: str) -> None:
        await tell_user(self._bot, user_id, text)

    async def _send(self, chat_id: int, post: Reply, topic: int | None) -> None:
        await send_reply(self._bot, chat_id, post, topic=topic, broadcast=True)

    async def _posted(
        self,
        chat_id: int,
        topic: int | None,
        send: Callable[[int, int | None], Awaitable[object]],
    ) -> bool:
        """`send(chat_id, topic)` of a post; True once Telegram accepted it.

        Follows a group's move to a supergroup (into General there), posts to General when the
        topic is gone, and pauses a chat that shut us out. When Telegram keeps failing past the
        retries, it is logged and False: the caller does not mark the post delivered, so it is
        made again later.
        """
        try:
            await send(chat_id, topic)
        except ChatMigrated as moved:
            await migrate(self._subscriptions, chat_id, moved.new_chat_id)
            return await self._posted(moved.new_chat_id, None, send)
        except Forbidden:
            await shut_out(self._bot, self._subscriptions, self._chat_settings, chat_id)
            return False
        except BadRequest as error:
            if topic is None or not any(gone in error.message.lower() for gone in _TOPIC_GONE):
                raise
            logger.info("topic %s of chat %s is gone; posting to General", topic, chat_id)
            return await self._posted(chat_id, None, send)
        except (NetworkError, RetryAfter) as error:
            logger.warning("could not post to chat %s: %s", chat_id, error.message)
            return False
        return True


class AlertPosts:
    """After every refresh (a listener of the account service): post alerts that now hold."""

    def __init__(
        self,
        *,
        publisher: Publisher[Reply],
        alerts: AlertService,
        chat_settings: ChatSettingsService,
    ) -> None:
        self._publisher = publisher
        self._alerts = alerts
        self._chat_settings = chat_settings

    async def check_alerts(self, user_id: int, summary: AccountSummary) -> None:
        for alert in await self._alerts.newly_true(user_id, summary):
            # the chat's settings as they are now: its language when the alert is posted
            settings = await self._chat_settings.settings(alert.chat_id)
            t = translator(settings.language)
            posted = False
            try:
                posted = await self._publisher.publish(
                    alert.chat_id,
                    TextReply(render_alert_fired(t, alert, summary, zone=settings.zone)),
                    topic=alert.message_thread_id,
                )
            finally:
                # fired only once Telegram has it; else the next refresh that finds it true tries again
                await self._alerts.settle(alert, fired=posted)


class DealFeedPosts:
    """The deal poller's `DealPosts`: a closed deal, or a digest of several, into the feed's
    chat or topic (through the publisher: moved chats, gone topics and kicked bots as for
    every post), without sound for a quiet feed."""

    def __init__(self, *, publisher: Publisher[Reply], chat_settings: ChatSettingsService) -> None:
        self._publisher = publisher
        self._chat_settings = chat_settings

    async def post_deals(
        self, feed: DealFeed, deals: Sequence[ClosedDeal], name: str | None
    ) -> bool:
        subscription = feed.subscription
        show_account = subscription.target == ALL_ACCOUNTS
        # the chat's settings as they are now: its language when the post is sent
        settings = await self._chat_settings.settings(subscription.chat_id)
        t = translator(settings.language)
        if len(deals) == 1:
            text = render_closed_deal(t, deals[0], zone=settings.zone, show_account=show_account)
        else:
            shown = target_name(t, subscription.target, name)
            text = render_deal_digest(t, deals, shown, show_account=show_account)
        return await self._publisher.publish(
            subscription.chat_id,
            TextReply(text, quiet=feed.options.quiet),
            topic=subscription.message_thread_id,
        )

    async def tell_paused(self, subscription: Subscription, name: str | None, reason: str) -> None:
        """In the chat's language, and privately to the owner in the owner's."""
        every = subscription.target == ALL_ACCOUNTS

        async def text(chat_id: int) -> str:
            t = translator((await self._chat_settings.settings(chat_id)).language)
            shown = target_name(t, subscription.target, name)
            if reason == ENDED_DISCONNECTED:
                return render_feed_ended(t, shown)
            return render_feed_paused(
                t, shown, "all" if every else str(subscription.target), reason
            )

        posted = await self._publisher.publish(
            subscription.chat_id,
            TextReply(await text(subscription.chat_id)),
            topic=subscription.message_thread_id,
        )
        if posted and subscription.chat_id != subscription.user_id:
            await self._publisher.tell_user(subscription.user_id, await text(subscription.user_id))


# ---------------------------------------------------------------------- chat changes


async def tell_user(bot: ExtBot[Any], user_id: int, text: str) -> None:
    """A private word to a subscription's owner; logged when Telegram refuses it."""
    try:
        await send_html(bot, user_id, text, broadcast=True)
    except TelegramError as error:
        logger.info("could not tell user %s privately: %s", user_id, error.message)


async def migrate(subscriptions: SubscriptionService, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: its subscriptions and alerts move along."""
    moved = await subscriptions.migrate_chat(old_chat_id, new_chat_id)
    logger.info("chat %s moved to %s with %d subscriptions", old_chat_id, new_chat_id, len(moved))


async def shut_out(
    bot: ExtBot[Any],
    subscriptions: SubscriptionService,
    chat_settings: ChatSettingsService,
    chat_id: int,
    title: str | None = None,
) -> None:
    """The bot was removed from the chat or blocked: pause its subscriptions, tell owners, each
    in their own language (naming the chat by its title when Telegram told it)."""
    paused = await subscriptions.pause_chat(chat_id)
    for user_id in sorted({s.user_id for s in paused} - {chat_id}):
        count = sum(1 for s in paused if s.user_id == user_id)
        t = translator((await chat_settings.settings(user_id)).language)
        said = t.plural(texts.SHUT_OUT, count, chat=render_chat(t, chat_id, title))
        await tell_user(bot, user_id, said)
