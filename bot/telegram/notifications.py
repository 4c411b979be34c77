"""Scheduled summaries and alerts: one scheduler for every subscription, posting that survives
chat changes.

Every active subscription has one due time in `next_runs` and an entry (due time, id) in a heap;
one task sleeps until the earliest is due and starts its run, at most RUNS_AT_ONCE at a time. A
run is re-armed from the service's clock once it is delivered, so schedules resume after a
restart and daily times follow the chat's zone. Start-up plans every subscription from one query.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
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
from bot.services.chat_settings import ChatSettingsService
from bot.services.clock import Clock
from bot.services.records import Subscription
from bot.services.schedules import Unschedulable
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
# Scheduled runs in flight at once: enough to keep 30 posts/s going while 3Commas takes a
# second or two, few enough that answers to people never queue behind many runs' database work.
RUNS_AT_ONCE = 64
# The scheduler looks at the clock at least this often (seconds), so a wall clock that jumps
# is followed within that time.
LONGEST_SLEEP = 60.0


class Notifier:
    """Runs subscriptions on schedule and posts their summaries, errors and alerts."""

    def __init__(
        self,
        *,
        subscriptions: SubscriptionService,
        alerts: AlertService,
        chat_settings: ChatSettingsService,
        signer: CallbackSigner,
        bot: ExtBot[Any],
        clock: Clock,
    ) -> None:
        self._subscriptions = subscriptions
        self._alerts = alerts
        self._chat_settings = chat_settings
        self._signer = signer
        self._bot = bot
        self._clock = clock
        # The one truth about what is scheduled; heap entries that disagree with it are stale.
        self.next_runs: dict[int, datetime] = {}
        self._due: list[tuple[float, int]] = []  # a heap of (due timestamp, subscription id)
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(RUNS_AT_ONCE)
        self._running: set[int] = set()  # subscriptions whose run is refreshing or posting
        self._runs: set[asyncio.Task[None]] = set()
        self._scheduler: asyncio.Task[None] | None = None
        self._stopping = False

    # ------------------------------------------------------------------ the scheduler

    async def start(self) -> None:
        """Schedule every active subscription from the database (after a restart too)."""
        planned = await self._subscriptions.plan_active()
        for subscription_id, when in planned.next_runs.items():
            # one scheduled meanwhile (a /subscribe during start-up) keeps its own time
            self.next_runs.setdefault(subscription_id, when)
        self._due = [(when.timestamp(), id_) for id_, when in self.next_runs.items()]
        heapq.heapify(self._due)
        self._scheduler = asyncio.create_task(self._start_runs_when_due(), name="scheduler")
        logger.info("%d subscriptions scheduled", len(self.next_runs))
        for subscription, error in planned.unschedulable:
            await self._skip_unschedulable(subscription, error)

    async def stop(self) -> None:
        """Start no more runs; wait for those in flight (cancelled if this is cancelled)."""
        self._stopping = True
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
        if self._runs:
            await asyncio.gather(*self._runs, return_exceptions=True)

    async def schedule(self, subscription: Subscription) -> None:
        """(Re)schedule it from its stored row; a paused one is unscheduled."""
        if subscription.paused:
            self.unschedule(subscription.id)
            return
        try:
            when = await self._subscriptions.next_run(subscription)
        except Unschedulable as error:
            self.unschedule(subscription.id)
            await self._skip_unschedulable(subscription, error)
            return
        if self.next_runs.get(subscription.id) == when:
            return  # already due then
        self.next_runs[subscription.id] = when
        heapq.heappush(self._due, (when.timestamp(), subscription.id))
        if self._due[0][1] == subscription.id:
            self._wake.set()  # earlier than what the scheduler sleeps for
        self._compact()

    def unschedule(self, subscription_id: int) -> None:
        """It no longer runs (its heap entry is dropped when it comes up)."""
        self.next_runs.pop(subscription_id, None)
        self._compact()

    def _compact(self) -> None:
        """Rebuild the heap when stale entries outnumber the live ones."""
        if len(self._due) > 2 * len(self.next_runs) + 1024:
            self._due = [(when.timestamp(), id_) for id_, when in self.next_runs.items()]
            heapq.heapify(self._due)

    async def _start_runs_when_due(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                subscription_id = await self._next_due()
            except BaseException:
                self._slots.release()
                raise
            self._start_run(subscription_id)

    async def _next_due(self) -> int:
        """Wait until the earliest scheduled run is due; it leaves the schedule."""
        while True:
            self._wake.clear()
            timeout: float | None = None
            head = self._live_head()
            if head is not None:
                due_at, subscription_id = head
                timeout = due_at - self._clock.now().timestamp()
                if timeout <= 0:
                    heapq.heappop(self._due)
                    del self.next_runs[subscription_id]
                    if subscription_id not in self._running:
                        return subscription_id
                    # Due again while its last run is still going (rescheduled meanwhile): that
                    # run re-arms it when done, so the two never overlap.
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), None if timeout is None else min(timeout, LONGEST_SLEEP)
                )

    def _live_head(self) -> tuple[float, int] | None:
        """The earliest entry that is still scheduled; stale ones are dropped on the way."""
        while self._due:
            due_at, subscription_id = self._due[0]
            when = self.next_runs.get(subscription_id)
            if when is not None and when.timestamp() == due_at:
                return due_at, subscription_id
            heapq.heappop(self._due)
        return None

    def _start_run(self, subscription_id: int) -> None:
        self._running.add(subscription_id)
        task = asyncio.create_task(self._run(subscription_id))
        self._runs.add(task)

        def finished(_: asyncio.Task[None]) -> None:
            self._runs.discard(task)
            self._slots.release()

        task.add_done_callback(finished)

    async def _run(self, subscription_id: int) -> None:
        try:
            if self._stopping:
                return  # it runs after the restart
            outcome = await self._subscriptions.run(subscription_id)
            if outcome is not None and await self._deliver(outcome):
                await self._subscriptions.delivered(outcome)
        except Exception:
            logger.exception("the scheduled run of subscription %s failed", subscription_id)
        finally:
            self._running.discard(subscription_id)
        # Re-armed only once this run is delivered: when posting is slower than the interval
        # (flood limits), missed slots are skipped instead of piling up runs whose summaries
        # are refreshed and never posted. Re-read, because the run may have paused, moved or
        # ended the subscription.
        await self._rearm(subscription_id)

    async def _rearm(self, subscription_id: int) -> None:
        try:
            current = await self._subscriptions.get(subscription_id)
            if current is not None and not current.paused:
                await self.schedule(current)
        except Exception:
            logger.exception("could not re-arm subscription %s", subscription_id)

    async def _skip_unschedulable(self, subscription: Subscription, error: Unschedulable) -> None:
        """A stored row that cannot run: log it, tell its owner once (remembered across restarts)."""
        logger.warning(
            "skipping subscription %s: %s (interval_seconds=%r, daily_time=%r)",
            subscription.id,
            error,
            subscription.interval_seconds,
            subscription.daily_time,
        )
        if await self._subscriptions.note_unschedulable(subscription):
            owner = subscription.owner_user_id
            name = await self._subscriptions.account_name(owner, subscription.account_selector)
            await self._tell_owner(owner, render_subscription_unschedulable(subscription, name))

    # ------------------------------------------------------------------ posting

    async def _deliver(self, outcome: RunOutcome) -> bool:
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
        settings = await self._chat_settings.settings(chat_id)
        if outcome.results is not None:
            text = render_refresh_all(outcome.results, zone=settings.zone)
            markup = summary_buttons(self._signer, owner, ALL, chat_id=chat_id)
        else:
            assert outcome.summary is not None
            text = render_account_summary(outcome.summary, zone=settings.zone)
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
            settings = await self._chat_settings.settings(outcome.subscription.chat_id)
            text = render_holdings(outcome.holdings, name, exchange, zone=settings.zone)
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
        try:
            await self._send(owner_id, text)
        except TelegramError as error:
            logger.info("could not tell user %s privately: %s", owner_id, error.message)

    # ------------------------------------------------------------------ chat changes

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its subscriptions and alerts move along."""
        moved = await self._subscriptions.migrate_chat(old_chat_id, new_chat_id)
        for subscription in moved:
            await self.schedule(subscription)
        logger.info(
            "chat %s moved to %s with %d subscriptions", old_chat_id, new_chat_id, len(moved)
        )

    async def shut_out(self, chat_id: int, title: str | None = None) -> None:
        """The bot was removed from the chat or blocked: pause its subscriptions, tell owners
        (naming the chat by its title when Telegram told it)."""
        paused = await self._subscriptions.pause_chat(chat_id)
        for subscription in paused:
            self.unschedule(subscription.id)
        for owner in sorted({s.owner_user_id for s in paused} - {chat_id}):
            count = sum(1 for s in paused if s.owner_user_id == owner)
            await self._tell_owner(
                owner,
                f"⏸ I can no longer post to {render_chat(chat_id, title)} (I was removed or "
                f"blocked there), so your {count} subscription(s) there are paused. "
                "Add me back to that chat and they resume.",
            )

    async def resume(self, chat_id: int) -> int:
        resumed = await self._subscriptions.resume_chat(chat_id)
        for subscription in resumed:
            await self.schedule(subscription)
        return len(resumed)

    async def end_for_owner(self, owner_id: int) -> None:
        for subscription in await self._subscriptions.end_for_owner(owner_id):
            self.unschedule(subscription.id)

    # ------------------------------------------------------------------ alerts

    async def check_alerts(self, owner_id: int, summary: AccountSummary) -> None:
        """After every refresh (a listener of the account service): post alerts that now hold."""
        for alert in await self._alerts.newly_true(owner_id, summary):
            settings = await self._chat_settings.settings(alert.chat_id)
            posted = False
            try:
                posted = await self.post(
                    alert.chat_id,
                    render_alert_fired(alert, summary, zone=settings.zone),
                    topic=alert.message_thread_id,
                )
            finally:
                # fired only once Telegram has it; else the next refresh that finds it true tries again
                await self._alerts.settle(alert, fired=posted)
