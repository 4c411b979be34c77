"""Connecting a 3Commas key and refreshing accounts with it, for one user at a time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.logs import hold_secrets
from bot.services.errors import (
    ConnectAgain,
    InvalidKeyFormat,
    KeyChangedMeanwhile,
    KeyPairWaiting,
    NotConnected,
    RequestLimitReached,
    ServiceError,
)
from bot.services.resolve import Resolution, resolve_account
from bot.services.summary import AccountSummary, summarize
from bot.storage.cache import ReadCache
from bot.storage.database import Database
from bot.storage.errors import CredentialsUnreadable, StorageError, UserChanged
from bot.storage.records import KnownAccount, Snapshot, account_order
from bot.threecommas.client import ThreeCommasClient
from bot.threecommas.credentials import Credentials
from bot.threecommas.errors import RateLimited, ThreeCommasError
from bot.threecommas.models import Account
from bot.threecommas.signing import InvalidSecret, secret_forms, sign

logger = logging.getLogger(__name__)

CREDENTIAL_CACHE_SIZE = 10_000  # users; a refresh of one more decrypts once again

RefreshListener = Callable[[int, AccountSummary], Awaitable[None]]


@dataclass(frozen=True)
class RefreshResult:
    """One account of `/refresh all`: a summary, or the error that stopped it."""

    account: KnownAccount
    summary: AccountSummary | None = None
    error: ThreeCommasError | ServiceError | None = None


@dataclass(frozen=True)
class Connected:
    """The accounts a newly connected key sees, and how many rows 3Commas listed that are no
    usable account (left out)."""

    accounts: list[KnownAccount]
    unreadable: int = 0


def _storable(text: str | None) -> str | None:
    """JSON may carry lone surrogates, which no database can store: replace them."""
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


def _known(account: Account, refreshed_at: datetime | None = None) -> KnownAccount:
    return KnownAccount(
        account_id=account.id,
        name=_storable(account.name) or str(account.id),
        exchange=_storable(account.exchange),
        refreshed_at=refreshed_at,
    )


def _snapshot(user_id: int, summary: AccountSummary, taken_at: datetime) -> Snapshot:
    return Snapshot(
        user_id=user_id,
        account_id=summary.account_id,
        taken_at=taken_at,
        currency=summary.currency,
        amount=summary.balance,
        usd_amount=summary.balance_usd,
        btc_amount=summary.balance_btc,
        profit=summary.profit,
        profit_percentage=summary.profit_percentage,
        day_profit=summary.day_profit,
        day_profit_percentage=summary.day_profit_percentage,
        day_profit_usd=None if summary.today_usd is None else summary.today_usd.amount,
        updated_at=_aware(summary.updated_at),
    )


def _aware(moment: datetime | None) -> datetime | None:
    """3Commas' times without a zone are UTC (as /refresh all reads them)."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


async def load_credentials(db: Database, user_id: int) -> Credentials:
    """The user's stored 3Commas key, for every service that calls 3Commas for them."""
    try:
        stored = await db.credentials.load(user_id)
    except CredentialsUnreadable:
        raise ConnectAgain from None
    if stored is None:
        raise KeyPairWaiting if await db.pending_keys.waiting(user_id) else NotConnected
    # Held again after every restart: the log filter knows only what this process saw.
    hold_secrets(("key", user_id), stored.api_key, *secret_forms(stored.secret))
    return Credentials(stored.api_key, stored.secret)


def _staleness(account: KnownAccount) -> tuple[bool, datetime]:
    """Sorts never-refreshed accounts first, then those refreshed longest ago."""
    refreshed_at = account.refreshed_at
    return refreshed_at is not None, refreshed_at or datetime.min.replace(tzinfo=UTC)


class CredentialCache:
    """Decrypted credentials of the users seen lately, in memory only (never written anywhere).

    A command reads the user's key several times (the connection check, the account list, each
    account of `/refresh all`); one decryption, off the event loop, serves them all. Connecting
    and disconnecting forget the entry.
    """

    def __init__(self, db: Database, size: int = CREDENTIAL_CACHE_SIZE) -> None:
        self._db = db
        self._entries: ReadCache[int, Credentials] = ReadCache(size)

    async def get(self, user_id: int) -> Credentials:
        return await self._entries.get(user_id, lambda: load_credentials(self._db, user_id))

    def forget(self, user_id: int) -> None:
        self._entries.forget(user_id)


class AccountService:
    def __init__(
        self,
        db: Database,
        client: ThreeCommasClient,
        credentials: CredentialCache,
    ) -> None:
        self._db = db
        self._client = client
        self._credentials = credentials
        self._listeners: list[RefreshListener] = []
        self._recording: set[asyncio.Task[None]] = set()

    def add_refresh_listener(self, listener: RefreshListener) -> None:
        """Called after every successful refresh (alerts use it)."""
        self._listeners.append(listener)

    async def credentials(self, user_id: int) -> Credentials:
        return await self._credentials.get(user_id)

    async def connect(self, user_id: int, api_key: str, secret: str) -> Connected:
        """Check the keys with a signed account list, then store them in place of any earlier
        key (the user's accounts, subscriptions and alerts stay) and of a pending key pair;
        returns the accounts. KeyChangedMeanwhile, and nothing stored, if the user disconnected
        or stored another key while 3Commas was asked."""
        credentials = Credentials(api_key.strip(), secret.strip())
        # Only what is tried as a key is redacted from logs; any other text stays readable. One
        # key tried at a time per user: the one tried before stays while there is room.
        hold_secrets(("trying", user_id), credentials.api_key, *secret_forms(credentials.secret))
        if not credentials.api_key or not credentials.secret:
            raise InvalidKeyFormat
        try:
            sign("/public/api/ver1/accounts", credentials.secret)
        except InvalidSecret:
            raise InvalidKeyFormat from None
        # A /disconnect, or another key stored, while 3Commas is asked wins over this key.
        stamp = self._db.generations.stamp()
        accounts = await self._client.list_accounts(credentials)
        known = sorted((_known(account) for account in accounts), key=account_order)
        try:
            await self._db.store_key(
                user_id,
                credentials.api_key,
                credentials.secret,
                credentials.key_type.value,
                accounts=known,
                stamp=stamp,
            )
        except UserChanged:
            raise KeyChangedMeanwhile from None
        finally:
            self._credentials.forget(user_id)
        hold_secrets(("key", user_id), credentials.api_key, *secret_forms(credentials.secret))
        logger.info("user %s connected a %s key", user_id, credentials.key_type.value)
        return Connected(known, accounts.unreadable)

    async def accounts(self, user_id: int, *, reload: bool = False) -> list[KnownAccount]:
        """The accounts this user's key sees; asks 3Commas when none are known or on `reload`."""
        stamp = self._db.generations.stamp()
        credentials = await self.credentials(user_id)
        known = [] if reload else await self._db.accounts.list(user_id)
        if known:
            return known
        accounts = await self._client.list_accounts(credentials)
        known = [_known(account) for account in accounts]
        await self._db.accounts.replace(user_id, known, self._db.unchanged(user_id, stamp))
        return await self._db.accounts.list(user_id)

    async def resolve(self, user_id: int, query: str) -> Resolution:
        resolution = resolve_account(await self.accounts(user_id), query)
        if resolution.match is None and not resolution.candidates:
            resolution = resolve_account(await self.accounts(user_id, reload=True), query)
        return resolution

    async def refresh(self, user_id: int, account_id: int) -> AccountSummary:
        """Load fresh balances from the exchange; the snapshot and the listeners follow.

        The summary is returned as soon as 3Commas answers: storing the snapshot (a durable
        commit) and checking alerts run in the background, off the user's wait.
        """
        stamp = self._db.generations.stamp()
        credentials = await self.credentials(user_id)
        account = await self._client.load_balances(credentials, account_id)
        summary = summarize(account)
        task = asyncio.create_task(self._record(user_id, account, summary, stamp))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)
        return summary

    async def _record(
        self, user_id: int, account: Account, summary: AccountSummary, stamp: int
    ) -> None:
        """Store the snapshot unless the user disconnected or changed their key since the
        refresh began (then the listeners are not told either)."""
        now = datetime.now(UTC)
        try:
            stored = await self._db.snapshots.add(
                _snapshot(user_id, summary, now),
                _known(account, now),
                self._db.unchanged(user_id, stamp),
            )
        except StorageError:
            logger.exception("could not store a snapshot of account %s", account.id)
        else:
            if not stored:
                return
        for listener in self._listeners:
            try:
                await listener(user_id, summary)
            except Exception:
                logger.exception("a refresh listener failed")

    async def drain(self) -> None:
        """Wait for snapshots and listeners still running (at shutdown)."""
        while self._recording:
            await asyncio.gather(*self._recording, return_exceptions=True)

    async def refresh_all(self, user_id: int) -> list[RefreshResult]:
        """Every account of the user, concurrently; one failing account does not stop the rest.

        A key may make only so many requests a minute: the accounts refreshed longest ago go
        first, and those beyond the requests free now are left out with RequestLimitReached.
        """
        accounts = await self.accounts(user_id)
        free = self._client.requests_free_now(await self.credentials(user_id))
        chosen = {account.account_id for account in sorted(accounts, key=_staleness)[:free]}
        results = await asyncio.gather(
            *(self._refresh_one(user_id, a) for a in accounts if a.account_id in chosen)
        )
        refreshed = iter(results)
        bans = [r.error for r in results if isinstance(r.error, RateLimited) and r.error.banned]
        if bans and all(r.summary is None for r in results):
            raise bans[0]  # 3Commas banned the IP: one sentence, not one per account
        left_out = RequestLimitReached(self._client.requests_per_minute)
        return [
            next(refreshed) if a.account_id in chosen else RefreshResult(a, error=left_out)
            for a in accounts
        ]

    async def _refresh_one(self, user_id: int, account: KnownAccount) -> RefreshResult:
        try:
            summary = await self.refresh(user_id, account.account_id)
        except ThreeCommasError as error:
            return RefreshResult(account=account, error=error)
        return RefreshResult(account=account, summary=summary)

    async def disconnect(self, user_id: int) -> bool:
        """Forget everything stored for the user; False when nothing was."""
        self._credentials.forget(user_id)
        deleted = await self._db.forget_user(user_id)
        logger.info("user %s disconnected; %d rows deleted", user_id, deleted)
        return deleted > 0
