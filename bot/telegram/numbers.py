"""Money and percentages as traders read them: the one place a Decimal becomes text."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FIAT_SYMBOLS = {
    "USD": "$",
    "USDT": "$",
    "USDC": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "RUB": "₽",
    "UAH": "₴",
    "TRY": "₺",
}
CRYPTO_PLACES = {"BTC": 8, "ETH": 6}
CENT = Decimal("0.01")
# Rounding to cents needs every integer digit within Decimal's 28-digit precision; a figure this
# large (a percentage over a near-zero base, a broken amount) is shown in scientific notation.
HUGE = Decimal("1e18")


def _quantize(value: Decimal, places: int) -> Decimal:
    if value.copy_abs() >= HUGE:
        return value
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def _digits(value: Decimal, places: int) -> str:
    """`1234.5` -> `1,234.50` (no sign; the caller writes it)."""
    if value.copy_abs() >= HUGE:
        return f"{value.copy_abs():.2E}"
    return f"{_quantize(value, places).copy_abs():,.{places}f}"


def currency_code(currency: str | None) -> str:
    """A currency code as 3Commas should send it: letters and digits, at most 10 ("USD")."""
    code = "".join(char for char in (currency or "") if char.isascii() and char.isalnum())
    return code.upper()[:10] or "USD"


def format_money(amount: Decimal, currency: str | None, *, signed: bool = False) -> str:
    """`$25,312.45`, `-€0.68`, `0.00048980 BTC`, `12.30 CHF`; `+` in front when `signed`."""
    code = currency_code(currency)
    places = CRYPTO_PLACES.get(code, 2)
    rounded = _quantize(amount, places)
    sign = "-" if rounded < 0 else ("+" if signed and rounded > 0 else "")
    digits = _digits(amount, places)
    symbol = FIAT_SYMBOLS.get(code)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {code}"


def format_number(value: Decimal) -> str:
    """`25000` -> `25,000`; `1234.5` -> `1,234.5` (thresholds as the user wrote them)."""
    text = f"{value.copy_abs():,f}"
    return f"-{text}" if value < 0 else text


def format_btc(amount: Decimal) -> str:
    return format_money(amount, "BTC")


def format_percentage(value: Decimal) -> str:
    """`+9.21%`, `-2.12%`, `0.00%`."""
    rounded = _quantize(value, 2)
    sign = "-" if rounded < 0 else ("+" if rounded > 0 else "")
    return f"{sign}{_digits(value, 2)}%"


def trend_arrow(value: Decimal | None) -> str:
    if value is None or value.is_zero():
        return "▪"
    return "▲" if value > 0 else "▼"
