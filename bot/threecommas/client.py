"""Async client for the signed 3Commas account endpoints.

One aiohttp session serves every user; credentials travel with each call. Per API key the
client keeps a request limiter and a block after 429, so one user's traffic never gets the
whole process banned; every call of the process goes through one budget (budget.py: the IP's
calls a second, people first, a 418 stops them all). Identical calls (a refresh of the same
account, the same coins or the same history range, with the same key) share one upstream call
while it runs, and its answer for `reuse_seconds` after: that is the refresh cooldown, so a view
of data just fetched is answered from it instead of asking 3Commas again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine, Hashable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar, cast
from urllib.parse import urlencode

import aiohttp
import pydantic
import yarl

from bot.config import DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND
from bot.proxies import proxy_for, through
from bot.sliding_window import SlidingWindow
from bot.threecommas.budget import CallBudget
from bot.threecommas.credentials import Credentials
from bot.threecommas.errors import (
    BotsPermissionMissing,
    PermissionDenied,
    RateLimited,
    ThreeCommasError,
    Unavailable,
    UnexpectedResponse,
    error_from_response,
)
from bot.threecommas.models import (
    SUMMARY,
    Account,
    AccountList,
    AccountRef,
    BalancePoint,
    BotStats,
    CoinBalance,
    CoinTable,
    DcaBot,
    Deal,
    GridBot,
    JsonTooDeep,
    Listing,
    parse_json,
)
from bot.threecommas.signing import sign

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=pydantic.BaseModel)
T = TypeVar("T")

API_PREFIX = "/public/api"
PAGE_SIZE = 100
MAX_PAGES = 100  # 10,000 accounts: a guard against a server that never returns a short page
WINDOW = 60.0
# The documented maximum `limit` of each bots list: every list is asked for in pages this long.
BOTS_PAGE = 100
GRID_BOTS_PAGE = 1000
DEALS_PAGE = 1000
# Pages read of one list at most (1,000 DCA bots, 10,000 grid bots or deals); a list going on
# past them comes back `cut`, and the reply says so.
MAX_LIST_PAGES = 10
# `GET /ver1/deals`: the documented values of `scope`, `order` and `order_direction`.
DEAL_SCOPES = frozenset({"active", "finished", "completed", "cancelled", "failed"})
DEAL_ORDERS = frozenset({"created_at", "updated_at", "closed_at", "profit", "profit_percentage"})
ORDER_DIRECTIONS = frozenset({"ASC", "DESC"})
# A page of 100 accounts is a few hundred KB; a larger body would stall the event loop.
MAX_BODY_BYTES = 5 * 2**20
IDLE_SWEEP_INTERVAL = 60.0


class _SharedCall:
    """One upstream call and the callers sharing it; once answered, kept until `kept_until`."""

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.kept_until: float | None = None  # None while the call runs

    def expired(self, now: float) -> bool:
        return self.kept_until is not None and now >= self.kept_until


class _KeyLimiter:
    """The requests of one API key in the last 60 s, plus a block after 429."""

    def __init__(self, limit: int) -> None:
        self.window = SlidingWindow(limit, WINDOW)
        self.blocked_until = 0.0

    def check_block(self, now: float) -> None:
        if now < self.blocked_until:
            raise RateLimited(retry_after=self.blocked_until - now)

    def reserve(self, now: float, max_wait: float) -> float:
        """Reserve the earliest slot that keeps every 60 s window at the limit; return the wait."""
        at = self.window.ready_at(now)
        wait = max(0.0, at - now)
        if wait > max_wait:
            raise RateLimited(retry_after=wait)
        self.window.record(at)
        return wait

    def block(self, now: float, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, now + seconds)

    def idle(self, now: float) -> bool:
        return now >= self.blocked_until and self.window.idle(now)


class ThreeCommasClient:
    def __init__(
        self,
        base_url: str = "https://api.3commas.io",
        *,
        connect_timeout: float = 5.0,
        total_timeout: float = 20.0,
        max_attempts: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        requests_per_minute: int = 100,
        max_retry_after_wait: float = 10.0,
        reuse_seconds: float = 0.0,
        proxies: Mapping[str, str] | None = None,
        max_requests_per_second: float | None = DEFAULT_THREECOMMAS_REQUESTS_PER_SECOND,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._now = now  # the application's clock: when an answer arrived
        # The proxy for 3Commas (Settings.proxies: HTTPS_PROXY and the like), looked up once.
        self._proxy = proxy_for(self._base_url, proxies or {})
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, connect=connect_timeout)
        self._max_attempts = max(1, max_attempts)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._requests_per_minute = max(1, requests_per_minute)
        self._max_retry_after_wait = max_retry_after_wait
        self._session: aiohttp.ClientSession | None = None
        self._limiters: dict[str, _KeyLimiter] = {}
        self._last_sweep = time.monotonic()
        self._reuse_seconds = max(0.0, reuse_seconds)
        self._shared_calls: dict[tuple[Hashable, ...], _SharedCall] = {}
        self._last_shared_sweep = time.monotonic()
        self.budget = CallBudget(max_requests_per_second)

    def __repr__(self) -> str:
        return f"ThreeCommasClient(base_url={self._base_url!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=1000, limit_per_host=0)
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)

    async def close(self) -> None:
        for shared in list(self._shared_calls.values()):
            shared.task.cancel()
        self._shared_calls.clear()
        self.budget.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def requests_per_minute(self) -> int:
        return self._requests_per_minute

    def requests_free_now(self, credentials: Credentials) -> int:
        """How many calls this key may start now without waiting for its per-minute limit."""
        limiter = self._limiter(credentials.api_key)
        return limiter.window.free(time.monotonic())

    # -- endpoints ---------------------------------------------------------------------------

    async def list_accounts(self, credentials: Credentials) -> AccountList:
        """Every account of the key; a row that is no usable account is left out and counted,
        so one odd account does not stop the others."""
        accounts = AccountList()
        for page in range(1, MAX_PAGES + 1):
            data = await self._request(
                credentials, "GET", "/ver1/accounts", {"page": page, "per_page": PAGE_SIZE}
            )
            rows = _expect_list(data)
            for row in rows:
                try:
                    accounts.append(_validate(Account, row))
                except UnexpectedResponse as error:
                    logger.warning("left out an account 3Commas listed: %s", error)
                    accounts.unreadable += 1
            if len(rows) < PAGE_SIZE:
                break
        return accounts

    async def get_account(self, credentials: Credentials, account_id: AccountRef) -> Account:
        """One account as 3Commas last knew it; `summary`: the accounts in its summary added up."""
        path = f"/ver1/accounts/{_account_segment(account_id)}"
        data = await self._request(credentials, "GET", path)
        return _validate(Account, _single_object(data))

    async def load_balances(self, credentials: Credentials, account_id: int) -> Account:
        """Refresh from the exchange; callers asking at once for the same account share one call."""
        return await self._shared(
            ("load_balances", credentials, int(account_id)),
            lambda: self._load_balances_once(credentials, int(account_id)),
        )

    async def account_table_data(
        self, credentials: Credentials, account_id: AccountRef
    ) -> CoinTable:
        """One row per coin of an account, or of all of them with `summary`, and when they
        arrived (a reused answer keeps its moment); calls asking at once for the same rows
        share one upstream call."""
        path = f"/ver1/accounts/{_account_segment(account_id)}/account_table_data"

        async def fetch() -> CoinTable:
            data = await self._request(credentials, "POST", path)
            rows = tuple(_validate_all(CoinBalance, _expect_list(data)))
            return CoinTable(rows, self._now())

        return await self._shared(("POST", credentials, path), fetch)

    async def balance_chart_data(
        self,
        credentials: Credentials,
        account_id: AccountRef,
        date_from: datetime,
        date_to: datetime | None = None,
    ) -> list[BalancePoint]:
        """The balance history of an account (or `summary`), oldest first; calls asking at once
        for the same range share one upstream call."""
        query: dict[str, str] = {"date_from": date_from.isoformat()}
        if date_to is not None:
            query["date_to"] = date_to.isoformat()
        path = f"/ver1/accounts/{_account_segment(account_id)}/balance_chart_data"

        async def fetch() -> list[BalancePoint]:
            data = await self._request(credentials, "GET", path, query)
            return _validate_all(BalancePoint, _expect_list(data))

        return await self._shared(("GET", credentials, path, *query.values()), fetch)

    # -- bots and deals (permission BOTS_READ; a 403 is BotsPermissionMissing) ---------------

    async def bots(self, credentials: Credentials, account_id: int) -> Listing[DcaBot]:
        """The enabled DCA bots of an account, every page; calls asking at once (or within
        `reuse_seconds`) for the same account share one upstream call per page."""
        query = {"account_id": int(account_id), "scope": "enabled"}
        return await self._shared(
            ("bots", credentials, int(account_id)),
            lambda: self._listing(credentials, "/ver1/bots", query, DcaBot, BOTS_PAGE),
        )

    async def grid_bots(self, credentials: Credentials, account_id: int) -> Listing[GridBot]:
        """The grid bots of an account, every page, shared like `bots`."""
        query = {"account_id": int(account_id)}
        return await self._shared(
            ("grid_bots", credentials, int(account_id)),
            lambda: self._listing(credentials, "/ver1/grid_bots", query, GridBot, GRID_BOTS_PAGE),
        )

    async def bot_stats(self, credentials: Credentials, account_id: int | None) -> BotStats:
        """The profit of an account's DCA bots (None: of every bot of the key): today, overall
        and the active deals'. /bots and the summary's line ask the same call: they share it."""
        query = {} if account_id is None else {"account_id": int(account_id)}

        async def fetch() -> BotStats:
            data = await self._bots_request(credentials, "/ver1/bots/stats", query)
            return _validate(BotStats, data)

        key = None if account_id is None else int(account_id)
        return await self._shared(("bots/stats", credentials, key), fetch)

    async def active_deals(self, credentials: Credentials, account_id: int) -> Listing[Deal]:
        """The active deals of an account, every page, shared like `bots`."""
        query = {"account_id": int(account_id), "scope": "active"}
        return await self._shared(
            ("deals/active", credentials, int(account_id)),
            lambda: self._listing(credentials, "/ver1/deals", query, Deal, DEALS_PAGE),
        )

    async def deals_page(
        self,
        credentials: Credentials,
        *,
        account_id: int | None = None,
        bot_id: int | None = None,
        scope: str | None = None,
        order: str | None = None,
        order_direction: str | None = None,
        limit: int = DEALS_PAGE,
        offset: int = 0,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> Listing[Deal]:
        """One page of `GET /ver1/deals`, asked every time (never shared: a poll must see now).

        `from`/`to` filter by creation time; to find the deals closed since a moment, order by
        `closed_at` DESC and page (offset) until a deal is older than the mark."""
        if scope is not None and scope not in DEAL_SCOPES:
            raise ValueError(f"scope must be one of {sorted(DEAL_SCOPES)}")
        if order is not None and order not in DEAL_ORDERS:
            raise ValueError(f"order must be one of {sorted(DEAL_ORDERS)}")
        if order_direction is not None and order_direction not in ORDER_DIRECTIONS:
            raise ValueError("order_direction must be ASC or DESC")
        if not 1 <= limit <= DEALS_PAGE or offset < 0:
            raise ValueError(f"limit must be 1 to {DEALS_PAGE} and offset 0 or more")
        query: dict[str, Any] = {}
        for name, value in (
            ("account_id", account_id),
            ("bot_id", bot_id),
            ("scope", scope),
            ("order", order),
            ("order_direction", order_direction),
            ("from", created_from.isoformat() if created_from else None),
            ("to", created_to.isoformat() if created_to else None),
        ):
            if value is not None:
                query[name] = value
        query.update(limit=limit, offset=offset)
        data = await self._bots_request(credentials, "/ver1/deals", query)
        return _lenient(Deal, _expect_list(data))

    # -- internals ---------------------------------------------------------------------------

    async def _bots_request(
        self, credentials: Credentials, path: str, query: Mapping[str, Any]
    ) -> Any:
        """A GET of a bots or deals endpoint: a 403 there means the key lacks BOTS_READ."""
        try:
            return await self._request(credentials, "GET", path, query)
        except PermissionDenied as error:
            raise BotsPermissionMissing(
                status=error.status,
                code=error.code,
                description=error.description,
                permission="BOTS_READ",
            ) from None

    async def _listing(
        self,
        credentials: Credentials,
        path: str,
        query: Mapping[str, Any],
        model: type[M],
        page_size: int,
    ) -> Listing[M]:
        """Every row of a list paged with limit/offset, at most MAX_LIST_PAGES pages."""
        rows: Listing[M] = Listing()
        for page in range(MAX_LIST_PAGES):
            paged = {**query, "limit": page_size, "offset": page * page_size}
            data = _expect_list(await self._bots_request(credentials, path, paged))
            read = _lenient(model, data)
            rows.extend(read)
            rows.unreadable += read.unreadable
            if len(data) < page_size:
                return rows
        rows.cut = True
        logger.warning("%s went on past %d pages: the rest is left out", path, MAX_LIST_PAGES)
        return rows

    async def _load_balances_once(self, credentials: Credentials, account_id: int) -> Account:
        path = f"/ver1/accounts/{account_id}/load_balances"
        data = await self._request(credentials, "POST", path)
        return _validate(Account, _single_object(data))

    async def _shared(
        self, key: tuple[Hashable, ...], call: Callable[[], Coroutine[Any, Any, T]]
    ) -> T:
        """Run `call` once for every caller asking with the same key while it runs, and for
        `reuse_seconds` after it answered (a failure is not kept: the next caller asks again)."""
        shared = self._shared_calls.get(key)
        if shared is None or shared.expired(time.monotonic()):
            task = asyncio.create_task(call())
            shared = self._shared_calls[key] = _SharedCall(task)
            task.add_done_callback(lambda done: self._settle_shared(key, done))
        elif not shared.task.done() and self.budget.for_person():
            self.budget.promote(shared.task)  # started in the background: a person waits for it now
        # shield: a caller that is cancelled must not cancel the call others wait on.
        return cast(T, await asyncio.shield(shared.task))

    def _settle_shared(self, key: tuple[Hashable, ...], done: asyncio.Task[Any]) -> None:
        shared = self._shared_calls.get(key)
        failed = done.cancelled() or done.exception() is not None  # marks it retrieved too
        if shared is None or shared.task is not done:
            return
        if failed or self._reuse_seconds <= 0:
            del self._shared_calls[key]
            return
        now = time.monotonic()
        shared.kept_until = now + self._reuse_seconds
        if now - self._last_shared_sweep >= self._reuse_seconds:
            self._last_shared_sweep = now
            for old in [k for k, kept in self._shared_calls.items() if kept.expired(now)]:
                del self._shared_calls[old]

    def _limiter(self, api_key: str) -> _KeyLimiter:
        now = time.monotonic()
        if now - self._last_sweep >= IDLE_SWEEP_INTERVAL:
            self._last_sweep = now
            for idle_key in [k for k, lim in self._limiters.items() if lim.idle(now)]:
                del self._limiters[idle_key]
        limiter = self._limiters.get(api_key)
        if limiter is None:
            limiter = self._limiters[api_key] = _KeyLimiter(self._requests_per_minute)
        return limiter

    async def _request(
        self,
        credentials: Credentials,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one signed call with retries; return the parsed JSON (floats as Decimal)."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("ThreeCommasClient.start() was not called")
        signed_path = API_PREFIX + path
        if query:
            signed_path += "?" + urlencode(query)
        headers = {
            "APIKEY": credentials.api_key,
            "Signature": sign(signed_path, credentials.secret),
        }
        url = yarl.URL(self._base_url + signed_path, encoded=True)

        skip_block = False
        attempt = 0
        while True:
            attempt += 1
            limiter = self._limiter(credentials.api_key)
            self.budget.check_ban()
            if not skip_block:
                limiter.check_block(time.monotonic())
            skip_block = False
            wait = limiter.reserve(time.monotonic(), self._max_retry_after_wait)
            if wait > 0:
                await asyncio.sleep(wait)
            await self.budget.acquire()
            sent_at = time.monotonic()

            error: ThreeCommasError
            status: int | None
            try:
                response_status, body, response_headers = await self._send(
                    session, method, url, headers
                )
            except TimeoutError:
                error = Unavailable("3Commas did not answer in time")
                status = None
            except aiohttp.ClientError as exc:
                error = Unavailable(f"connection to 3Commas failed ({type(exc).__name__})")
                status = None
            else:
                status = response_status
                try:
                    data = _answer_data(status, body, response_headers)
                except ThreeCommasError as answer_error:
                    error = answer_error
                else:
                    logger.debug("%s %s -> %s after %d attempt(s)", method, path, status, attempt)
                    return data
            logger.debug(
                "%s %s -> %s (attempt %d): %s", method, path, status, attempt, type(error).__name__
            )

            if isinstance(error, RateLimited) and error.banned:
                stated = error.retry_after if "Retry-After" in response_headers else None
                left = self.budget.ban(stated, sent_at)
                logger.warning("3Commas banned this IP: every call stops for %.0f s", left)
                raise RateLimited(
                    retry_after=left, banned=True, status=error.status, code=error.code
                ) from None
            if isinstance(error, RateLimited):
                limiter.block(time.monotonic(), error.retry_after)
                if self.budget.rate_limited(credentials.api_key, sent_at):
                    logger.warning("several keys answered 429 at once: slowing every call")
                short = error.retry_after <= self._max_retry_after_wait
                if short and attempt < self._max_attempts:
                    await asyncio.sleep(error.retry_after)
                    skip_block = True  # this call waited out the block itself
                    continue
                raise error
            if _is_transient(error) and attempt < self._max_attempts:
                ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
                await asyncio.sleep(random.uniform(0, ceiling))
                continue
            raise error

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: yarl.URL,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes | None, Mapping[str, str]]:
        """The status, the body (None when over MAX_BODY_BYTES) and the headers."""
        proxy, proxy_headers, headers = through(self._proxy, str(url), dict(headers))
        async with session.request(
            method,
            url,
            headers=headers,
            allow_redirects=False,
            proxy=proxy,
            proxy_headers=proxy_headers,
        ) as resp:
            body = await _read_capped(resp)
            return resp.status, body, resp.headers


async def _read_capped(response: aiohttp.ClientResponse) -> bytes | None:
    """The body, read only up to MAX_BODY_BYTES: past that, None and the connection dropped."""
    body = bytearray()
    async for chunk in response.content.iter_any():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            response.close()
            return None
    return bytes(body)


def _answer_data(status: int, body: bytes | None, headers: Mapping[str, str]) -> Any:
    """The parsed JSON of a 2xx answer; the error of any other, or of a body we cannot read."""
    if not 200 <= status < 300:
        raise error_from_response(status, body or b"", headers)
    if body is None:
        limit = MAX_BODY_BYTES // 2**20
        raise UnexpectedResponse(f"3Commas sent a body over {limit} MB", status=status)
    try:
        return parse_json(body)
    except JsonTooDeep:
        raise UnexpectedResponse("3Commas sent JSON nested too deeply", status=status) from None
    except (ValueError, UnicodeDecodeError):
        raise UnexpectedResponse("3Commas sent a body that is not JSON", status=status) from None


def _is_transient(error: ThreeCommasError) -> bool:
    """5xx, timeouts, connection errors and unreadable bodies; 4xx never."""
    if not isinstance(error, Unavailable):
        return False
    return error.status is None or error.status >= 500 or isinstance(error, UnexpectedResponse)


def _expect_list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise UnexpectedResponse("3Commas sent an object where a list was expected")
    return data


def _account_segment(account_id: AccountRef) -> str:
    return SUMMARY if account_id == SUMMARY else str(int(account_id))


def _single_object(data: Any) -> Any:
    """load_balances answers with an object, or sometimes a one-element array."""
    if isinstance(data, list) and len(data) == 1:
        return data[0]
    return data


def _validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        # The ValidationError text can quote input values (the Account's api_key): drop it.
        fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})[:5]
        raise UnexpectedResponse(
            f"3Commas sent an unexpected {model.__name__} (fields: {', '.join(fields) or '-'})"
        ) from None


def _lenient(model: type[M], rows: list[Any]) -> Listing[M]:
    """The rows that are a usable `model`; the others are left out and counted."""
    read: Listing[M] = Listing()
    for row in rows:
        try:
            read.append(_validate(model, row))
        except UnexpectedResponse as error:
            logger.warning("left out a row 3Commas listed: %s", error)
            read.unreadable += 1
    return read


def _validate_all(model: type[M], rows: list[Any]) -> list[M]:
    return [_validate(model, row) for row in rows]
