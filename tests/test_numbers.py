"""Money and percentages rendered the way traders read them, exactly, from Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.telegram.numbers import currency_code, format_btc, format_money, format_percentage


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
