"""Subscriptions: scheduled summaries, holdings, charts or profit tables for a chat, run with
the subscriber's own keys."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfoNotFoundError

from bot.services.accounts import AccountService
from bot.services.alerts import AlertRequest, AlertService, parse_alert
from bot.services.clock import Clock
from bot.services.errors import (
    AccountNotMatched,
    DuplicateEntry,
    NoSuchEntry,
    NotYours,
    ServiceError,
)
from bot.services.limits import EntryLimits
from bot.services.scheduler import JobCalls, Scheduler
from bot.services.schedules import (
    UNSCHEDULABLE,
    ScheduleRequest,
    Unschedulable,
    next_subscription_run,
    parse_schedule,
    zone,
)
from bot.storage.database import Database
from bot.storage.records import (
    FEED_CONTENTS,
    Alert,
    DealFeedOptions,
    KnownAccount,
    Subscription,
)
from bot.targets import ALL_ACCOUNTS, Target
from bot.threecommas.budget import background_calls
from bot.threecommas.errors import ThreeCommasError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    """What one scheduled run produced: the reply of the subscription's command (what the
    Telegram side made of it: this layer only carries it), or the error, and whether that error
    is news or the run works again."""

    subscription: Subscription
    account_name: str | None  # None: all accounts, or one no longer stored
    reply: object = None
    error: ServiceError | ThreeCommasError | None = None
    first_failure: bool = False
    recovered: bool = False


@dataclass(frozen=True)
class ListedEntry:
    """One line of `/subscriptions`: its number is the entry's id, so it stays with the entry
    (subscriptions and alerts share one sequence of ids)."""

    number: int
    user_id: int  # who made it
    account_name: str | None  # None: all accounts, or one no longer stored
    subscription: Subscription | None = None
    alert: Alert | None = None
    feed: DealFeedOptions | None = None  # a deal feed's options

    @property
    def target(self) -> Target:
        if self.subscription is not None:
            return self.subscription.target
        assert self.alert is not None
        return self.alert.account_id


@dataclass(frozen=True)
class PlannedRuns:
    """When each active subscription runs next (by id), and the stored ones that cannot run."""

    next_runs: dict[int, datetime]
    unschedulable: list[tuple[Subscription, Unschedulable]]


def _next_run(now: datetime, subscription: Subscription, timezone_name: str | None) -> datetime:
    """The next run after `now`; a daily one in its chat's zone (None: UTC)."""
    timezone = zone(None)
    if subscription.schedule_kind == "daily":
        try:
            timezone = zone(timezone_name)
        except (ValueError, ZoneInfoNotFoundError):
            raise Unschedulable(f"the chat's time zone {timezone_name!r} is unknown") from None
    return next_subscription_run(now, subscription, timezone)


def _same_subscription(
    subscription: Subscription,
    user_id: int,
    target: Target,
    request: ScheduleRequest,
    thread: int | None,
) -> bool:
    """Same user, account, schedule (`every 1h` is `every 60m`) and content, posting to the
    same topic."""
    return (
        subscription.user_id == user_id
        and subscription.target == target
        and subscription.message_thread_id == thread
        and subscription.content == request.content
        and (
            request.feed is not None  # one feed of an account per user and topic
            or (
                subscription.schedule_kind == request.kind
                and subscription.interval_seconds == request.interval_seconds
                and subscription.daily_time == request.daily_time
            )
        )
    )


class Delivery(Protocol):
    """The Telegram side of a scheduled run: it makes the post (the reply of the command the
    subscription's kind names, as if its owner had typed it in its chat), posts it, and tells an
    owner that a stored subscription cannot run."""

    async def produce(self, subscription: Subscription, account: KnownAccount | None) -> object:
        """The command's reply for the subscription's target; `account` is the stored one
        (None: all accounts, or one no longer stored, to be named by its id). Raises what the
        command raises (ServiceError, ThreeCommasError)."""
        ...

    async def deliver(self, outcome: RunOutcome) -> bool:
        """True once Telegram accepted the post (or there was nothing to post)."""
        ...

    async def tell_unschedulable(
        self, subscription: Subscription, account_name: str | None
    ) -> None: ...


class FeedWatch(Protocol):
    """Who watches the feeds (the deal poller): they post as things happen, not on a schedule."""

    def watch(self, subscription: Subscription) -> None: ...

    def unwatch(self, subscription: Subscription) -> None: ...

    async def ended(self, subscription: Subscription, name: str | None) -> None:
        """Its owner disconnected: tell its chat once."""
        ...


def is_feed(subscription: Subscription) -> bool:
    return subscription.content in FEED_CONTENTS


class SubscriptionService:
    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        alerts: AlertService,
        clock: Clock,
        min_interval_seconds: int,
        limits: EntryLimits,
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._alerts = alerts
        self.clock = clock
        self._min_interval = min_interval_seconds
        self._limits = limits
        # Two quick /subscribe commands must not both pass the duplicate and limit checks.
        self._adding = asyncio.Lock()
        self.scheduler = Scheduler(clock, JobCalls(self._run_and_deliver, self._rearm))
        self._delivery: Delivery | None = None
        self._feeds: FeedWatch | None = None
        self.feed_poll_seconds = 60  # stored with a feed: how often it is checked

    # ------------------------------------------------------------------ the schedule

    @property
    def next_runs(self) -> dict[int, datetime]:
        """When each scheduled subscription runs next, by id."""
        return self.scheduler.next_runs

    def watch_feeds_with(self, feeds: FeedWatch, poll_seconds: int) -> None:
        """Feeds (`deals`) are watched by `feeds`, not scheduled here."""
        self._feeds = feeds
        self.feed_poll_seconds = poll_seconds

    def _drop(self, subscription: Subscription) -> None:
        self.scheduler.drop(subscription.id)
        if is_feed(subscription) and self._feeds is not None:
            self._feeds.unwatch(subscription)

    def deliver_with(self, delivery: Delivery) -> None:
        """Scheduled runs are posted by `delivery` (the Telegram side)."""
        self._delivery = delivery

    async def start(self) -> None:
        """Schedule every active subscription from the database (after a restart too)."""
        planned = await self.plan_active()
        self.scheduler.start(planned.next_runs)
        logger.info("%d subscriptions scheduled", len(self.next_runs))
        for subscription, error in planned.unschedulable:
            await self._skip_unschedulable(subscription, error)

    async def stop(self) -> None:
        """Start no more runs; wait for those in flight."""
        await self.scheduler.stop()

    async def reschedule_chat(self, chat_id: int) -> None:
        """The chat's zone changed: its daily times follow the new zone."""
        for subscription in await self._db.subscriptions.list_for_chat(chat_id):
            if not subscription.paused:
                await self.schedule(subscription)

    async def schedule(self, subscription: Subscription) -> None:
        """(Re)schedule it from its stored row; a paused one is unscheduled. A feed is watched
        by its poller instead."""
        if subscription.paused:
            self._drop(subscription)
            return
        if is_feed(subscription):
            if self._feeds is not None:
                self._feeds.watch(subscription)
            return
        try:
            when = await self.next_run(subscription)
        except Unschedulable as error:
            self.scheduler.drop(subscription.id)
            await self._skip_unschedulable(subscription, error)
            return
        self.scheduler.set(subscription.id, when)

    async def _skip_unschedulable(self, subscription: Subscription, error: Unschedulable) -> None:
        """A stored row that cannot run: log it, tell its owner once (remembered across restarts)."""
        logger.warning(
            "skipping subscription %s: %s (interval_seconds=%r, daily_time=%r)",
            subscription.id,
            error,
            subscription.interval_seconds,
            subscription.daily_time,
        )
        if self._delivery is not None and await self.note_unschedulable(subscription):
            name = await self.account_name(subscription.user_id, subscription.target)
            await self._delivery.tell_unschedulable(subscription, name)

    async def _run_and_deliver(self, subscription_id: int) -> None:
        outcome = await self.run(subscription_id)
        delivery = self._delivery
        if outcome is not None and delivery is not None and await delivery.deliver(outcome):
            await self.delivered(outcome)

    async def _rearm(self, subscription_id: int) -> None:
        """Re-armed only once its run is delivered: when posting is slower than the interval
        (flood limits), missed slots are skipped instead of piling up runs whose summaries are
        refreshed and never posted. Re-read, because the run may have paused, moved or ended
        the subscription."""
        current = await self.get(subscription_id)
        if current is not None and not current.paused:
            await self.schedule(current)

    # ------------------------------------------------------------------ commands

    async def _one_account(self, user_id: int, query: str) -> KnownAccount:
        resolution = await self._accounts.resolve(user_id, query)
        if resolution.match is None:
            raise AccountNotMatched(query, [a.name for a in resolution.candidates])
        return resolution.match

    async def subscribe(
        self, chat_id: int, user_id: int, text: str, message_thread_id: int | None = None
    ) -> Subscription:
        """A new subscription, unless the same one is already here or a limit is reached."""
        request = parse_schedule(text, self._min_interval)
        target: Target
        if request.account.casefold() == ALL_ACCOUNTS:
            await self._accounts.credentials(user_id)
            target = ALL_ACCOUNTS
        else:
            target = (await self._one_account(user_id, request.account)).account_id
        async with self._adding:
            in_chat = await self._db.subscriptions.list_for_chat(chat_id)
            for existing in in_chat:
                if _same_subscription(existing, user_id, target, request, message_thread_id):
                    if existing.paused and is_feed(existing):
                        resumed = await self._resume_feed(existing)
                        await self.schedule(resumed)
                        return resumed
                    raise DuplicateEntry("subscription", existing.id)
            of_user = await self._db.subscriptions.count_for_user(user_id)
            self._limits.ensure_room("subscriptions", len(in_chat), of_user)
            if request.feed is not None:
                subscription = await self._db.deal_feeds.add(
                    chat_id,
                    user_id,
                    target,
                    poll_seconds=self.feed_poll_seconds,
                    created_at=self.clock.now(),
                    message_thread_id=message_thread_id,
                    options=request.feed,
                )
                await self.schedule(subscription)
                return subscription
            subscription = await self._db.subscriptions.add(
                chat_id,
                user_id,
                target,
                request.kind,
                request.interval_seconds,
                request.daily_time,
                # the interval grid is anchored on the scheduler's clock, not the wall clock
                created_at=self.clock.now(),
                message_thread_id=message_thread_id,
                content=request.content,
            )
        await self.schedule(subscription)
        return subscription

    async def feed_options(self, subscription_id: int) -> DealFeedOptions:
        return await self._db.deal_feeds.options(subscription_id)

    async def _resume_feed(self, feed: Subscription) -> Subscription:
        """A paused feed subscribed again (the key got its permission back): it goes on from
        now; deals closed while it was paused are not posted."""
        await self._db.deal_feeds.restart(feed.id, self.clock.now())
        resumed = await self._db.subscriptions.get(feed.id)
        assert resumed is not None
        return resumed

    async def add_alert(
        self, chat_id: int, user_id: int, text: str, message_thread_id: int | None = None
    ) -> tuple[Alert, str]:
        request: AlertRequest = parse_alert(text)
        account = await self._one_account(user_id, request.account)
        alert = await self._alerts.add(
            chat_id, user_id, account.account_id, request, message_thread_id
        )
        return alert, account.name

    async def timezone_name(self, chat_id: int) -> str:
        return await self._db.chats.get_timezone(chat_id) or "UTC"

    async def next_run(self, subscription: Subscription) -> datetime:
        """When it runs next; Unschedulable when the stored row cannot be run."""
        daily = subscription.schedule_kind == "daily"
        name = await self.timezone_name(subscription.chat_id) if daily else None
        return _next_run(self.clock.now(), subscription, name)

    async def plan_active(self) -> PlannedRuns:
        """The next run of every active subscription, from one query (at start-up)."""
        now = self.clock.now()
        planned = PlannedRuns({}, [])

        def plan(subscription: Subscription, timezone_name: str | None) -> None:
            if is_feed(subscription):
                return  # watched by its poller
            try:
                planned.next_runs[subscription.id] = _next_run(now, subscription, timezone_name)
            except Unschedulable as error:
                planned.unschedulable.append((subscription, error))

        await self._db.subscriptions.visit_active(plan)
        return planned

    async def note_unschedulable(self, subscription: Subscription) -> bool:
        """Remember that its user was told it cannot run; True only the first time."""
        return await self._db.subscriptions.set_last_error(subscription.id, UNSCHEDULABLE)

    async def account_name(self, user_id: int, target: Target) -> str | None:
        """The stored name; None for all accounts or one no longer stored."""
        return await self._accounts.stored_name(user_id, target)

    async def get(self, subscription_id: int) -> Subscription | None:
        return await self._db.subscriptions.get(subscription_id)

    async def run(self, subscription_id: int) -> RunOutcome | None:
        """Refresh or fetch what the subscription posts; None when it is gone or paused.

        Its 3Commas calls wait behind those of people's commands (and the alerts its refresh
        checks are background work too)."""
        with background_calls():
            return await self._run(subscription_id)

    async def _run(self, subscription_id: int) -> RunOutcome | None:
        subscription = await self._db.subscriptions.get(subscription_id)
        if subscription is None or subscription.paused or self._delivery is None:
            return None
        user_id, target = subscription.user_id, subscription.target
        name = await self.account_name(user_id, target)
        account = await self._account(user_id, target) if isinstance(target, int) else None
        try:
            reply = await self._delivery.produce(subscription, account)
        except (ServiceError, ThreeCommasError) as error:
            first_failure = subscription.last_error != type(error).__name__
            return RunOutcome(subscription, name, error=error, first_failure=first_failure)
        recovered = subscription.last_error is not None
        return RunOutcome(subscription, name, reply=reply, recovered=recovered)

    async def _account(self, user_id: int, account_id: int) -> KnownAccount | None:
        """The stored account (name and exchange); None when it is no longer stored."""
        for known in await self._db.accounts.list(user_id):
            if known.account_id == account_id:
                return known
        return None

    async def _listed_subscription(self, subscription: Subscription) -> ListedEntry:
        user_id = subscription.user_id
        name = await self.account_name(user_id, subscription.target)
        return ListedEntry(subscription.id, user_id, name, subscription=subscription)

    async def _listed_alert(self, alert: Alert) -> ListedEntry:
        name = await self.account_name(alert.user_id, alert.account_id)
        return ListedEntry(alert.id, alert.user_id, name, alert=alert)

    async def delivered(self, outcome: RunOutcome) -> None:
        """The run's post was accepted: remember the error it told, or that it works again.

        Only then, so an error or recovery that could not be posted is told by the next run.
        """
        error = type(outcome.error).__name__ if outcome.error is not None else None
        if outcome.subscription.last_error != error:
            await self._db.subscriptions.set_last_error(outcome.subscription.id, error)

    async def listing(self, chat_id: int) -> list[ListedEntry]:
        entries: list[ListedEntry] = []
        feeds = await self._db.deal_feeds.options_in_chat(chat_id)
        for subscription in await self._db.subscriptions.list_for_chat(chat_id):
            listed = await self._listed_subscription(subscription)
            if subscription.id in feeds:
                listed = replace(listed, feed=feeds[subscription.id])
            entries.append(listed)
        for alert in await self._db.alerts.list_for_chat(chat_id):
            entries.append(await self._listed_alert(alert))
        return entries

    async def _entry(self, chat_id: int, number: int) -> ListedEntry:
        subscription = await self._db.subscriptions.get(number)
        if subscription is not None and subscription.chat_id == chat_id:
            return await self._listed_subscription(subscription)
        alert = await self._db.alerts.get(number)
        if alert is not None and alert.chat_id == chat_id:
            return await self._listed_alert(alert)
        raise NoSuchEntry

    async def remove(self, chat_id: int, number: int, user_id: int, is_admin: bool) -> ListedEntry:
        """Remove entry `number` of the chat, if `user_id` created it or is an admin."""
        entry = await self._entry(chat_id, number)
        if entry.user_id != user_id and not is_admin:
            raise NotYours
        if entry.subscription is not None:
            await self._db.subscriptions.delete(entry.subscription.id)
            self._drop(entry.subscription)
        elif entry.alert is not None:
            await self._db.alerts.delete(entry.alert.id)
        return entry

    async def pause_chat(self, chat_id: int) -> list[Subscription]:
        paused = await self._db.subscriptions.pause_chat(chat_id)
        for subscription in paused:
            self._drop(subscription)
        return paused

    async def resume_chat(self, chat_id: int) -> list[Subscription]:
        resumed = [s for s in await self._db.subscriptions.list_for_chat(chat_id) if s.paused]
        for subscription in resumed:
            await self._db.subscriptions.set_paused(subscription.id, False)
        active = [s for s in await self._db.subscriptions.list_for_chat(chat_id) if not s.paused]
        for subscription in active:
            await self.schedule(subscription)
        return active

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> list[Subscription]:
        await self._db.subscriptions.migrate_chat(old_chat_id, new_chat_id)
        moved = await self._db.subscriptions.list_for_chat(new_chat_id)
        for subscription in moved:
            await self.schedule(subscription)
        return moved

    async def end_for_user(self, user_id: int) -> list[Subscription]:
        names: dict[int, str | None] = {}
        for subscription in await self._db.subscriptions.list_for_user(user_id):
            if is_feed(subscription):
                names[subscription.id] = await self.account_name(user_id, subscription.target)
        ended = await self._db.subscriptions.delete_for_user(user_id)
        for subscription in ended:
            self._drop(subscription)
            if is_feed(subscription) and not subscription.paused and self._feeds is not None:
                name = names.get(subscription.id)
                await self._feeds.ended(subscription, name)
        return ended
