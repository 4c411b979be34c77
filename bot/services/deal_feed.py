"""The deal feed: `/subscribe <account|all> deals` posts each deal that closes, once.

3Commas has no push for deals (its WebSocket stream left the docs in February 2025), so the
deals endpoint is polled: ONE call per API key per DEALS_POLL_SECONDS, however many feeds and
accounts the key has, for every deal of the key closed since the oldest mark of its feeds
(`scope=finished`, newest first, paged until older than that mark).

- Keys are spread evenly over the period: key number n (in the order they were first watched)
  polls at offset frac(n * golden ratio) of the period, so any number of keys fills the period
  with gaps that differ at most by a small factor, and no second has a burst.
- Polls are background work (`background_calls()`): under the process-wide budget people's
  commands go first; when there are more keys than the budget allows per period, each poll
  waits its turn and the round stretches evenly (a late key is polled again one period after
  its turn, keeping its order). Each call also goes through the per-key limiter (100 requests a
  minute per key, below the deals endpoint's own 120).
- Exactly once: each feed has a high-water mark in the database (the latest closing time
  handled, and the ids of the deals that closed in the MARGIN before it). It moves only after
  Telegram accepted the post, so a restart, a 3Commas outage (5xx, 429) or a Telegram failure
  means the deals are posted by a later poll, never lost and never twice. Deals that closed
  while the bot was stopped are posted once, marked late, if they closed within LATE_LIMIT.
- A key that lost BOTS_READ (403), that 3Commas refuses (401), or a user who disconnected:
  each feed of the key tells its chat once and pauses; it is not polled again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from bot.services.accounts import AccountService
from bot.services.clock import Clock
from bot.services.errors import ConnectAgain, NotConnected
from bot.services.scheduler import JobCalls, Scheduler
from bot.storage.database import Database
from bot.storage.records import DealFeed, Subscription
from bot.targets import ALL_ACCOUNTS
from bot.threecommas.budget import background_calls
from bot.threecommas.client import DEALS_PAGE, ThreeCommasClient
from bot.threecommas.credentials import Credentials
from bot.threecommas.errors import BotsPermissionMissing, InvalidApiKey, ThreeCommasError
from bot.threecommas.models import Deal

logger = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 60
MAX_POLL_SECONDS = 24 * 3600  # a day; a longer period would outlast the late limit
# Deals that closed longer ago than this when first seen are not posted (after a long stop).
LATE_LIMIT = timedelta(hours=24)
# A deal 3Commas lists up to this long after a later-closing one is still posted: the ids of the
# deals that closed this long before a feed's mark are kept, so none is posted twice.
MARGIN = timedelta(minutes=5)
# The first page of a poll is short (usually nothing new, so it is cheap to read and parse);
# later pages of a catch-up are the endpoint's maximum.
FIRST_PAGE = 50
MAX_PAGES_PER_POLL = 6  # 5,050 deals closed since the oldest mark: a day of a very busy key
# Telegram lets a group have 20 messages a minute: up to this many deals of one poll are posted
# one by one, more become digests listing DIGEST_SIZE deals each (see README "Deal feed").
SINGLE_POSTS_AT_MOST = 3
DIGEST_SIZE = 20
GOLDEN = (math.sqrt(5) - 1) / 2
# Why a feed was paused (its last_error; /subscriptions shows it paused).
PAUSED_NO_PERMISSION = "BotsPermissionMissing"
PAUSED_KEY_REFUSED = "InvalidApiKey"
PAUSED_NOT_CONNECTED = "NotConnected"
ENDED_DISCONNECTED = "Disconnected"  # not paused: /disconnect ended it


class DealClose(StrEnum):
    """How a deal ended: its 3Commas `status` once closed."""

    TAKE_PROFIT = "completed"
    STOP_LOSS = "stop_loss_finished"
    PANIC_SELL = "panic_sold"
    LIQUIDATION = "liquidated"
    FAILED = "failed"
    CANCELLED = "cancelled"
    OTHER = "closed"  # a closing status 3Commas did not document


@dataclass(frozen=True)
class ClosedDeal:
    """A deal that closed, as a feed posts it."""

    id: int
    pair: str | None  # "USDT_SOL": quote_base
    bot_name: str | None
    account_id: int | None
    account_name: str | None
    close: DealClose
    profit_usd: Decimal | None
    profit_percentage: Decimal | None
    opened_at: datetime | None
    closed_at: datetime
    late: bool = False  # closed while the bot was stopped

    @property
    def losing(self) -> bool:
        return self.profit_usd is not None and self.profit_usd < 0


class DealPosts(Protocol):
    """The Telegram side of the feed: post deals (one, or a digest), tell a paused feed."""

    async def post_deals(
        self, feed: DealFeed, deals: Sequence[ClosedDeal], name: str | None
    ) -> bool:
        """True once Telegram accepted the post."""
        ...

    async def tell_paused(
        self, subscription: Subscription, name: str | None, reason: str
    ) -> None: ...


def _close_of(status: str | None) -> DealClose:
    try:
        return DealClose(status or "")
    except ValueError:
        return DealClose.OTHER


def closed_deal(deal: Deal, started_at: datetime) -> ClosedDeal | None:
    """The feed's view of a deal of the list; None for one that has not closed."""
    if deal.closed_at is None or not deal.closed:
        return None
    return ClosedDeal(
        id=deal.id,
        pair=deal.pair,
        bot_name=deal.bot_name,
        account_id=deal.account_id,
        account_name=deal.account_name,
        close=_close_of(deal.status),
        profit_usd=deal.usd_final_profit,
        profit_percentage=deal.final_profit_percentage,
        opened_at=deal.created_at,
        closed_at=deal.closed_at,
        late=deal.closed_at < started_at,
    )


def next_poll(now: datetime, period: float, offset: float) -> datetime:
    """The first moment after `now` at `offset` seconds into a period (periods counted from
    the Unix epoch, so every restart keeps each key's place)."""
    stamp = now.timestamp()
    base = math.floor((stamp - offset) / period) * period + offset
    while base <= stamp:
        base += period
    return datetime.fromtimestamp(base, now.tzinfo)


@dataclass
class _Key:
    slot: int  # its place in the period: offset frac(slot * golden ratio)
    feeds: set[int]  # subscription ids


class DealFeedService:
    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        client: ThreeCommasClient,
        clock: Clock,
        poll_seconds: int = DEFAULT_POLL_SECONDS,
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._client = client
        self.clock = clock
        self.period = float(min(max(1, poll_seconds), MAX_POLL_SECONDS))
        self.scheduler = Scheduler(
            clock, JobCalls(self.poll, self._rearm)
        )  # one job per user's key: the user id
        self._keys: dict[int, _Key] = {}
        self._slots = 0
        self._posts: DealPosts | None = None
        self.started_at = clock.now()
        self.polls = 0  # polls that asked 3Commas (the bench reads it)
        self._started = False

    def post_with(self, posts: DealPosts) -> None:
        self._posts = posts

    async def start(self) -> None:
        """Watch every active feed from the database (after a restart too)."""
        self.started_at = self.clock.now()
        for user_id, subscription_id in await self._db.deal_feeds.watched():
            self._add(user_id, subscription_id)
        self.scheduler.start({u: self._next(k) for u, k in self._keys.items()})
        self._started = True
        logger.info("%d deal feeds of %d keys watched", self.watching(), len(self._keys))

    async def stop(self) -> None:
        await self.scheduler.stop()

    def watching(self) -> int:
        return sum(len(key.feeds) for key in self._keys.values())

    def keys(self) -> int:
        return len(self._keys)

    # ------------------------------------------------------------------ which feeds

    def watch(self, subscription: Subscription) -> None:
        new_key = subscription.user_id not in self._keys
        key = self._add(subscription.user_id, subscription.id)
        if new_key and self._started:
            self.scheduler.set(subscription.user_id, self._next(key))

    def unwatch(self, subscription: Subscription) -> None:
        key = self._keys.get(subscription.user_id)
        if key is None:
            return
        key.feeds.discard(subscription.id)
        if not key.feeds:
            del self._keys[subscription.user_id]
            self.scheduler.drop(subscription.user_id)

    async def ended(self, subscription: Subscription, name: str | None) -> None:
        """Its owner disconnected: the feed ends; its chat is told once."""
        self.unwatch(subscription)
        if self._posts is not None:
            await self._posts.tell_paused(subscription, name, ENDED_DISCONNECTED)

    def _add(self, user_id: int, subscription_id: int) -> _Key:
        key = self._keys.get(user_id)
        if key is None:
            key = self._keys[user_id] = _Key(self._slots, set())
            self._slots += 1
        key.feeds.add(subscription_id)
        return key

    def _offset(self, key: _Key) -> float:
        return (key.slot * GOLDEN) % 1.0 * self.period

    def _next(self, key: _Key) -> datetime:
        return next_poll(self.clock.now(), self.period, self._offset(key))

    async def _rearm(self, user_id: int) -> None:
        """Its next place in the period. A poll that waited past it (the budget's round
        stretched) still goes after the keys that have waited longer: their due times are
        older."""
        key = self._keys.get(user_id)
        if key is not None:
            self.scheduler.set(user_id, self._next(key))

    # ------------------------------------------------------------------ one poll

    async def poll(self, user_id: int) -> None:
        """Ask 3Commas once for the key's closed deals; post each feed's news."""
        feeds = await self._db.deal_feeds.active_for_user(user_id)
        if not feeds or self._posts is None:
            return
        try:
            credentials = await self._accounts.credentials(user_id)
        except (NotConnected, ConnectAgain):
            await self._pause(feeds, PAUSED_NOT_CONNECTED)
            return
        now = self.clock.now()
        since = max(now - LATE_LIMIT, min(f.mark_at - MARGIN for f in feeds))
        try:
            with background_calls():
                deals = await self._closed_since(credentials, since)
        except BotsPermissionMissing:
            await self._pause(feeds, PAUSED_NO_PERMISSION)
            return
        except InvalidApiKey:
            await self._pause(feeds, PAUSED_KEY_REFUSED)
            return
        except ThreeCommasError as error:
            # 5xx, 429, timeouts: the marks stay, a later poll catches up
            logger.info("deal poll of user %s failed: %s", user_id, error)
            return
        closed = sorted(
            (c for d in deals if (c := closed_deal(d, self.started_at)) is not None),
            key=lambda c: (c.closed_at, c.id),
        )
        names = _Names(self._db, user_id)
        # 3Commas has told every close of the key up to its newest: each feed's mark may move
        # there once its own news is posted, so the next poll reads one short page again
        newest = closed[-1].closed_at if closed else None
        for feed in feeds:
            await self._post_news(feed, closed, now, names, newest)

    async def _closed_since(self, credentials: Credentials, since: datetime) -> list[Deal]:
        """The key's deals closed after `since`, newest first (a few older ones may come too)."""
        deals: list[Deal] = []
        offset = 0
        limit = FIRST_PAGE
        self.polls += 1
        for _ in range(MAX_PAGES_PER_POLL):
            page = await self._client.deals_page(
                credentials,
                scope="finished",
                order="closed_at",
                order_direction="DESC",
                limit=limit,
                offset=offset,
            )
            deals.extend(page)
            rows = len(page) + page.unreadable
            oldest = min((d.closed_at for d in page if d.closed_at is not None), default=None)
            if rows < limit or oldest is None or oldest <= since:
                return deals
            offset += rows
            limit = DEALS_PAGE
        logger.warning("more deals closed since %s than one poll reads; older ones skipped", since)
        return deals

    async def _post_news(
        self,
        feed: DealFeed,
        closed: list[ClosedDeal],
        now: datetime,
        names: _Names,
        newest: datetime | None,
    ) -> None:
        subscription = feed.subscription
        floor = max(feed.mark_at - MARGIN, subscription.created_at, now - LATE_LIMIT)
        fresh = [
            deal
            for deal in closed
            if deal.closed_at > floor
            and deal.closed_at > subscription.created_at
            and deal.id not in feed.seen
            and (subscription.target == ALL_ACCOUNTS or deal.account_id == subscription.target)
        ]
        if not fresh:
            if newest is not None and newest > feed.mark_at:
                await self._store_mark(feed, newest, dict(feed.seen))
            return
        shown = [deal for deal in fresh if deal.losing or not feed.options.losses]
        known = await names.get() if shown else {}
        shown = [_named(deal, known) for deal in shown]
        name = None if subscription.target == ALL_ACCOUNTS else known.get(subscription.target)
        assert self._posts is not None
        mark_at, seen = feed.mark_at, dict(feed.seen)
        for post in _posts_of(shown):
            if not await self._posts.post_deals(feed, post, name):
                # not accepted: the mark stays before it, a later poll posts it
                await self._store_mark(feed, mark_at, seen)
                return
            mark_at = max(mark_at, post[-1].closed_at)
            seen.update((deal.id, deal.closed_at.timestamp()) for deal in post)
        for deal in fresh:  # the ones left out by choice are handled too
            mark_at = max(mark_at, deal.closed_at)
            seen[deal.id] = deal.closed_at.timestamp()
        if newest is not None:
            mark_at = max(mark_at, newest)
        await self._store_mark(feed, mark_at, seen)

    async def _store_mark(self, feed: DealFeed, mark_at: datetime, seen: dict[int, float]) -> None:
        if mark_at == feed.mark_at and seen == feed.seen:
            return
        oldest = (mark_at - MARGIN).timestamp()
        kept = {deal_id: at for deal_id, at in seen.items() if at > oldest}
        await self._db.deal_feeds.set_mark(feed.subscription.id, mark_at, kept)

    async def _pause(self, feeds: list[DealFeed], reason: str) -> None:
        for feed in feeds:
            subscription = feed.subscription
            self.unwatch(subscription)
            if await self._db.deal_feeds.pause(subscription.id, reason) and self._posts:
                name = await self._accounts.stored_name(subscription.user_id, subscription.target)
                await self._posts.tell_paused(subscription, name, reason)

    def idle(self) -> bool:
        return self.scheduler.idle()


class _Names:
    """The user's names of their accounts, read once per poll and only when something is
    posted (most polls post nothing)."""

    def __init__(self, db: Database, user_id: int) -> None:
        self._db = db
        self._user_id = user_id
        self._names: dict[int, str] | None = None

    async def get(self) -> dict[int, str]:
        if self._names is None:
            accounts = await self._db.accounts.list(self._user_id)
            self._names = {account.account_id: account.name for account in accounts}
        return self._names


def _named(deal: ClosedDeal, names: dict[int, str]) -> ClosedDeal:
    """The account as its owner named it here (3Commas' name when not known here)."""
    known = names.get(deal.account_id) if deal.account_id is not None else None
    return replace(deal, account_name=known) if known else deal


def _posts_of(deals: list[ClosedDeal]) -> list[list[ClosedDeal]]:
    """A few deals one post each; more, digests of DIGEST_SIZE (oldest first)."""
    if len(deals) <= SINGLE_POSTS_AT_MOST:
        return [[deal] for deal in deals]
    return [deals[i : i + DIGEST_SIZE] for i in range(0, len(deals), DIGEST_SIZE)]
