"""Posting scheduled summaries and alerts, in a way that survives chat changes.

The subscription service schedules and runs subscriptions (bot/services/scheduler.py); this is
its `Delivery`: it renders what a run produced and posts it, following a group's move to a
supergroup, a deleted topic, and pausing a chat that shut the bot out.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup
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
from bot.services.records import Subscription
from bot.services.subscriptions import RunOutcome, SubscriptionService
from bot.services.summary import AccountSummary
from bot.telegram.transport.replies import send_html, send_photo
from bot.telegram.views.callback_data import CallbackSigner
from bot.telegram.views.keyboards import ALL, summary_buttons
from bot.telegram.views.render import (
    render_account_summary,
    render_alert_fired,
    render_chat,
    render_refresh_all,
    render_subscription_failed,
    render_subscription_unschedulable,
)
from bot.telegram.views.render_history import CAPTION_LIMIT, render_chart, render_profit
from bot.telegram.views.render_holdings import render_holdings

logger = logging.getLogger(__name__)

# What Telegram answers when a forum topic was deleted or closed to the bot.
_TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_closed")


class Notifier:
    """Posts subscriptions' summaries, errors and alerts."""

    def __init__(
        self,
        *,
        subscriptions: SubscriptionService,
        alerts: AlertService,
        signer: CallbackSigner,
        bot: ExtBot[Any],
    ) -> None:
        self._subscriptions = subscriptions
        self._alerts = alerts
        self._signer = signer
        self._bot = bot

    async def tell_unschedulable(self, subscription: Subscription, account_name: str) -> None:
        await self._tell_owner(
            subscription.owner_user_id,
            render_subscription_unschedulable(subscription, account_name),
        )

    # ------------------------------------------------------------------ posting

    async def deliver(self, outcome: RunOutcome) -> bool:
        """Post what the run produced; True once Telegram accepted it (or there was nothing)."""
        subscription = outcome.subscription
        if outcome.error is not None:
            if not outcome.first_failure:
                return True
            text = render_subscription_failed(
                outcome.account_name, outcome.error, subscription.content
            )
            posted = await self.post(
                subscription.chat_id, text, topic=subscription.message_thread_id
            )
            if posted and subscription.chat_id != subscription.owner_user_id:
                # with the chat's post, so both are told again by the next run if it failed
                await self._tell_owner(subscription.owner_user_id, text)
            return posted
        if outcome.history is not None:
            return await self._deliver_chart(outcome)
        if outcome.holdings is not None or outcome.profit is not None:
            return await self._deliver_table(outcome)
        owner, chat_id = subscription.owner_user_id, subscription.chat_id
        timezone = await self._subscriptions.timezone_name(chat_id)
        if outcome.results is not None:
            text = render_refresh_all(outcome.results, timezone=timezone)
            markup = summary_buttons(self._signer, owner, ALL, chat_id=chat_id)
        else:
            assert outcome.summary is not None
            text = render_account_summary(outcome.summary, timezone=timezone)
            markup = summary_buttons(
                self._signer, owner, outcome.summary.account_id, chat_id=chat_id
            )
        if outcome.recovered:
            text = "✅ Working again.\n\n" + text
        return await self.post(
            subscription.chat_id, text, markup, topic=subscription.message_thread_id
        )

    async def _deliver_table(self, outcome: RunOutcome) -> bool:
        """Holdings or a profit table, as their commands show them, without buttons."""
        name, exchange = outcome.account_name, outcome.exchange
        if outcome.holdings is not None:
            timezone = await self._subscriptions.timezone_name(outcome.subscription.chat_id)
            text = render_holdings(outcome.holdings, name, exchange, timezone=timezone)
        else:
            assert outcome.profit is not None
            text = render_profit(outcome.profit, name, exchange)
        if outcome.recovered:
            text = "✅ Working again.\n\n" + text
        subscription = outcome.subscription
        return await self.post(subscription.chat_id, text, topic=subscription.message_thread_id)

    async def _deliver_chart(self, outcome: RunOutcome) -> bool:
        assert outcome.history is not None
        drawn = await render_chart(outcome.history, outcome.account_name, outcome.exchange)
        caption = drawn.caption
        if outcome.recovered and len(again := "✅ Working again.\n\n" + caption) <= CAPTION_LIMIT:
            caption = again  # else the chart itself shows it works again
        subscription = outcome.subscription
        return await self._posted(
            subscription.chat_id,
            subscription.message_thread_id,
            lambda chat_id, topic: send_photo(
                self._bot, chat_id, drawn.png, caption, topic=topic, broadcast=True
            ),
        )

    async def _send(
        self,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        topic: int | None = None,
    ) -> None:
        """Every post of the notifier: the bot's own broadcast, paced at 30 messages/s."""
        await send_html(self._bot, chat_id, text, reply_markup=markup, topic=topic, broadcast=True)

    async def post(
        self,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        topic: int | None = None,
    ) -> bool:
        """Send to a chat (into a forum topic, or General when the topic is gone); True once
        Telegram accepted it."""
        return await self._posted(
            chat_id,
            topic,
            lambda chat, thread: self._send(chat, text, markup, topic=thread),
        )

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
            await self.migrate(chat_id, moved.new_chat_id)
            return await self._posted(moved.new_chat_id, None, send)
        except Forbidden:
            await self.shut_out(chat_id)
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

    async def _tell_owner(self, owner_id: int, text: str) -> None:
        await tell_owner(self._bot, owner_id, text)

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        await migrate(self._subscriptions, old_chat_id, new_chat_id)

    async def shut_out(self, chat_id: int) -> None:
        await shut_out(self._bot, self._subscriptions, chat_id)

    # ------------------------------------------------------------------ alerts

    async def check_alerts(self, owner_id: int, summary: AccountSummary) -> None:
        """After every refresh (a listener of the account service): post alerts that now hold."""
        for alert in await self._alerts.newly_true(owner_id, summary):
            timezone = await self._subscriptions.timezone_name(alert.chat_id)
            posted = False
            try:
                posted = await self.post(
                    alert.chat_id,
                    render_alert_fired(alert, summary, timezone=timezone),
                    topic=alert.message_thread_id,
                )
            finally:
                # fired only once Telegram has it; else the next refresh that finds it true tries again
                await self._alerts.settle(alert, fired=posted)


# ---------------------------------------------------------------------- chat changes


async def tell_owner(bot: ExtBot[Any], owner_id: int, text: str) -> None:
    """A private word to a subscription's owner; logged when Telegram refuses it."""
    try:
        await send_html(bot, owner_id, text, broadcast=True)
    except TelegramError as error:
        logger.info("could not tell user %s privately: %s", owner_id, error.message)


async def migrate(subscriptions: SubscriptionService, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: its subscriptions and alerts move along."""
    moved = await subscriptions.migrate_chat(old_chat_id, new_chat_id)
    logger.info("chat %s moved to %s with %d subscriptions", old_chat_id, new_chat_id, len(moved))


async def shut_out(
    bot: ExtBot[Any], subscriptions: SubscriptionService, chat_id: int, title: str | None = None
) -> None:
    """The bot was removed from the chat or blocked: pause its subscriptions, tell owners
    (naming the chat by its title when Telegram told it)."""
    paused = await subscriptions.pause_chat(chat_id)
    for owner in sorted({s.owner_user_id for s in paused} - {chat_id}):
        count = sum(1 for s in paused if s.owner_user_id == owner)
        await tell_owner(
            bot,
            owner,
            f"⏸ I can no longer post to {render_chat(chat_id, title)} (I was removed or "
            f"blocked there), so your {count} subscription(s) there are paused. "
            "Add me back to that chat and they resume.",
        )
