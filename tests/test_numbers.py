"""Money and percentages rendered the way traders read them, exactly, from Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.telegram.views.numbers import (
    currency_code,
    format_amount,
    format_btc,
    format_money,
    format_money_compact,
    format_money_rounded,
    format_percentage,
    format_share,
)


@pytest.mark.parametrize(
    ("amount", "currency", "signed", "shown"),
    [
        ("25312.4517", "USD", False, "$25,312.45"),
        ("2.631561723423248885262841890509448379906959328", "USD", True, "+$2.63"),
        ("-0.6768638169586133911173202842590701388480615227093", "USD", True, "-$0.68"),
        ("-0.004", "EUR", True, "€0.00"),
        ("1204.1", "eur", False, "€1,204.10"),
        ("12.3", "CHF", False, "12.30 CHF"),
        ("0.00048979846479077665182507861307944101622368", "BTC", False, "0.00048980 BTC"),
        ("-3.30980633289966e-05", "BTC", True, "-0.00003310 BTC"),
        ("0.005", "USD", False, "$0.01"),
    ],
)
def test_money(amount: str, currency: str, signed: bool, shown: str) -> None:
    assert format_money(Decimal(amount), currency, signed=signed) == shown


def test_btc_has_eight_places() -> None:
    assert format_btc(Decimal("1")) == "1.00000000 BTC"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("9.21", "+9.21%"), ("-2.1226", "-2.12%"), ("0", "0.00%"), ("-0.001", "0.00%")],
)
def test_percentage(value: str, shown: str) -> None:
    assert format_percentage(Decimal(value)) == shown


def test_currency_codes_from_the_wire_are_cleaned_and_short() -> None:
    assert currency_code("usdt") == "USDT"
    assert currency_code("<b>X" + "Y" * 100) == "BXYYYYYYYY"
    assert currency_code(None) == "USD"
    assert currency_code("\u202e") == "USD"


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("25312.4517", "25,312"),
        ("1.23456", "1.235"),
        ("1.5", "1.5"),
        ("0.00031", "0.00031"),
        ("9.52E-5", "0.0000952"),
        ("3.88892E-6", "0.000003889"),
        ("3.5E-10", "3.5e-10"),
        ("-0.5", "-0.5"),
        ("0", "0"),
        ("12345678901234567890.123456789012345678901234567890", "1.23E+19"),
    ],
)
def test_amounts_are_rounded_by_magnitude(amount: str, shown: str) -> None:
    assert format_amount(Decimal(amount)) == shown


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("25312.4517", "USD", "$25,312"),
        ("12.3", "USD", "$12.30"),
        ("0.52", "USD", "$0.52"),
        ("0.0031", "USD", "$0.0031"),
        ("9.52E-5", "USD", "$0.000095"),
        ("3.5E-10", "USD", "<$0.000001"),
        ("0.0000952", "BTC", "0.00009520 BTC"),
        ("3.5E-10", "BTC", "0.000000000350 BTC"),
        ("-1234.5", "EUR", "-€1,235"),
    ],
)
def test_values_show_dust_not_zero(amount: str, currency: str, shown: str) -> None:
    assert format_money_rounded(Decimal(amount), currency) == shown


@pytest.mark.parametrize(
    ("amount", "significant", "shown"),
    [
        ("950", 2, "$950"),
        ("999.6", 2, "$1k"),
        ("1234", 2, "$1.2k"),
        ("12345", 2, "$12k"),
        ("25500", 2, "$26k"),
        ("25500", 3, "$25.5k"),
        ("999600", 2, "$1M"),
        ("3400000", 2, "$3.4M"),
        ("-1500", 2, "-$1.5k"),
        ("0.52", 2, "$0.52"),
        ("0", 2, "$0"),
        ("1e20", 2, "$1.0E+20"),
    ],
)
def test_compact_money_for_axes(amount: str, significant: int, shown: str) -> None:
    assert format_money_compact(Decimal(amount), "USD", significant) == shown


def test_shares_and_one_place_percentages() -> None:
    assert format_share(Decimal("64.5555")) == "64.6%"
    assert format_share(Decimal("100")) == "100.0%"
    assert format_percentage(Decimal("-1.25"), 1) == "-1.3%"
    assert format_percentage(Decimal("0.04"), 1) == "0.0%"
