"""3Commas entities as pydantic models; every amount is an exact Decimal.

Bodies must be parsed with `parse_json` (floats become Decimal, never float). The Account's
`api_key` (the exchange connection's key) is not a field: it is dropped on parse.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

SUMMARY: Final = "summary"
# An account id, or `summary`: the aggregate of every account included in the summary.
AccountRef = int | Literal["summary"]


def parse_json(body: bytes | str) -> Any:
    """JSON with every non-integer number as Decimal (no float on the way)."""
    return json.loads(body, parse_float=Decimal)


def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, float):  # a float from Python code: go through its shortest repr
        return Decimal(repr(value))
    return value


Amount = Annotated[Decimal | None, BeforeValidator(_blank_is_none)]

# Beyond this no coin amount, value or balance is real (a 50-digit number still passes); such a
# figure is treated as unknown, so one odd row neither breaks the whole answer nor overflows the
# arithmetic that follows.
MAX_AMOUNT = Decimal("1e50")


def _unknown_beyond_bound(value: Decimal | None) -> Decimal | None:
    return None if value is None or value.copy_abs() >= MAX_AMOUNT else value


BoundedAmount = Annotated[
    Decimal | None, BeforeValidator(_blank_is_none), AfterValidator(_unknown_beyond_bound)
]


class _Entity(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Money(_Entity):
    currency: str | None = None
    amount: Amount = None


class Account(_Entity):
    id: int
    name: str | None = None
    exchange_name: str | None = None
    market_code: str | None = None
    pretty_display_type: str | None = None
    market_icon: str | None = None
    api_keys_state: str | None = None
    api_key_invalid: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    auto_balance_period: int | None = None
    auto_balance_portfolio_id: int | None = None
    auto_balance_currency_change_limit: Amount = None
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

    btc_amount: Amount = None
    usd_amount: Amount = None
    day_profit_btc: Amount = None
    day_profit_usd: Amount = None
    day_profit_btc_percentage: Amount = None
    day_profit_usd_percentage: Amount = None
    btc_profit: Amount = None
    usd_profit: Amount = None
    usd_profit_percentage: Amount = None
    btc_profit_percentage: Amount = None
    total_btc_profit: Amount = None
    total_usd_profit: Amount = None

    @property
    def exchange(self) -> str | None:
        return self.exchange_name or self.market_code


class CoinBalance(_Entity):
    """One row of account_table_data: one coin of an account (or of the summary)."""

    currency_code: str | None = None
    currency_name: str | None = None
    position: BoundedAmount = None
    usd_value: BoundedAmount = None
    btc_value: BoundedAmount = None
    percentage: BoundedAmount = None
    current_price_usd: BoundedAmount = None
    day_change_percent: BoundedAmount = None
    day_change_percent_usd: BoundedAmount = None


class BalancePoint(_Entity):
    """One row of balance_chart_data: the balance at `date` (unix seconds) and what was
    deposited then (negative: withdrawn)."""

    date: int
    usd: BoundedAmount = None
    btc: BoundedAmount = None
    usd_deposit_amount: BoundedAmount = None
    btc_deposit_amount: BoundedAmount = None
