"""Parsing 3Commas entities: exact Decimals, tolerant of nulls and new fields, no api_key kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.threecommas.models import (
    MAX_JSON_DEPTH,
    Account,
    BalancePoint,
    CoinBalance,
    JsonTooDeep,
    Money,
    parse_json,
)
from tests.support.threecommas import seed_account, seed_account_json

SEED_EXCHANGE_API_KEY = "yzNYzv8a0VEBwsrhc3MDpHZ7XMqa1vJqSqHzpfjjKpdFF9SbQsVQKRl3hKNyZU45"


def test_seed_example_parses_with_exact_amounts() -> None:
    account = Account.model_validate(parse_json(seed_account_json()))
    assert account.id == 12345678
    assert account.name == "My Binance US"
    assert account.exchange == "Binance US Spot"
    assert account.api_keys_state == "ok"
    assert account.usd_amount == Decimal("31.210986753244348885262841890509448379906959328")
    assert account.day_profit_btc == Decimal(
        "-0.000003149786432365067713059300253892317108212763457088"
    )
    assert account.primary_display_currency_amount == Money(
        currency="USD", amount=Decimal("31.210986753244348885262841890509448379906959328")
    )
    # A JSON number in the seed: exact, not via float.
    total = account.total_primary_display_currency_profit
    assert total is not None
    assert total.amount == Decimal("7.210986753244349")
    assert isinstance(total.amount, Decimal)


def test_exchange_api_key_is_dropped_on_parse() -> None:
    assert seed_account()["api_key"] == SEED_EXCHANGE_API_KEY
    account = Account.model_validate(parse_json(seed_account_json()))
    assert "api_key" not in account.model_dump()
    assert SEED_EXCHANGE_API_KEY not in repr(account)
    assert SEED_EXCHANGE_API_KEY not in str(account)
    assert SEED_EXCHANGE_API_KEY not in account.model_dump_json()
    assert not hasattr(account, "api_key")


def test_fifty_digit_and_scientific_strings_become_exact_decimals() -> None:
    fifty = "12345678901234567890.123456789012345678901234567890"
    account = Account.model_validate(
        {"id": 1, "usd_amount": fifty, "btc_amount": "-3.30980633289966e-05"}
    )
    assert account.usd_amount == Decimal(fifty)
    assert str(account.usd_amount) == fifty
    assert account.btc_amount == Decimal("-0.0000330980633289966")


def test_json_numbers_become_exact_decimals_without_float() -> None:
    body = (
        b'{"id": 5, "usd_amount": 0.1000000000000000000000000001, "total_usd_profit": 42,'
        b' "total_primary_display_currency_profit": {"currency": "EUR",'
        b' "amount": 7.2109867532443491234567}}'
    )
    account = Account.model_validate(parse_json(body))
    assert account.usd_amount == Decimal("0.1000000000000000000000000001")
    assert account.total_usd_profit == Decimal(42)
    total = account.total_primary_display_currency_profit
    assert total is not None
    assert total.amount == Decimal("7.2109867532443491234567")
    assert total.currency == "EUR"


def test_nulls_and_missing_fields_are_fine() -> None:
    account = Account.model_validate(
        {"id": 7, "name": None, "usd_amount": None, "primary_display_currency_amount": None}
    )
    assert account.name is None
    assert account.usd_amount is None
    assert account.exchange is None
    assert account.primary_display_currency_amount is None
    money = Money.model_validate({"currency": None, "amount": None})
    assert money.amount is None


def test_blank_amount_string_is_none() -> None:
    assert Account.model_validate({"id": 1, "usd_amount": ""}).usd_amount is None


def test_unknown_fields_are_ignored() -> None:
    account = Account.model_validate({"id": 3, "brand_new_field": {"x": 1}, "market_code": "okx"})
    assert "brand_new_field" not in account.model_dump()
    assert account.exchange == "okx"


def test_coin_balance_and_balance_point_rows_parse() -> None:
    row = CoinBalance.model_validate(
        parse_json(
            b'{"currency_code": "BTC", "currency_name": "Bitcoin", "position": "1e-8",'
            b' "usd_value": 0.00065, "btc_value": "0.00000001", "percentage": "100",'
            b' "current_price_usd": "65000.123456789", "day_change_percent": null, "extra": 1}'
        )
    )
    assert row.position == Decimal("1e-8")
    assert row.usd_value == Decimal("0.00065")
    assert row.day_change_percent is None
    point = BalancePoint.model_validate(
        parse_json(b'{"date": 1700000000, "usd": "31.2", "btc": 0.00048, "x": 0}')
    )
    assert point.date == 1700000000
    assert point.usd == Decimal("31.2")
    assert point.btc == Decimal("0.00048")


def test_holdings_and_history_rows_are_exact_from_every_number_form() -> None:
    fifty = "12345678901234567890.123456789012345678901234567890"
    row = CoinBalance.model_validate(
        parse_json(
            b'{"currency_code": "BTT", "position": 9.52E-5, "usd_value": "3.88892E-6",'
            b' "btc_value": ' + fifty.encode() + b', "percentage": "' + fifty.encode() + b'",'
            b' "day_change_percent": -0.52, "day_change_percent_usd": "1e-2"}'
        )
    )
    assert row.position == Decimal("9.52E-5")
    assert row.usd_value == Decimal("0.00000388892")
    assert str(row.btc_value) == fifty and str(row.percentage) == fifty
    assert row.day_change_percent_usd == Decimal("0.01")
    point = BalancePoint.model_validate(
        parse_json(
            b'{"date": 1700000000, "usd": 25312.4517, "btc": "3.9E-1",'
            b' "usd_deposit_amount": -2.5E+3, "btc_deposit_amount": 0}'
        )
    )
    assert point.usd_deposit_amount == Decimal(-2500)
    assert point.btc == Decimal("0.39")
    assert all(
        isinstance(value, Decimal)
        for value in (row.position, row.usd_value, point.usd, point.usd_deposit_amount)
    )


def test_absurd_coin_and_balance_figures_are_unknown_not_errors() -> None:
    row = CoinBalance.model_validate(parse_json(b'{"usd_value": 1e400, "position": "-1E+50"}'))
    assert (row.usd_value, row.position) == (None, None)
    point = BalancePoint.model_validate({"date": 1, "usd": "9" * 51, "btc": "9" * 50})
    assert point.usd is None
    assert point.btc == Decimal("9" * 50)


def test_json_up_to_the_depth_limit_parses_and_deeper_is_refused() -> None:
    def nested(depth: int) -> str:
        return "[" * (depth - 1) + '{"a": 1}' + "]" * (depth - 1)

    assert parse_json(nested(MAX_JSON_DEPTH))
    for depth in (MAX_JSON_DEPTH + 1, 50_000):
        with pytest.raises(JsonTooDeep):
            parse_json(nested(depth))
