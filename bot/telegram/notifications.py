"""Scheduled summaries and alerts: jobs per subscription, posting that survives chat changes.

Each subscription is one named job (`subscription:<id>`), re-armed after every run from the
service's clock, so schedules resume after a restart and daily times follow the chat's zone.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import CallbackContext

from bot.services.records import Subscription
from bot.services.runtime import Services
from bot.services.schedules import Unschedulable
from bot.services.subscriptions import RunOutcome
from bot.services.summary import AccountSummary
from bot.telegram.context import BotApplication, Context
from bot.telegram.keyboards import ALL, summary_buttons
from bot.telegram.render import (
    render_account_summary,
    render_alert_fired,
    render_refresh_all,
    render_subscription_failed,
    render_subscription_unschedulable,
)
from bot.telegram.replies import send_html

logger = logging.getLogger(__name__)

# What Telegram answers when a forum topic was deleted or closed to the bot.
_TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_closed")


def job_name(subscription_id: int) -> str:
    return f"subscription:{subscription_id}"


class Notifier:
    """Runs subscriptions on schedule and posts their summaries, errors and alerts."""

    def __init__(self, application: BotApplication) -> None:
        self._application = application
        self.next_runs: dict[int, datetime] = {}

    @property
    def _services(self) -> Services:
        return self._application.bot_data.services

    def _context(self) -> Context:
        return CallbackContext(self._application)

    async def start(self) -> None:
        """Schedule every active subscription from the database (after a restart too)."""
        for subscription in await self._services.subscriptions.active():
            await self.schedule(subscription)
        self._services.accounts.add_refresh_listener(self._check_alerts)

    async def schedule(self, subscription: Subscription) -> None:
        self.unschedule(subscription.id)
        if subscription.paused:
            return
        subscriptions = self._services.subscriptions
        try:
            when = await subscriptions.next_run(subscription)
        except Unschedulable as error:
            await self._skip_unschedulable(subscription, error)
            return
        delay = max(0.0, (when - subscriptions.clock.now()).total_seconds())
        self.next_runs[subscription.id] = when
        job_queue = self._application.job_queue
        assert job_queue is not None, "the job-queue extra is installed"
        job_queue.run_once(
            self._run, when=delay, data=subscription.id, name=job_name(subscription.id)
        )

    async def _skip_unschedulable(self, subscription: Subscription, error: Unschedulable) -> None:
        """A stored row that cannot run: log it, tell its owner once (remembered across restarts)."""
        logger.warning(
            "skipping subscription %s: %s (interval_seconds=%r, daily_time=%r)",
            subscription.id,
            error,
            subscription.interval_seconds,
            subscription.daily_time,
        )
        subscriptions = self._services.subscriptions
        if await subscriptions.note_unschedulable(subscription):
            owner = subscription.owner_user_id
            name = await subscriptions.account_name(owner, subscription.account_selector)
            await self._tell_owner(owner, render_subscription_unschedulable(subscription, name))

    def unschedule(self, subscription_id: int) -> None:
        self.next_runs.pop(subscription_id, None)
        job_queue = self._application.job_queue
        if job_queue is not None:
            for job in job_queue.get_jobs_by_name(job_name(subscription_id)):
                job.schedule_removal()

    async def _run(self, context: Context) -> None:
        assert context.job is not None and isinstance(context.job.data, int)
        subscription_id = context.job.data
        if not self._application.running:
            # Stopping: a run started now would not be awaited by the shutdown and its
            # summary would be refreshed but never posted. It runs after the restart.
            return
        self.next_runs.pop(subscription_id, None)
        try:
            outcome = await self._services.subscriptions.run(subscription_id)
            if outcome is not None and await self._deliver(outcome):
                await self._services.subscriptions.delivered(outcome)
        finally:
            # Re-armed only once this run is delivered: when posting is slower than the
            # interval (flood limits), missed slots are skipped instead of piling up runs
            # whose summaries are refreshed and never posted. Re-read, because the run may
            # have paused, moved or ended the subscription.
            await self._rearm(subscription_id)

    async def _rearm(self, subscription_id: int) -> None:
        try:
            current = await self._services.subscriptions.get(subscription_id)
            if current is not None and not current.paused:
                await self.schedule(current)
        except Exception:
            logger.exception("could not re-arm subscription %s", subscription_id)

    async def _deliver(self, outcome: RunOutcome) -> bool:
        """Post what the run produced; True once Telegram accepted it (or there was nothing)."""
        subscription = outcome.subscription
        if outcome.error is not None:
            if not outcome.first_failure:
                return True
            text = render_subscription_failed(outcome.account_name, outcome.error)
            posted = await self.post(
                subscription.chat_id, text, topic=subscription.message_thread_id
            )
            if posted and subscription.chat_id != subscription.owner_user_id:
                # with the chat's post, so both are told again by the next run if it failed
                await self._tell_owner(subscription.owner_user_id, text)
            return posted
        signer = self._application.bot_data.signer
        owner, chat_id = subscription.owner_user_id, subscription.chat_id
        timezone = await self._services.subscriptions.timezone_name(chat_id)
        if outcome.results is not None:
            text = render_refresh_all(outcome.results, timezone=timezone)
            markup = summary_buttons(signer, owner, ALL, chat_id=chat_id)
        else:
            assert outcome.summary is not None
            text = render_account_summary(outcome.summary, timezone=timezone)
            markup = summary_buttons(signer, owner, outcome.summary.account_id, chat_id=chat_id)
        if outcome.recovered:
            text = "✅ Working again.\n\n" + text
        return await self.post(
            subscription.chat_id, text, markup, topic=subscription.message_thread_id
        )

    async def post(
        self,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        topic: int | None = None,
    ) -> bool:
        """Send to a chat (into a forum topic, or General when the topic is gone); True once
        Telegram accepted it.

        Follows a group's move to a supergroup and pauses a chat that shut us out. When Telegram
        keeps failing past the retries, it is logged and False: the caller does not mark the
        post delivered, so it is made again later.
        """
        try:
            await send_html(
                self._context(), chat_id, text, reply_markup=markup, topic=topic, broadcast=True
            )
        except ChatMigrated as moved:
            await self.migrate(chat_id, moved.new_chat_id)
            return await self.post(moved.new_chat_id, text, markup)
        except Forbidden:
            await self.shut_out(chat_id)
            return False
        except BadRequest as error:
            if topic is None or not any(gone in error.message.lower() for gone in _TOPIC_GONE):
                raise
            logger.info("topic %s of chat %s is gone; posting to General", topic, chat_id)
            return await self.post(chat_id, text, markup)
        except (NetworkError, RetryAfter) as error:
            logger.warning("could not post to chat %s: %s", chat_id, error.message)
            return False
        return True

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its subscriptions and alerts move along."""
        moved = await self._services.subscriptions.migrate_chat(old_chat_id, new_chat_id)
        for subscription in moved:
            await self.schedule(subscription)
        logger.info(
            "chat %s moved to %s with %d subscriptions", old_chat_id, new_chat_id, len(moved)
        )

    async def shut_out(self, chat_id: int) -> None:
        """The bot was removed from the chat or blocked: pause its subscriptions, tell owners."""
        paused = await self._services.subscriptions.pause_chat(chat_id)
        for subscription in paused:
            self.unschedule(subscription.id)
        for owner in sorted({s.owner_user_id for s in paused} - {chat_id}):
            count = sum(1 for s in paused if s.owner_user_id == owner)
            await self._tell_owner(
                owner,
                f"⏸ I can no longer post to chat <code>{chat_id}</code> (I was removed or "
                f"blocked there), so your {count} subscription(s) there are paused. "
                "Add me back to that chat and they resume.",
            )

    async def resume(self, chat_id: int) -> int:
        resumed = await self._services.subscriptions.resume_chat(chat_id)
        for subscription in resumed:
            await self.schedule(subscription)
        return len(resumed)

    async def end_for_owner(self, owner_id: int) -> None:
        for subscription in await self._services.subscriptions.end_for_owner(owner_id):
            self.unschedule(subscription.id)

    async def _tell_owner(self, owner_id: int, text: str) -> None:
        try:
            await send_html(self._context(), owner_id, text, topic=None, broadcast=True)
        except TelegramError as error:
            logger.info("could not tell user %s privately: %s", owner_id, error.message)

    async def _check_alerts(self, owner_id: int, summary: AccountSummary) -> None:
        alerts = self._services.alerts
        for alert in await alerts.newly_true(owner_id, summary):
            timezone = await self._services.subscriptions.timezone_name(alert.chat_id)
            posted = False
            try:
                posted = await self.post(
                    alert.chat_id,
                    render_alert_fired(alert, summary, timezone=timezone),
                    topic=alert.message_thread_id,
                )
            finally:
                # fired only once Telegram has it; else the next refresh that finds it true tries again
                await alerts.settle(alert, fired=posted)
