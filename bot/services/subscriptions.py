"""Subscriptions: scheduled summaries for a chat, run with the subscriber's own keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.services.accounts import AccountService, RefreshResult
from bot.services.alerts import AlertRequest, AlertService, parse_alert
from bot.services.clock import Clock
from bot.services.errors import AccountNotMatched, NoSuchEntry, NotYours, ServiceError
from bot.services.schedules import (
    next_daily_run,
    next_interval_run,
    parse_schedule,
    parse_timezone,
    zone,
)
from bot.services.summary import AccountSummary
from bot.storage.database import Database
from bot.storage.records import ALL_ACCOUNTS, Alert, KnownAccount, Subscription
from bot.threecommas.errors import ThreeCommasError


@dataclass(frozen=True)
class RunOutcome:
    """What one scheduled run produced, and whether its error is news."""

    subscription: Subscription
    account_name: str
    summary: AccountSummary | None = None
    results: list[RefreshResult] | None = None
    error: ServiceError | ThreeCommasError | None = None
    first_failure: bool = False
    recovered: bool = False


@dataclass(frozen=True)
class ListedEntry:
    """One line of `/subscriptions`: its short number is its place in the chat's list."""

    number: int
    owner_id: int
    account_name: str
    subscription: Subscription | None = None
    alert: Alert | None = None


class SubscriptionService:
    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        alerts: AlertService,
        clock: Clock,
        min_interval_seconds: int,
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._alerts = alerts
        self.clock = clock
        self._min_interval = min_interval_seconds

    async def _one_account(self, owner_id: int, query: str) -> KnownAccount:
        resolution = await self._accounts.resolve(owner_id, query)
        if resolution.match is None:
            raise AccountNotMatched(query, [a.name for a in resolution.candidates])
        return resolution.match

    async def subscribe(self, chat_id: int, owner_id: int, text: str) -> Subscription:
        request = parse_schedule(text, self._min_interval)
        if request.account.casefold() == ALL_ACCOUNTS:
            await self._accounts.credentials(owner_id)
            selector = ALL_ACCOUNTS
        else:
            selector = str((await self._one_account(owner_id, request.account)).account_id)
        return await self._db.subscriptions.add(
            chat_id,
            owner_id,
            selector,
            request.kind,
            request.interval_seconds,
            request.daily_time,
            # the interval grid is anchored on the scheduler's clock, not the wall clock
            created_at=self.clock.now(),
        )

    async def add_alert(self, chat_id: int, owner_id: int, text: str) -> tuple[Alert, str]:
        request: AlertRequest = parse_alert(text)
        account = await self._one_account(owner_id, request.account)
        return await self._alerts.add(chat_id, owner_id, account.account_id, request), account.name

    async def set_timezone(self, chat_id: int, name: str) -> str:
        found = parse_timezone(name)
        await self._db.chats.set_timezone(chat_id, found)
        return found

    async def timezone_name(self, chat_id: int) -> str:
        return await self._db.chats.get_timezone(chat_id) or "UTC"

    async def next_run(self, subscription: Subscription) -> datetime:
        now = self.clock.now()
        if subscription.schedule_kind == "daily":
            assert subscription.daily_time is not None
            timezone = zone(await self.timezone_name(subscription.chat_id))
            return next_daily_run(now, subscription.daily_time, timezone)
        assert subscription.interval_seconds is not None
        return next_interval_run(now, subscription.created_at, subscription.interval_seconds)

    async def account_name(self, owner_id: int, selector: str) -> str:
        if selector == ALL_ACCOUNTS:
            return "all accounts"
        known = {str(a.account_id): a.name for a in await self._db.accounts.list(owner_id)}
        return known.get(selector, f"account {selector}")

    async def get(self, subscription_id: int) -> Subscription | None:
        return await self._db.subscriptions.get(subscription_id)

    async def run(self, subscription_id: int) -> RunOutcome | None:
        """Refresh what the subscription covers; None when it is gone or paused."""
        subscription = await self._db.subscriptions.get(subscription_id)
        if subscription is None or subscription.paused:
            return None
        owner = subscription.owner_user_id
        name = await self.account_name(owner, subscription.account_selector)
        summary: AccountSummary | None = None
        results: list[RefreshResult] | None = None
        try:
            if subscription.account_selector == ALL_ACCOUNTS:
                results = await self._accounts.refresh_all(owner)
                failures = [r.error for r in results if r.error is not None]
                if results and len(failures) == len(results):
                    raise failures[0]
            else:
                summary = await self._accounts.refresh(owner, int(subscription.account_selector))
        except (ServiceError, ThreeCommasError) as error:
            first_failure = subscription.last_error != type(error).__name__
            return RunOutcome(subscription, name, error=error, first_failure=first_failure)
        return RunOutcome(
            subscription,
            name,
            summary=summary,
            results=results,
            recovered=subscription.last_error is not None,
        )

    async def delivered(self, outcome: RunOutcome) -> None:
        """The run's post was accepted: remember the error it told, or that it works again.

        Only then, so an error or recovery that could not be posted is told by the next run.
        """
        error = type(outcome.error).__name__ if outcome.error is not None else None
        if outcome.subscription.last_error != error:
            await self._db.subscriptions.set_last_error(outcome.subscription.id, error)

    async def listing(self, chat_id: int) -> list[ListedEntry]:
        subscriptions = await self._db.subscriptions.list_for_chat(chat_id)
        alerts = await self._db.alerts.list_for_chat(chat_id)
        entries: list[ListedEntry] = []
        for subscription in subscriptions:
            name = await self.account_name(
                subscription.owner_user_id, subscription.account_selector
            )
            entries.append(
                ListedEntry(
                    len(entries) + 1, subscription.owner_user_id, name, subscription=subscription
                )
            )
        for alert in alerts:
            name = await self.account_name(alert.owner_user_id, str(alert.account_id))
            entries.append(ListedEntry(len(entries) + 1, alert.owner_user_id, name, alert=alert))
        return entries

    async def remove(self, chat_id: int, number: int, user_id: int, is_admin: bool) -> ListedEntry:
        """Remove entry `number` of the chat's list, if `user_id` created it or is an admin."""
        entries = await self.listing(chat_id)
        if not 1 <= number <= len(entries):
            raise NoSuchEntry
        entry = entries[number - 1]
        if entry.owner_id != user_id and not is_admin:
            raise NotYours
        if entry.subscription is not None:
            await self._db.subscriptions.delete(entry.subscription.id)
        elif entry.alert is not None:
            await self._db.alerts.delete(entry.alert.id)
        return entry

    async def pause_chat(self, chat_id: int) -> list[Subscription]:
        return await self._db.subscriptions.pause_chat(chat_id)

    async def resume_chat(self, chat_id: int) -> list[Subscription]:
        resumed = [s for s in await self._db.subscriptions.list_for_chat(chat_id) if s.paused]
        for subscription in resumed:
            await self._db.subscriptions.set_paused(subscription.id, False)
        return [s for s in await self._db.subscriptions.list_for_chat(chat_id) if not s.paused]

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> list[Subscription]:
        await self._db.subscriptions.migrate_chat(old_chat_id, new_chat_id)
        return await self._db.subscriptions.list_for_chat(new_chat_id)

    async def end_for_owner(self, owner_id: int) -> list[Subscription]:
        return await self._db.subscriptions.delete_for_owner(owner_id)

    async def active(self) -> list[Subscription]:
        return await self._db.subscriptions.list_active()
