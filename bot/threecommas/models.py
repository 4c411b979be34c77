"""3Commas entities as pydantic models; every amount is an exact Decimal.

Bodies must be parsed with `parse_json` (floats become Decimal, never float). The Account's
`api_key` (the exchange connection's key) is not a field: it is dropped on parse.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

SUMMARY: Final = "summary"
# An account id, or `summary`: the aggregate of every account included in the summary.
AccountRef = int | Literal["summary"]

# 3Commas' entities nest four or five levels; anything far deeper is not an answer of theirs.
MAX_JSON_DEPTH = 32
# Names, currencies and states are shown and stored: a 200-million-character name is no name.
MAX_TEXT_LENGTH = 200


class JsonTooDeep(ValueError):
    """The JSON nests deeper than MAX_JSON_DEPTH levels."""


def parse_json(body: bytes | str) -> Any:
    """JSON with every non-integer number as Decimal (no float on the way), at most
    MAX_JSON_DEPTH levels deep (JsonTooDeep, a ValueError, otherwise)."""
    try:
        data = json.loads(body, parse_float=Decimal)
    except RecursionError:
        raise JsonTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    if _deeper_than(data, MAX_JSON_DEPTH):
        raise JsonTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def _deeper_than(data: Any, limit: int) -> bool:
    """Walked with a stack, not recursion: the check must not fail the way json.loads does."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _shortened(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
        return value[:MAX_TEXT_LENGTH]
    return value


def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, float):  # a float from Python code: go through its shortest repr
        value = Decimal(repr(value))
    if isinstance(value, Decimal) and not value.is_finite():
        return None  # NaN or an infinity (JSON allows neither, Python's parser both): unknown
    return value


Amount = Annotated[Decimal | None, BeforeValidator(_blank_is_none)]
Text = Annotated[str | None, BeforeValidator(_shortened)]

# Beyond this no coin amount, value or balance is real (a 50-digit number still passes); such a
# figure is treated as unknown, so one odd row neither breaks the whole answer nor overflows the
# arithmetic that follows.
MAX_AMOUNT = Decimal("1e50")


def _unknown_beyond_bound(value: Decimal | None) -> Decimal | None:
    if value is None or not value.is_finite() or value.copy_abs() >= MAX_AMOUNT:
        return None  # NaN and infinities too: ordering them would raise
    return value


BoundedAmount = Annotated[
    Decimal | None, BeforeValidator(_blank_is_none), AfterValidator(_unknown_beyond_bound)
]


class _Entity(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Money(_Entity):
    currency: Text = None
    amount: BoundedAmount = None


# SQLite stores a signed 64-bit integer: an account id beyond is no account of 3Commas'.
# 0 is the summary account (`GET /accounts/summary`), the aggregate of the accounts in it.
AccountId = Annotated[int, Field(ge=0, lt=2**63)]


class AccountList(list["Account"]):
    """The accounts 3Commas listed; `unreadable` counts the rows that were no usable account
    (an id out of range, say): they are left out, the others stand."""

    def __init__(self, accounts: Iterable[Account] = (), unreadable: int = 0) -> None:
        super().__init__(accounts)
        self.unreadable = unreadable


class Account(_Entity):
    id: AccountId
    name: Text = None
    exchange_name: Text = None
    market_code: Text = None
    pretty_display_type: str | None = None
    market_icon: str | None = None
    api_keys_state: Text = None
    api_key_invalid: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    auto_balance_period: int | None = None
    auto_balance_portfolio_id: int | None = None
    auto_balance_currency_change_limit: BoundedAmount = None
    autobalance_enabled: bool | None = None
    auto_balance_method: str | None = None
    auto_balance_error: str | None = None
    last_auto_balance: datetime | None = None
    hedge_mode_available: bool | None = None
    hedge_mode_enabled: bool | None = None
    is_locked: bool | None = None
    lock_reason: str | None = None
    smart_trading_supported: bool | None = None
    smart_selling_supported: bool | None = None
    available_for_trading: dict[str, Any] | None = None
    stats_supported: bool | None = None
    trading_supported: bool | None = None
    market_buy_supported: bool | None = None
    market_sell_supported: bool | None = None
    conditional_buy_supported: bool | None = None
    bots_allowed: bool | None = None
    bots_ttp_allowed: bool | None = None
    bots_tsl_allowed: bool | None = None
    gordon_bots_available: bool | None = None
    multi_bots_allowed: bool | None = None
    fast_convert_available: bool | None = None
    grid_bots_allowed: bool | None = None
    deposit_enabled: bool | None = None
    include_in_summary: bool | None = None
    available_include_in_summary: bool | None = None
    supported_market_types: list[str] | None = None
    customer_id: str | int | None = None
    subaccount_name: str | None = None

    primary_display_currency_profit_percentage: Money | None = None
    primary_display_currency_profit: Money | None = None
    day_profit_primary_display_currency_percentage: Money | None = None
    day_profit_primary_display_currency: Money | None = None
    primary_display_currency_amount: Money | None = None
    total_primary_display_currency_profit: Money | None = None

    btc_amount: BoundedAmount = None
    usd_amount: BoundedAmount = None
    day_profit_btc: BoundedAmount = None
    day_profit_usd: BoundedAmount = None
    day_profit_btc_percentage: BoundedAmount = None
    day_profit_usd_percentage: BoundedAmount = None
    btc_profit: BoundedAmount = None
    usd_profit: BoundedAmount = None
    usd_profit_percentage: BoundedAmount = None
    btc_profit_percentage: BoundedAmount = None
    total_btc_profit: BoundedAmount = None
    total_usd_profit: BoundedAmount = None

    @property
    def exchange(self) -> str | None:
        return self.exchange_name or self.market_code


class CoinBalance(_Entity):
    """One row of account_table_data: one coin of an account (or of the summary)."""

    currency_code: Text = None
    currency_name: Text = None
    position: BoundedAmount = None
    usd_value: BoundedAmount = None
    btc_value: BoundedAmount = None
    percentage: BoundedAmount = None
    current_price_usd: BoundedAmount = None
    day_change_percent: BoundedAmount = None
    day_change_percent_usd: BoundedAmount = None


@dataclass(frozen=True)
class CoinTable:
    """account_table_data's rows and the moment 3Commas answered: it values the coins at the
    prices of that moment, and an account's `btc_amount`/`usd_amount` at its last update."""

    rows: tuple[CoinBalance, ...]
    received_at: datetime


class BalancePoint(_Entity):
    """One row of balance_chart_data: the balance at `date` (unix seconds) and what was
    deposited then (negative: withdrawn)."""

    date: int
    usd: BoundedAmount = None
    btc: BoundedAmount = None
    usd_deposit_amount: BoundedAmount = None
    btc_deposit_amount: BoundedAmount = None


# -- bots and deals (permission BOTS_READ) ---------------------------------------------------

# Counts 3Commas sends (deals of a bot, profits of a grid): beyond this no count is real.
MAX_COUNT = 10**9
# A DCA bot trades at most a few hundred pairs; a longer list is cut, not kept whole.
MAX_PAIRS = 500

EntityId = Annotated[int, Field(ge=0, lt=2**63)]
_Row = TypeVar("_Row", bound=BaseModel)


def _unknown_beyond_count(value: int | None) -> int | None:
    return None if value is None or not 0 <= value < MAX_COUNT else value


def _whole(value: Any) -> Any:
    """A count as 3Commas sends it: an integer, a string ("4") or, at times, "4.0"."""
    value = _blank_is_none(value)
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except ArithmeticError:
            return None
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() and value == value.to_integral_value() else None
    return value


Count = Annotated[int | None, BeforeValidator(_whole), AfterValidator(_unknown_beyond_count)]


def _some_pairs(value: Any) -> Any:
    if isinstance(value, list):
        return [_shortened(pair) for pair in value[:MAX_PAIRS] if isinstance(pair, str)]
    return value


class UsdProfits(_Entity):
    """`profits_in_usd` of bots/stats: JSON numbers, in USD."""

    overall_usd_profit: BoundedAmount = None
    today_usd_profit: BoundedAmount = None
    active_deals_usd_profit: BoundedAmount = None
    funds_locked_in_active_deals: BoundedAmount = None


class BotStats(_Entity):
    """`GET /ver1/bots/stats`: the profit of an account's DCA bots (or of every bot of the key).

    `overall_stats` and `today_stats` (per quote currency) are not read: the bot shows USD."""

    profits_in_usd: UsdProfits = Field(default_factory=UsdProfits)


class DcaBot(_Entity):
    """One DCA bot of `GET /ver1/bots`."""

    id: EntityId
    account_id: EntityId | None = None
    account_name: Text = None
    name: Text = None
    is_enabled: bool | None = None
    pairs: Annotated[list[str], BeforeValidator(_some_pairs)] = Field(default_factory=list)
    strategy: Text = None
    active_deals_count: Count = None
    active_deals_usd_profit: BoundedAmount = None
    finished_deals_count: Count = None
    # "total profit in USD from all deals completed by this DCA Bot"
    finished_deals_profit_usd: BoundedAmount = None


class GridBot(_Entity):
    """One grid bot of `GET /ver1/grid_bots`."""

    id: EntityId
    account_id: EntityId | None = None
    account_name: Text = None
    name: Text = None
    pair: Text = None
    is_enabled: bool | None = None
    current_profit: BoundedAmount = None
    current_profit_usd: BoundedAmount = None
    total_profits_count: Count = None
    profit_percentage: BoundedAmount = None
    unrealized_profit_loss: BoundedAmount = None


# `status` of a deal that has closed (the others, `bought`, `created`, ..., are active ones).
CLOSED_DEAL_STATUSES: Final = frozenset(
    {"completed", "stop_loss_finished", "panic_sold", "liquidated", "failed", "cancelled"}
)


class Deal(_Entity):
    """One deal of `GET /ver1/deals`. The `actual_*` figures are the unrealized result of an
    active deal; `final_profit`/`usd_final_profit` the result of a closed one."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    id: EntityId
    bot_id: EntityId | None = None
    bot_name: Text = None
    account_id: EntityId | None = None
    account_name: Text = None
    pair: Text = None  # "USDT_SOL": quote_base
    from_currency: Text = None  # the quote currency ("USDT")
    to_currency: Text = None  # the base currency ("SOL")
    status: Text = None
    localized_status: Text = None
    finished: bool | None = Field(default=None, alias="finished?")
    created_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    bought_volume: BoundedAmount = None
    sold_volume: BoundedAmount = None
    final_profit: BoundedAmount = None
    final_profit_percentage: BoundedAmount = None
    usd_final_profit: BoundedAmount = None
    actual_profit: BoundedAmount = None
    actual_usd_profit: BoundedAmount = None
    actual_profit_percentage: BoundedAmount = None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None or self.status in CLOSED_DEAL_STATUSES


class Listing(list[_Row]):
    """Every row of a paged list 3Commas sent, read page by page. `unreadable` counts the rows
    that were no usable entity (left out, the others stand); `cut` is True when the list went
    on past the pages the client reads at most (the rows read stand, the rest is not here)."""

    def __init__(self, rows: Iterable[_Row] = (), unreadable: int = 0, cut: bool = False) -> None:
        super().__init__(rows)
        self.unreadable = unreadable
        self.cut = cut
