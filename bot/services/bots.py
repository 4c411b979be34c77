"""An account's DCA and grid bots, their profit, and their active deals (permission BOTS_READ).

/bots, /deals and the summary's "bots' profit today" line all read here. The profit of today
is 3Commas' own (`GET /ver1/bots/stats`, `profits_in_usd`), added up in `bot_profits`, the one
computation every view shows. A key without BOTS_READ is remembered for a while, so the
summary does not ask for it again on every refresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, TypeVar, cast

from bot.services.accounts import AccountService
from bot.services.clock import Clock
from bot.services.errors import (
    BotsPermissionMissing,
    RateLimited,
    ServiceError,
    ThreeCommasError,
)
from bot.storage.records import KnownAccount, account_order
from bot.targets import ALL_ACCOUNTS, Target
from bot.threecommas.client import ThreeCommasClient
from bot.threecommas.credentials import Credentials
from bot.threecommas.models import BotStats, DcaBot, Deal, GridBot

# How long a key that answered 403 is not asked for bots' stats by the summary again.
BOTS_READ_MEMORY_SECONDS = 3600.0
# Keys remembered at most (one entry per user whose key lacks BOTS_READ).
MAX_REMEMBERED_KEYS = 100_000

T = TypeVar("T")


@dataclass(frozen=True)
class BotProfits:
    """Bots' profit in USD, from bots/stats' `profits_in_usd`; None: 3Commas sent none."""

    today: Decimal | None
    overall: Decimal | None
    unrealized: Decimal | None  # of the active deals


def bot_profits(stats: Iterable[BotStats]) -> BotProfits:
    """One or several accounts' bots/stats added up: the one computation of these figures."""
    rows = [s.profits_in_usd for s in stats]
    return BotProfits(
        today=_sum(row.today_usd_profit for row in rows),
        overall=_sum(row.overall_usd_profit for row in rows),
        unrealized=_sum(row.active_deals_usd_profit for row in rows),
    )


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    known = [value for value in values if value is not None]
    return sum(known, Decimal(0)) if known else None


@dataclass(frozen=True)
class BotLine:
    """One bot as listed: `profit` is a DCA bot's closed deals' total, a grid bot's current."""

    kind: Literal["dca", "grid"]
    name: str | None  # as 3Commas sent it: clean and escape before showing
    profit: Decimal | None
    active_deals: int | None = None  # DCA bots only
    pairs: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountBots:
    account: KnownAccount
    bots: tuple[BotLine, ...]  # largest profit first, then by name
    profits: BotProfits
    cut: bool = False  # 3Commas listed more bots than were read
    error: ThreeCommasError | None = None  # this account did not answer (`all` only)


@dataclass(frozen=True)
class BotsReport:
    accounts: tuple[AccountBots, ...]
    total: BotProfits  # of the accounts that answered

    @property
    def answered(self) -> int:
        return sum(1 for account in self.accounts if account.error is None)


@dataclass(frozen=True)
class DealLine:
    """One active deal: its unrealized result, and what it bought (in the quote currency)."""

    deal_id: int
    pair: str | None  # "USDT_SOL" as 3Commas sent it
    base: str | None  # "SOL"
    quote: str | None  # "USDT"
    bot_name: str | None
    account_name: str | None
    age: timedelta | None
    bought_volume: Decimal | None
    profit_usd: Decimal | None
    profit_percentage: Decimal | None


@dataclass(frozen=True)
class DealsReport:
    deals: tuple[DealLine, ...]  # every active deal, largest unrealized profit first
    total_usd: Decimal  # every deal's unrealized profit added up
    cut: bool = False  # 3Commas listed more deals than were read
    failed: tuple[tuple[KnownAccount, ThreeCommasError], ...] = ()  # `all` only


class BotsService:
    def __init__(self, accounts: AccountService, client: ThreeCommasClient, clock: Clock) -> None:
        self._accounts = accounts
        self._client = client
        self._clock = clock
        self._no_bots_read: dict[str, float] = {}  # API key -> until (monotonic)

    # -- /bots -------------------------------------------------------------------------------

    async def bots(self, user_id: int, target: Target) -> BotsReport:
        """The bots of one account, or of every account (one call per endpoint per account)."""
        credentials = await self._accounts.credentials(user_id)
        accounts = await self._targets(user_id, target)
        found = await self._each(
            credentials, accounts, lambda account: self._account_bots(credentials, account)
        )
        rows = tuple(
            result
            if isinstance(result, AccountBots)
            else AccountBots(account, (), BotProfits(None, None, None), error=result)
            for account, result in zip(accounts, found, strict=True)
        )
        answered = [row.profits for row in rows if row.error is None]
        total = BotProfits(
            today=_sum(p.today for p in answered),
            overall=_sum(p.overall for p in answered),
            unrealized=_sum(p.unrealized for p in answered),
        )
        return BotsReport(rows, total)

    async def _account_bots(self, credentials: Credentials, account: KnownAccount) -> AccountBots:
        dca, grid, stats = await asyncio.gather(
            self._client.bots(credentials, account.account_id),
            self._client.grid_bots(credentials, account.account_id),
            self._client.bot_stats(credentials, account.account_id),
        )
        lines = [_dca_line(bot) for bot in dca if bot.is_enabled is not False]
        lines += [_grid_line(bot) for bot in grid]
        lines.sort(key=_by_profit)
        return AccountBots(account, tuple(lines), bot_profits([stats]), dca.cut or grid.cut)

    # -- /deals ------------------------------------------------------------------------------

    async def deals(self, user_id: int, target: Target) -> DealsReport:
        """The active deals of one account, or of every account (one listing per account)."""
        credentials = await self._accounts.credentials(user_id)
        accounts = await self._targets(user_id, target)
        found = await self._each(
            credentials,
            accounts,
            lambda account: self._client.active_deals(credentials, account.account_id),
        )
        now = self._clock.now()
        lines: list[DealLine] = []
        failed: list[tuple[KnownAccount, ThreeCommasError]] = []
        cut = False
        for account, result in zip(accounts, found, strict=True):
            if isinstance(result, ThreeCommasError):
                failed.append((account, result))
                continue
            cut = cut or result.cut
            lines += [_deal_line(deal, account, now) for deal in result if not deal.closed]
        lines.sort(key=lambda line: (-(line.profit_usd or Decimal(0)), line.deal_id))
        total = sum((line.profit_usd or Decimal(0) for line in lines), Decimal(0))
        return DealsReport(tuple(lines), total, cut, tuple(failed))

    # -- the summary's line ------------------------------------------------------------------

    async def profit_today(self, user_id: int, account_ids: Sequence[int]) -> Decimal | None:
        """The bots' profit today of these accounts, from the same bots/stats calls as /bots
        (shared with it while the client keeps the answer); None when the key cannot read
        bots (remembered for BOTS_READ_MEMORY_SECONDS: no call at all then) or 3Commas did
        not answer, so a refresh never fails for it."""
        if not account_ids:
            return None
        try:
            credentials = await self._accounts.credentials(user_id)
        except ServiceError:  # disconnected while the refresh ran: the refresh tells
            return None
        if self._remembered_without(credentials.api_key):
            return None
        if self._client.requests_free_now(credentials) < len(account_ids):
            return None  # the key's requests of this minute are the refresh's, not this line's
        try:
            stats = await asyncio.gather(
                *(self._client.bot_stats(credentials, a) for a in account_ids)
            )
        except BotsPermissionMissing:
            self._remember_without(credentials.api_key)
            return None
        except ThreeCommasError:
            return None
        self._no_bots_read.pop(credentials.api_key, None)
        return bot_profits(stats).today

    # -- internals ---------------------------------------------------------------------------

    async def _targets(self, user_id: int, target: Target) -> list[KnownAccount]:
        known = await self._accounts.accounts(user_id)
        if target == ALL_ACCOUNTS:
            return sorted(known, key=account_order)
        by_id = {account.account_id: account for account in known}
        account_id = int(target)
        return [by_id.get(account_id) or KnownAccount(account_id, str(account_id))]

    async def _each(
        self,
        credentials: Credentials,
        accounts: Sequence[KnownAccount],
        call: Callable[[KnownAccount], Awaitable[T]],
    ) -> list[T | ThreeCommasError]:
        """`call` for every account at once. One account: its error is raised. Several: an
        account that fails is reported as failed; a key without BOTS_READ, a ban, or every
        account failing raises, as one sentence says it for all."""
        results = await asyncio.gather(*(call(a) for a in accounts), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            if not isinstance(error, ThreeCommasError):
                raise error
            if isinstance(error, BotsPermissionMissing):
                self._remember_without(credentials.api_key)
                raise error
            if isinstance(error, RateLimited) and error.banned:
                raise error
        if errors and (len(accounts) == 1 or len(errors) == len(results)):
            raise errors[0]
        self._no_bots_read.pop(credentials.api_key, None)
        return cast(list[T | ThreeCommasError], results)

    def _remembered_without(self, api_key: str) -> bool:
        until = self._no_bots_read.get(api_key)
        if until is None:
            return False
        if time.monotonic() >= until:
            del self._no_bots_read[api_key]
            return False
        return True

    def _remember_without(self, api_key: str) -> None:
        now = time.monotonic()
        if len(self._no_bots_read) >= MAX_REMEMBERED_KEYS:
            for key in [k for k, until in self._no_bots_read.items() if until <= now]:
                del self._no_bots_read[key]
            if len(self._no_bots_read) >= MAX_REMEMBERED_KEYS:
                self._no_bots_read.pop(next(iter(self._no_bots_read)))
        self._no_bots_read[api_key] = now + BOTS_READ_MEMORY_SECONDS


def _by_profit(line: BotLine) -> tuple[Decimal, str]:
    return -(line.profit if line.profit is not None else Decimal(0)), (line.name or "").casefold()


def _dca_line(bot: DcaBot) -> BotLine:
    return BotLine(
        kind="dca",
        name=bot.name,
        profit=bot.finished_deals_profit_usd,
        active_deals=bot.active_deals_count,
        pairs=tuple(bot.pairs),
    )


def _grid_line(bot: GridBot) -> BotLine:
    profit = bot.current_profit_usd if bot.current_profit_usd is not None else bot.current_profit
    return BotLine(kind="grid", name=bot.name, profit=profit, pairs=(bot.pair,) if bot.pair else ())


def _deal_line(deal: Deal, account: KnownAccount, now: datetime) -> DealLine:
    created = deal.created_at
    age = None
    if created is not None and created.tzinfo is not None:
        age = max(timedelta(0), now - created)
    return DealLine(
        deal_id=deal.id,
        pair=deal.pair,
        base=deal.to_currency,
        quote=deal.from_currency,
        bot_name=deal.bot_name,
        account_name=deal.account_name or account.name,
        age=age,
        bought_volume=deal.bought_volume,
        profit_usd=deal.actual_usd_profit,
        profit_percentage=deal.actual_profit_percentage,
    )
