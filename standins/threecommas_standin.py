"""A local stand-in for the 3Commas account API (aiohttp.web), with injectable faults.

It verifies signatures like 3Commas does: over the raw path, query and body as received, HMAC
hex compared case-insensitively, RSA checked with the public half of the registered key.
Used by the tests, the sandbox mode and the benchmarks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.threecommas.signing import KeyType, key_type_of, load_rsa_private_key
from standins.bots_and_deals import (
    DEMO_CLOSE_CYCLE,
    BadQuery,
    BotsBook,
    DealClose,
    new_ids,
)

API_PREFIX = "/public/api/ver1"
PUBLIC_KEY_PEM = "-----BEGIN PUBLIC KEY-----"
MAX_RECORDED = 10_000

# The example Account of the load_balances page, field for field (its api_key included: the
# client must drop it).
SEED_ACCOUNT: dict[str, Any] = {
    "id": 12345678,
    "auto_balance_period": 12,
    "auto_balance_portfolio_id": None,
    "auto_balance_currency_change_limit": None,
    "autobalance_enabled": False,
    "hedge_mode_available": False,
    "hedge_mode_enabled": False,
    "is_locked": False,
    "smart_trading_supported": True,
    "smart_selling_supported": True,
    "available_for_trading": {},
    "stats_supported": True,
    "trading_supported": True,
    "market_buy_supported": True,
    "market_sell_supported": True,
    "conditional_buy_supported": True,
    "bots_allowed": True,
    "bots_ttp_allowed": True,
    "bots_tsl_allowed": True,
    "gordon_bots_available": True,
    "multi_bots_allowed": True,
    "created_at": "2023-06-19T16:50:57.303Z",
    "updated_at": "2023-06-19T17:16:29.008Z",
    "last_auto_balance": None,
    "fast_convert_available": True,
    "grid_bots_allowed": True,
    "api_key_invalid": False,
    "market_icon": "https://3commas.io/img/exchanges/binance.png",
    "deposit_enabled": True,
    "include_in_summary": True,
    "supported_market_types": ["spot"],
    "primary_display_currency_profit_percentage": {"currency": "USD", "amount": "9.21"},
    "primary_display_currency_profit": {
        "currency": "USD",
        "amount": "2.631561723423248885262841890509448379906959328",
    },
    "day_profit_primary_display_currency_percentage": {"currency": "USD", "amount": "-2.1226"},
    "day_profit_primary_display_currency": {
        "currency": "USD",
        "amount": "-0.6768638169586133911173202842590701388480615227093",
    },
    "primary_display_currency_amount": {
        "currency": "USD",
        "amount": "31.210986753244348885262841890509448379906959328",
    },
    # A JSON number in the real answer: kept as Decimal and written out unquoted.
    "total_primary_display_currency_profit": {
        "currency": "USD",
        "amount": Decimal("7.210986753244349"),
    },
    "available_include_in_summary": True,
    "api_key": "yzNYzv8a0VEBwsrhc3MDpHZ7XMqa1vJqSqHzpfjjKpdFF9SbQsVQKRl3hKNyZU45",
    "name": "My Binance US",
    "auto_balance_method": None,
    "auto_balance_error": None,
    "customer_id": None,
    "subaccount_name": None,
    "lock_reason": None,
    "btc_amount": "0.00048979846479077665182507861307944101622368",
    "usd_amount": "31.210986753244348885262841890509448379906959328",
    "day_profit_btc": "-0.000003149786432365067713059300253892317108212763457088",
    "day_profit_usd": "-0.6768638169586133911173202842590701388480615227093",
    "day_profit_btc_percentage": "-0.64",
    "day_profit_usd_percentage": "-2.12",
    "btc_profit": "0.00000694712754069765182507861307944101622368",
    "usd_profit": "2.631561723423248885262841890509448379906959328",
    "usd_profit_percentage": "9.21",
    "btc_profit_percentage": "1.44",
    "total_btc_profit": "-0.00033874027595461834",
    "total_usd_profit": "7.210986753244349",
    "pretty_display_type": "BinanceUs",
    "exchange_name": "Binance US Spot",
    "market_code": "binance_us",
    "api_keys_state": "ok",
}

EXCHANGE_KEYS_INVALID_BODY = {
    "error_description": "API keys are no longer valid or incorrect.",
    "error": "invalid_api_key",
}


class JsonNumber(str):
    """A number written into the JSON answer exactly as this text (`9.52E-5` stays so)."""


CENT = Decimal("0.01")
SATOSHI = Decimal("0.00000001")
DEMO_BTC_PRICE = Decimal("65000")

# (code, name, share of the account, price in USD, 24 h change in %): about 12 coins, the last
# ones under 1% of the account.
DEMO_COINS: tuple[tuple[str, str, Decimal, Decimal, Decimal], ...] = tuple(
    (code, name, Decimal(share), Decimal(price), Decimal(change))
    for code, name, share, price, change in (
        ("BTC", "Bitcoin", "0.42", "65000", "-1.2"),
        ("ETH", "Ethereum", "0.21", "3400", "2.35"),
        ("USDT", "Tether", "0.146", "1", "0.01"),
        ("SOL", "Solana", "0.08", "150", "4.1"),
        ("BNB", "BNB", "0.05", "580", "-0.6"),
        ("XRP", "XRP", "0.035", "0.52", "1.8"),
        ("ADA", "Cardano", "0.025", "0.45", "-2.4"),
        ("DOGE", "Dogecoin", "0.018", "0.12", "6.9"),
        ("LINK", "Chainlink", "0.009", "14", "-0.3"),
        ("DOT", "Polkadot", "0.006", "6.5", "0.9"),
        ("SHIB", "Shiba Inu", "0.001", "0.0000175", "3.3"),
    )
)
# Dust, as 3Commas sends it: JSON numbers in exponent notation.
DEMO_DUST: tuple[dict[str, Any], ...] = (
    {
        "currency_code": "BTT",
        "currency_name": "BitTorrent",
        "position": JsonNumber("100.2"),
        "usd_value": JsonNumber("9.52E-5"),
        "btc_value": JsonNumber("1.46E-9"),
        "percentage": JsonNumber("0.0"),
        "current_price_usd": JsonNumber("9.5E-7"),
        "day_change_percent": JsonNumber("-0.52"),
        "day_change_percent_usd": JsonNumber("-0.52"),
    },
    {
        "currency_code": "LUNC",
        "currency_name": "Terra Classic",
        "position": JsonNumber("3.88892E-6"),
        "usd_value": JsonNumber("3.5E-10"),
        "btc_value": JsonNumber("5.38E-15"),
        "percentage": JsonNumber("0.0"),
        "current_price_usd": JsonNumber("9.0E-5"),
        "day_change_percent": JsonNumber("0"),
        "day_change_percent_usd": JsonNumber("0"),
    },
)

HISTORY_DAYS = 400
# (days ago, share of today's balance): two deposits and one withdrawal in the demo history.
DEMO_TRANSFERS: dict[int, Decimal] = {
    350: Decimal("0.3"),
    75: Decimal("0.2"),
    18: Decimal("-0.1"),
}


def _significant(value: Decimal, digits: int) -> Decimal:
    if value.is_zero():
        return value
    return value.quantize(Decimal(1).scaleb(value.adjusted() - digits + 1))


def demo_coins(
    total_usd: Decimal, total_btc: Decimal | None = None, btc_price: Decimal = DEMO_BTC_PRICE
) -> list[dict[str, Any]]:
    """account_table_data rows of an account worth `total_usd`, alphabetical. With `total_btc`
    the coins' BTC values add up to it, as if valued at the moment of the account's balance;
    without, they are valued at `btc_price` (USD per BTC), as live 3Commas values the rows at
    the prices of the call, and the account's `btc_amount` at those of its last update.

    Numbers come as strings and as JSON numbers, as 3Commas mixes them.
    """
    rows: list[dict[str, Any]] = [dict(row) for row in DEMO_DUST]
    for index, (code, name, share, price, change) in enumerate(DEMO_COINS):
        usd = (total_usd * share).quantize(SATOSHI)
        position = (usd / price).quantize(Decimal("1e-12"))
        btc = (usd / btc_price if total_btc is None else total_btc * share).quantize(
            Decimal("1e-12")
        )
        percentage = (share * 100).quantize(CENT)
        as_number = index % 2 == 1
        values = (position, usd, btc, percentage, price, change)
        position_v, usd_v, btc_v, percentage_v, price_v, change_v = (
            value if as_number else str(value) for value in values
        )
        rows.append(
            {
                "currency_code": code,
                "currency_name": name,
                "currency_slug": name.lower().replace(" ", "-"),
                "position": position_v,
                "position_available": position_v,
                "on_orders": "0",
                "usd_value": usd_v,
                "btc_value": btc_v,
                "percentage": percentage_v,
                "current_price_usd": price_v,
                "day_change_percent": change_v,
                "day_change_percent_usd": change_v,
                "position_type": "long",
                "is_wallet": False,
            }
        )
    return sorted(rows, key=lambda row: str(row["currency_code"]))


def demo_history(
    account_id: int, final_usd: Decimal, today: date, now: datetime | None = None
) -> list[dict[str, Any]]:
    """balance_chart_data rows as 3Commas stamps them: each the balance at its moment. One a
    day at 00:00 UTC for HISTORY_DAYS days up to `today`, and, given `now` (later), one at
    `now` with the balance `final_usd`; without `now` the 00:00 row of `today` has it. With
    DEMO_TRANSFERS. Seeded by the account id: the same each run."""
    rng = random.Random(account_id)
    usd = final_usd.quantize(CENT)
    transfers = {
        ago: _significant(final_usd * share, 2).quantize(CENT)
        for ago, share in DEMO_TRANSFERS.items()
    }
    floor = (final_usd / 20).quantize(CENT)
    rows: list[dict[str, Any]] = []
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    if now is not None and now > midnight:
        rows.append(_history_row(now, usd, Decimal(0), DEMO_BTC_PRICE))
        usd = _before(usd, Decimal(0), rng, floor)
    for days_ago in range(HISTORY_DAYS):
        moment = midnight - timedelta(days=days_ago)
        deposit = transfers.get(days_ago, Decimal(0))
        btc_price = DEMO_BTC_PRICE * (1 + Decimal(str(round(math.sin(days_ago / 45) / 5, 4))))
        rows.append(_history_row(moment, usd, deposit, btc_price))
        usd = _before(usd, deposit, rng, floor)
    rows.reverse()
    return rows


def _history_row(
    moment: datetime, usd: Decimal, deposit: Decimal, btc_price: Decimal
) -> dict[str, Any]:
    return {
        "date": int(moment.timestamp()),
        "usd": str(usd),
        "btc": (usd / btc_price).quantize(SATOSHI),
        "usd_deposit_amount": deposit,
        "btc_deposit_amount": (deposit / btc_price).quantize(SATOSHI),
    }


def _before(usd: Decimal, deposit: Decimal, rng: random.Random, floor: Decimal) -> Decimal:
    """The balance at the row before: this row's deposit undone, then a market move."""
    move = Decimal(str(round(rng.gauss(0.0008, 0.015), 5)))
    return max(floor, ((usd - deposit) / (1 + move)).quantize(CENT))


def _summed(groups: list[list[dict[str, Any]]], key: str, fields: Sequence[str]) -> list[Any]:
    """Rows of several accounts added up per `key` (a coin code, a date), as Decimals."""
    merged: dict[Any, dict[str, Any]] = {}
    for rows in groups:
        for row in rows:
            into = merged.setdefault(row[key], {**row, **dict.fromkeys(fields, Decimal(0))})
            for name in fields:
                into[name] += Decimal(str(row.get(name) or 0))
    return list(merged.values())


def demo_account(account_id: int, name: str, **overrides: Any) -> dict[str, Any]:
    """A full Account dict like 3Commas sends, from the seed example, with overrides applied."""
    account = copy.deepcopy(SEED_ACCOUNT)
    account.update(id=account_id, name=name)
    account.update(overrides)
    return account


class Fault(StrEnum):
    INVALID_API_KEY = "invalid_api_key"
    SIGNATURE_INVALID = "signature_invalid"
    ACCESS_DENIED = "access_denied"
    NOT_FOUND = "not_found"
    EXCHANGE_KEYS_INVALID = "exchange_keys_invalid"
    RATE_LIMITED = "rate_limited"
    BANNED = "banned"
    SERVER_ERROR = "server_error"
    BAD_GATEWAY = "bad_gateway"
    TIMEOUT = "timeout"
    RESET = "reset"
    TRUNCATED = "truncated"
    HTML = "html"
    HUGE_BODY = "huge_body"
    DEEP_NESTING = "deep_nesting"


TRANSIENT_FAULTS: tuple[Fault, ...] = (
    Fault.SERVER_ERROR,
    Fault.BAD_GATEWAY,
    Fault.RESET,
    Fault.TRUNCATED,
    Fault.HTML,
)


@dataclass
class RecordedRequest:
    method: str
    path_qs: str
    api_key: str | None
    status: int = 0  # 0 until answered: stays 0 when the client gave up first
    arrived_at: float = field(default_factory=time.monotonic)
    answered_at: float | None = None  # when the answer was ready to be written

    @property
    def held(self) -> float | None:
        """Seconds this stand-in took to answer: its latency as it came out, not as set."""
        return None if self.answered_at is None else self.answered_at - self.arrived_at


@dataclass
class _Injection:
    fault: Fault
    remaining: int
    account_id: int | None
    retry_after: float | None
    path: str | None = None  # only requests whose path contains this


@dataclass
class _Key:
    hmac_secret: str | None
    public_key: rsa.RSAPublicKey | None
    accounts: dict[int, dict[str, Any]]
    # rows set by a test, by account id or "summary", in place of the demo's
    coins: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    bots: BotsBook | None = None  # set by add_key

    @property
    def book(self) -> BotsBook:
        assert self.bots is not None
        return self.bots


_DECIMAL_MARK = re.compile(r'"@@decimal:([-+0-9.eE]+|NaN|-?Infinity)@@"')


def _marked(data: Any) -> Any:
    if isinstance(data, Decimal | JsonNumber):
        return f"@@decimal:{data}@@"
    if isinstance(data, dict):
        return {k: _marked(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_marked(v) for v in data]
    return data


def _dumps(data: Any) -> str:
    """JSON where Decimal values become JSON numbers with every digit (json cannot do that)."""
    return _DECIMAL_MARK.sub(r"\1", json.dumps(_marked(data)))


def _json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=_dumps(data), status=status, content_type="application/json")


def _error(status: int, code: str, description: str) -> web.Response:
    return _json_response({"error": code, "error_description": description}, status)


def _html(status: int) -> web.Response:
    page = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
    return web.Response(text=page, status=status, content_type="text/html")


class ThreeCommasStandIn:
    def __init__(
        self,
        *,
        latency: float = 0.0,
        rate_limit_per_minute: int | None = None,
        ip_limit_per_second: int | None = None,
    ) -> None:
        self.latency = latency
        self.rate_limit_per_minute = rate_limit_per_minute
        # Requests from one IP address in any second (3Commas has published 15); None: no limit.
        # Past it: 429 with Retry-After 1, counted in ip_429s.
        self.ip_limit_per_second = ip_limit_per_second
        self.ip_429s = 0
        self.ip_peak_per_second = 0  # the most requests from one IP in any second so far
        self.rate_limit_block = 300.0  # seconds a key stays blocked after exceeding the limit
        self.timeout_delay = 30.0  # how long a TIMEOUT fault keeps the client waiting
        self.load_balances_as_array = False  # answer load_balances with a one-element array
        self.today: date | None = None  # the last day of the demo history; None: today in UTC
        # The BTC price (in USD) the demo's coin rows are valued at; None: their BTC values add
        # up to their account's btc_amount. Live 3Commas values the rows at the prices of the
        # call and the account at those of its last update: set a price to see the two differ.
        self.coin_btc_price: Decimal | None = None
        self.huge_body_bytes = 16 * 2**20  # the account name's length in a HUGE_BODY answer
        self.nesting_depth = 100_000  # how deep a DEEP_NESTING answer nests its arrays
        self.requests: list[RecordedRequest] = []
        self._arrival = asyncio.Event()  # set and replaced on each request's arrival
        self.base_url = ""
        self._keys: dict[str, _Key] = {}
        self._injections: list[_Injection] = []
        self._random_rate = 0.0
        self._random = random.Random(0)
        self._random_faults: tuple[Fault, ...] = TRANSIENT_FAULTS
        self._windows: dict[str, collections.deque[float]] = {}
        self._ip_windows: dict[str, collections.deque[float]] = {}
        self._blocked_until: dict[str, float] = {}
        self._holds: dict[str, asyncio.Event] = {}
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        # The clock of the bots' side (deal times, "today"): a test may set its own.
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._ids = new_ids()
        self.closed_deals: list[dict[str, Any]] = []  # every deal closed here, in order
        self._deal_closed = asyncio.Event()  # set and replaced on each close
        self._closing_task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        bound_port = server.sockets[0].getsockname()[1]
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        self._stopping.set()
        if self._closing_task is not None:
            self._closing_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._closing_task
            self._closing_task = None
        for gate in self._holds.values():
            gate.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- configuration -----------------------------------------------------------------------

    def add_key(self, api_key: str, secret: str, accounts: list[dict[str, Any]]) -> None:
        """`secret`: an HMAC secret, an RSA private key, or the public key of a self-generated
        key (PEM, as the user pastes it into 3Commas)."""
        if PUBLIC_KEY_PEM in secret:
            self._keys[api_key] = _Key(None, _rsa_public_key(secret), {})
        elif key_type_of(secret) is KeyType.RSA:
            # Like 3Commas: keep only the public key.
            public = load_rsa_private_key(secret).public_key()
            self._keys[api_key] = _Key(None, public, {})
        else:
            self._keys[api_key] = _Key(secret, None, {})
        self._keys[api_key].bots = BotsBook(lambda: self.now(), self._ids)
        self.set_accounts(api_key, accounts)

    def remove_key(self, api_key: str) -> None:
        self._keys.pop(api_key, None)

    def set_accounts(self, api_key: str, accounts: list[dict[str, Any]]) -> None:
        self._keys[api_key].accounts = {int(a["id"]): copy.deepcopy(a) for a in accounts}

    def set_coins(self, api_key: str, account: int | str, rows: list[dict[str, Any]]) -> None:
        """account_table_data of `account` (an id or "summary") from now on, instead of the demo's."""
        self._keys[api_key].coins[str(account)] = copy.deepcopy(rows)

    def set_history(self, api_key: str, account: int | str, rows: list[dict[str, Any]]) -> None:
        """Every balance_chart_data row of `account` (an id or "summary"), instead of the demo's."""
        self._keys[api_key].history[str(account)] = copy.deepcopy(rows)

    def coins(self, api_key: str, account: int | str) -> list[dict[str, Any]]:
        """The account_table_data rows served for `account` (an id or "summary")."""
        key = self._keys[api_key]
        if str(account) in key.coins:
            return copy.deepcopy(key.coins[str(account)])
        if account == "summary":
            groups = [self.coins(api_key, i) for i in _in_summary(key)]
            rows = _summed(groups, "currency_code", ("position", "usd_value", "btc_value"))
            total = sum((row["usd_value"] for row in rows), Decimal(0))
            for row in rows:
                row["percentage"] = (row["usd_value"] * 100 / total).quantize(CENT) if total else 0
            return rows
        account_data = key.accounts[int(account)]
        if self.coin_btc_price is not None:
            return demo_coins(_usd_amount(account_data), btc_price=self.coin_btc_price)
        return demo_coins(_usd_amount(account_data), _btc_amount(account_data))

    def history(
        self, api_key: str, account: int | str, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Every balance_chart_data row of `account` (an id or "summary"), oldest first; the
        demo's end with a row at `now` (the moment asked for) holding the balance."""
        key = self._keys[api_key]
        if str(account) in key.history:
            return copy.deepcopy(key.history[str(account)])
        if account == "summary":
            groups = [self.history(api_key, i, now) for i in _in_summary(key)]
            fields = ("usd", "btc", "usd_deposit_amount", "btc_deposit_amount")
            return sorted(_summed(groups, "date", fields), key=lambda row: int(row["date"]))
        today = self.today or datetime.now(UTC).date()
        return demo_history(int(account), _usd_amount(key.accounts[int(account)]), today, now)

    # -- bots and deals ----------------------------------------------------------------------

    def set_bots_read(self, api_key: str, allowed: bool) -> None:
        """Whether the key has BOTS_READ: without, every bots and deals call answers 403."""
        self._keys[api_key].book.bots_read = allowed

    def book(self, api_key: str, account_id: int | None = None) -> BotsBook:
        """The bots side of a key; with `account_id`, its demo data made if never asked for."""
        key = self._keys[api_key]
        if account_id is not None:
            self._ensure_bots(key, account_id)
        return key.book

    def set_bots(
        self,
        api_key: str,
        account_id: int,
        bots: list[dict[str, Any]],
        grid_bots: list[dict[str, Any]] | None = None,
        deals: list[dict[str, Any]] | None = None,
        today_usd: Decimal = Decimal(0),
    ) -> None:
        """An account's DCA bots (and grid bots, deals, bots' profit of today) instead of the
        demo's; each given list replaces the one served."""
        book = self._keys[api_key].book
        book.dca_bots[account_id] = copy.deepcopy(bots)
        book.grid_bots[account_id] = copy.deepcopy(grid_bots or [])
        book.deals[account_id] = copy.deepcopy(deals or [])
        book.today_usd[account_id] = today_usd
        book.recount(account_id)

    def close_deal(
        self, api_key: str, deal_id: int, kind: DealClose, usd_profit: Decimal | None = None
    ) -> dict[str, Any]:
        """Close an active deal the way `kind` says (its 3Commas `status`); `usd_profit`
        defaults to what such a close makes. Returns the deal as now served."""
        deal = self._keys[api_key].book.close_deal(deal_id, DealClose(kind), usd_profit)
        self._note_closed(deal)
        return copy.deepcopy(deal)

    def close_deals_every(
        self, seconds: float, kinds: Sequence[DealClose] = DEMO_CLOSE_CYCLE
    ) -> None:
        """Timer mode: every `seconds`, each key with BOTS_READ closes its oldest active deal
        (the ways of `kinds` in turn) and its bot starts a new one, so a feed has news."""
        if self._closing_task is not None:
            self._closing_task.cancel()
        self._closing_task = asyncio.create_task(self._close_on_timer(seconds, tuple(kinds)))

    async def wait_for_closed_deals(
        self,
        count: int,
        timeout: float = 20.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until `count` deals have closed here."""
        async with asyncio.timeout(timeout):
            while len(self.closed_deals) < count:
                await self._deal_closed.wait()

    async def _close_on_timer(self, seconds: float, kinds: tuple[DealClose, ...]) -> None:
        for turn in itertools.count():
            await self._sleep(seconds)
            if self._stopping.is_set():
                return
            for key in list(self._keys.values()):
                if not key.book.bots_read:
                    continue
                for account_id in key.accounts:
                    self._ensure_bots(key, account_id)
                oldest = key.book.oldest_active_deal()
                if oldest is None:
                    continue
                account_id, deal = oldest
                closed = key.book.close_deal(deal["id"], kinds[turn % len(kinds)])
                self._note_closed(closed)
                volume = Decimal(str(deal["bought_volume"]))
                key.book.open_deal(account_id, int(deal["bot_id"]), volume)

    def _note_closed(self, deal: dict[str, Any]) -> None:
        self.closed_deals.append(copy.deepcopy(deal))
        self._deal_closed.set()
        self._deal_closed = asyncio.Event()

    def _ensure_bots(self, key: _Key, account_id: int) -> None:
        account = key.accounts.get(account_id)
        if account is not None:
            key.book.ensure(account_id, account.get("name"))

    def inject(
        self,
        fault: Fault,
        *,
        times: int = 1,
        account_id: int | None = None,
        retry_after: float | None = None,
        path: str | None = None,
    ) -> None:
        """`account_id`: only requests for that account (in the path); `path`: only requests
        whose path contains it (`/deals`, `/bots/stats`). Without `path` the bots and deals
        endpoints are spared: a test of the accounts' side never sees its fault taken there."""
        self._injections.append(_Injection(Fault(fault), times, account_id, retry_after, path))

    def hold(self, api_key: str) -> asyncio.Event:
        """Keep every answer to `api_key` waiting until the returned event is set: a 3Commas as
        slow as a test needs, ended by the test instead of a clock."""
        gate = self._holds[api_key] = asyncio.Event()
        return gate

    def clear_faults(self) -> None:
        self._injections.clear()
        self._random_rate = 0.0

    def set_random_faults(
        self, rate: float, seed: int = 0, faults: Sequence[Fault] | None = None
    ) -> None:
        self._random_rate = rate
        self._random = random.Random(seed)
        self._random_faults = tuple(faults) if faults else TRANSIENT_FAULTS

    def clear_requests(self) -> None:
        self.requests.clear()

    def upstream_calls(self, path_contains: str) -> int:
        return sum(1 for r in self.requests if path_contains in r.path_qs)

    async def wait_for_calls(
        self,
        path_contains: str,
        count: int = 1,
        timeout: float = 20.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until `count` calls whose path contains `path_contains` have arrived."""
        async with asyncio.timeout(timeout):
            while True:
                arrival = self._arrival
                if self.upstream_calls(path_contains) >= count:
                    return
                await arrival.wait()

    # -- serving -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        api_key = request.headers.get("APIKEY")
        recorded = RecordedRequest(request.method, request.raw_path, api_key)
        self._record(recorded)  # on arrival, so timed-out calls count too
        body = await request.read()
        response = await self._respond(request, api_key, body)
        recorded.status = response.status
        recorded.answered_at = time.monotonic()
        return response

    def _record(self, entry: RecordedRequest) -> None:
        self.requests.append(entry)
        self._arrival.set()
        self._arrival = asyncio.Event()
        if len(self.requests) > MAX_RECORDED:
            del self.requests[: MAX_RECORDED // 2]

    async def _respond(
        self, request: web.Request, api_key: str | None, body: bytes
    ) -> web.StreamResponse:
        account_id = _account_id_of(request.path)
        injection = self._take_injection(account_id, request.path)
        if injection is not None:
            return await self._fault(request, injection.fault, injection.retry_after)
        if not self._within_ip_limit(request.remote or ""):
            self.ip_429s += 1
            return self._too_many(1.0)

        key = self._keys.get(api_key or "")
        if key is None:
            return _error(
                401, "api_key_invalid_or_expired", "Unauthorized. Invalid or expired api key."
            )
        if not _signature_ok(key, request.raw_path, body, request.headers.get("Signature", "")):
            return _error(401, "signature_invalid", "Provided signature is invalid")

        limited = self._rate_limit(api_key or "")
        if limited is not None:
            return limited
        gate = self._holds.get(api_key or "")
        if gate is not None:
            await gate.wait()
        return await self._route(request, key)

    def _take_injection(self, account_id: int | None, path: str) -> _Injection | None:
        for injection in self._injections:
            if injection.path is not None and injection.path not in path:
                continue
            if injection.path is None and _is_bots_endpoint(path):
                continue  # faults for the bots' side are asked for by path
            if injection.remaining > 0 and injection.account_id in (None, account_id):
                injection.remaining -= 1
                if injection.remaining == 0:
                    self._injections.remove(injection)
                return injection
        if self._random_rate > 0 and self._random.random() < self._random_rate:
            return _Injection(self._random.choice(self._random_faults), 1, None, None)
        return None

    def _rate_limit(self, api_key: str) -> web.Response | None:
        limit = self.rate_limit_per_minute
        if limit is None:
            return None
        now = time.monotonic()
        blocked_until = self._blocked_until.get(api_key, 0.0)
        if now < blocked_until:
            return self._too_many(blocked_until - now)
        window = self._windows.setdefault(api_key, collections.deque())
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= limit:
            self._blocked_until[api_key] = now + self.rate_limit_block
            return self._too_many(self.rate_limit_block)
        window.append(now)
        return None

    def _within_ip_limit(self, ip: str) -> bool:
        """Counts the request in its IP's last second; False when that is over the limit."""
        now = time.monotonic()
        window = self._ip_windows.setdefault(ip, collections.deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        limit = self.ip_limit_per_second
        if limit is not None and len(window) >= limit:
            return False
        window.append(now)
        self.ip_peak_per_second = max(self.ip_peak_per_second, len(window))
        return True

    @staticmethod
    def _too_many(retry_after: float) -> web.Response:
        response = _error(429, "rate_limit", "Too many requests")
        response.headers["Retry-After"] = _seconds(retry_after)
        return response

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the stand-in stops."""
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _fault(
        self, request: web.Request, fault: Fault, retry_after: float | None
    ) -> web.StreamResponse:
        ok_status = 201 if request.method == "POST" else 200
        if fault is Fault.INVALID_API_KEY:
            return _error(
                401, "api_key_invalid_or_expired", "Unauthorized. Invalid or expired api key."
            )
        if fault is Fault.SIGNATURE_INVALID:
            return _error(401, "signature_invalid", "Provided signature is invalid")
        if fault is Fault.ACCESS_DENIED:
            return _error(403, "access_denied", "Api key doesn't have enough permissions")
        if fault is Fault.NOT_FOUND:
            return _error(404, "not_found", "Not Found")
        if fault is Fault.EXCHANGE_KEYS_INVALID:
            return _json_response(EXCHANGE_KEYS_INVALID_BODY, 422)
        if fault in (Fault.RATE_LIMITED, Fault.BANNED):
            status = 429 if fault is Fault.RATE_LIMITED else 418
            response = web.Response(status=status, text="")
            if retry_after is not None:
                response.headers["Retry-After"] = _seconds(retry_after)
            return response
        if fault is Fault.SERVER_ERROR:
            return _error(500, "unknown_error", "Unknown error occurred")
        if fault is Fault.BAD_GATEWAY:
            return _html(502)
        if fault is Fault.HTML:
            return _html(ok_status)
        if fault is Fault.TIMEOUT:
            await self._sleep(self.timeout_delay)
            return _error(504, "unknown_error", "Gateway timeout")
        if fault is Fault.HUGE_BODY:
            return await self._huge_body(request, ok_status)
        if fault is Fault.DEEP_NESTING:
            nested = "[" * self.nesting_depth + "]" * self.nesting_depth
            return web.Response(text=nested, status=ok_status, content_type="application/json")
        if fault is Fault.RESET:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        # TRUNCATED: promise more bytes than are sent, then drop the connection.
        payload = _dumps(demo_account(1, "truncated")).encode()
        stream = web.StreamResponse(status=ok_status)
        stream.content_type = "application/json"
        stream.content_length = len(payload)
        await stream.prepare(request)
        await stream.write(payload[: len(payload) // 2])
        if request.transport is not None:
            request.transport.abort()
        return stream

    async def _huge_body(self, request: web.Request, status: int) -> web.StreamResponse:
        """An account whose name is `huge_body_bytes` long, streamed without a Content-Length
        (so only reading it tells its size) until it is sent or the client hangs up."""
        head, tail = _dumps(demo_account(1, "@@name@@")).encode().split(b"@@name@@")
        stream = web.StreamResponse(status=status)
        stream.content_type = "application/json"
        stream.enable_chunked_encoding()
        await stream.prepare(request)
        chunk = b"N" * 2**20
        try:
            await stream.write(head)
            for _ in range(self.huge_body_bytes // len(chunk)):
                await stream.write(chunk)
            await stream.write(tail)
            await stream.write_eof()
        except ConnectionError:
            pass  # the client stopped reading: what a capped reader does
        return stream

    async def _route(self, request: web.Request, key: _Key) -> web.StreamResponse:
        path = request.path
        endpoint = path[len(API_PREFIX) :].strip("/")
        if endpoint in BOTS_ENDPOINTS and request.method == "GET":
            return self._bots_endpoint(request, key, endpoint)
        if not path.startswith(API_PREFIX + "/accounts"):
            return _error(404, "not_found", "Not Found")
        parts = path[len(API_PREFIX) :].strip("/").split("/")
        method = request.method
        if parts == ["accounts"] and method == "GET":
            return self._list_accounts(request, key)
        action = parts[2] if len(parts) == 3 else None
        if parts == ["accounts", "summary"] and method == "GET":
            return _json_response(_summary_account(key))
        if parts[1] == "summary" and action in ("account_table_data", "balance_chart_data"):
            return self._holdings_or_history(request, key, "summary", action)
        account_id = _account_id_of(path)
        if account_id is None:
            return _error(404, "not_found", "Not Found")
        account = key.accounts.get(account_id)
        if account is None:
            return _error(404, "record_not_found", "Record not found")
        if action is None and method == "GET":
            return _json_response(account)
        if action == "load_balances" and method == "POST":
            await self._sleep(self.latency)
            account["updated_at"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            return _json_response([account] if self.load_balances_as_array else account, 201)
        if action in ("account_table_data", "balance_chart_data"):
            return self._holdings_or_history(request, key, account_id, action)
        return _error(404, "not_found", "Not Found")

    def _bots_endpoint(self, request: web.Request, key: _Key, endpoint: str) -> web.Response:
        """bots, bots/stats, grid_bots and deals: 403 without BOTS_READ, like 3Commas."""
        book = key.book
        if not book.bots_read:
            return _error(403, "access_denied", "Api key doesn't have enough permissions")
        query = request.query
        try:
            accounts = _account_ids(query.get("account_id"), key)
        except BadQuery as error:
            return _error(400, "invalid_params", str(error))
        for account_id in accounts or key.accounts:
            self._ensure_bots(key, account_id)
        one = accounts[0] if accounts and len(accounts) == 1 else None
        try:
            if endpoint == "bots/stats":
                if accounts and len(accounts) > 1:
                    raise BadQuery("account_id takes one account")
                return _json_response(book.stats(one) if accounts else book.stats(None))
            if endpoint == "grid_bots":
                return _json_response(book.list_grid_bots(accounts, query))
            if accounts is not None and len(accounts) > 1:
                raise BadQuery("account_id takes one account")
            if endpoint == "bots":
                return _json_response(book.list_bots(one, query))
            return _json_response(book.list_deals(one, query))
        except BadQuery as error:
            return _error(400, "invalid_params", str(error))

    def _holdings_or_history(
        self, request: web.Request, key: _Key, account: int | str, action: str
    ) -> web.Response:
        api_key = request.headers.get("APIKEY", "")
        if action == "account_table_data" and request.method == "POST":
            return _json_response(self.coins(api_key, account), 201)
        if action == "balance_chart_data" and request.method == "GET":
            return _balance_chart(request, lambda now: self.history(api_key, account, now))
        return _error(404, "not_found", "Not Found")

    @staticmethod
    def _list_accounts(request: web.Request, key: _Key) -> web.Response:
        try:
            page = max(1, int(request.query.get("page", "1")))
            per_page = min(100, max(1, int(request.query.get("per_page", "100"))))
        except ValueError:
            return _error(400, "invalid_params", "page and per_page must be integers")
        accounts = list(key.accounts.values())
        start = (page - 1) * per_page
        return _json_response(accounts[start : start + per_page])


def _balance_chart(
    request: web.Request, history: Callable[[datetime], list[dict[str, Any]]]
) -> web.Response:
    raw_from = request.query.get("date_from")
    if raw_from is None:
        attributes = {"date_from": ["is invalid"]}
        return _json_response({"error": "record_invalid", "error_attributes": attributes}, 422)
    try:
        date_from = _aware(datetime.fromisoformat(raw_from))
        raw_to = request.query.get("date_to")
        date_to = _aware(datetime.fromisoformat(raw_to)) if raw_to else datetime.now(UTC)
    except ValueError:
        return _error(400, "invalid_params", "dates must be ISO 8601")
    # The last row is the balance at the moment asked for (never later than now).
    until = min(date_to, datetime.now(UTC)).replace(microsecond=0)
    start, end = date_from.timestamp(), date_to.timestamp()
    return _json_response([row for row in history(until) if start <= int(row["date"]) <= end])


BOTS_ENDPOINTS = frozenset({"bots", "bots/stats", "grid_bots", "deals"})


def _is_bots_endpoint(path: str) -> bool:
    return path.startswith(API_PREFIX) and path[len(API_PREFIX) :].strip("/") in BOTS_ENDPOINTS


def _account_ids(raw: str | None, key: _Key) -> list[int] | None:
    """The accounts an `account_id` parameter names (grid_bots takes several, comma-separated);
    None: every account. An account of another key is no account of this one: it has nothing."""
    if not raw:
        return None
    try:
        ids = [int(part) for part in raw.split(",")]
    except ValueError:
        raise BadQuery("account_id must be an integer") from None
    return [i if i in key.accounts else -1 for i in ids]


def _in_summary(key: _Key) -> list[int]:
    return [i for i, a in key.accounts.items() if a.get("available_include_in_summary", True)]


def _usd_amount(account: dict[str, Any]) -> Decimal:
    return Decimal(str(account.get("usd_amount") or 0))


def _btc_amount(account: dict[str, Any]) -> Decimal:
    return Decimal(str(account.get("btc_amount") or 0))


def _summary_account(key: _Key) -> dict[str, Any]:
    """`GET /accounts/summary`: the accounts included in the summary, added up."""
    included = [key.accounts[i] for i in _in_summary(key)]
    total = {
        field: str(sum((Decimal(str(a.get(field) or 0)) for a in included), Decimal(0)))
        for field in ("usd_amount", "btc_amount", "day_profit_usd", "day_profit_btc")
    }
    usd = {"currency": "USD", "amount": total["usd_amount"]}
    return demo_account(
        0,
        "Summary",
        primary_display_currency_amount=usd,
        day_profit_primary_display_currency={"currency": "USD", "amount": total["day_profit_usd"]},
        **total,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _account_id_of(path: str) -> int | None:
    parts = path[len(API_PREFIX) :].strip("/").split("/") if path.startswith(API_PREFIX) else []
    if len(parts) >= 2 and parts[0] == "accounts" and parts[1].isdigit():
        return int(parts[1])
    return None


def _rsa_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.strip().encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def _signature_ok(key: _Key, raw_path: str, body: bytes, signature: str) -> bool:
    message = raw_path.encode() + body
    if key.hmac_secret is not None:
        expected = hmac.new(key.hmac_secret.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.strip().lower())
    assert key.public_key is not None
    try:
        raw = base64.b64decode(signature, validate=True)
        key.public_key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.3f}"
