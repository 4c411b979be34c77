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


def format_percentage(value: Decimal, places: int = 2) -> str:
    """`+9.21%`, `-2.12%`, `0.00%`; with `places=1`: `+9.2%`."""
    rounded = _quantize(value, places)
    sign = "-" if rounded < 0 else ("+" if rounded > 0 else "")
    return f"{sign}{_digits(value, places)}%"


def trend_arrow(value: Decimal | None) -> str:
    if value is None or value.is_zero():
        return "▪"
    return "▲" if value > 0 else "▼"


def _by_magnitude(value: Decimal, significant: int, min_places: int, max_places: int) -> str:
    """`significant` digits, but at least `min_places` and at most `max_places` decimals."""
    places = min(max_places, max(min_places, significant - 1 - value.adjusted()))
    return _digits(value, places)


def format_amount(amount: Decimal, significant: int = 4) -> str:
    """A coin amount rounded by its magnitude, so dust shows its digits, not 0.00.

    `25312.4517` -> `25,312`, `1.23456` -> `1.235`, `0.00031` -> `0.00031`,
    `9.52E-5` -> `0.0000952`; below 1e-8 -> `9.5e-11`.
    """
    if amount.is_zero():
        return "0"
    sign = "-" if amount < 0 else ""
    if amount.copy_abs() < DUST:
        mantissa = f"{amount.copy_abs():.{significant - 1}e}"
        number, exponent = mantissa.split("e")
        number = number.rstrip("0").rstrip(".")
        return f"{sign}{number}e{int(exponent)}"
    digits = _by_magnitude(amount, significant, 0, 12)
    if "." in digits and "E" not in digits:
        digits = digits.rstrip("0").rstrip(".")
    return sign + digits


def format_money_rounded(amount: Decimal, currency: str | None, *, signed: bool = False) -> str:
    """Money rounded by its magnitude: `$25,312`, `$12.30`, `$0.52`, `$0.0031`, `<$0.000001`,
    `0.00000952 BTC`. For coin values, where a dust position is worth fractions of a cent."""
    code = currency_code(currency)
    size = amount.copy_abs()
    if code in CRYPTO_PLACES:
        places = CRYPTO_PLACES[code]
        digits = _by_magnitude(amount, 4, places, places + 4)
    elif size >= 1000:
        digits = _digits(amount, 0)
    elif size >= 1 or amount.is_zero():
        return format_money(amount, code, signed=signed)
    elif size < TINY_MONEY:
        return "<" + _with_symbol("", "0.000001", code)
    else:
        digits = _by_magnitude(amount, 2, 2, 6)
    sign = "-" if amount < 0 else ("+" if signed and amount > 0 else "")
    return _with_symbol(sign, digits, code)


def format_compact(value: Decimal, significant: int = 2) -> str:
    """`950`, `1.2k`, `12k`, `3.4M`, `-1.5k`, `0.52`: for chart axes and narrow columns.

    At least `significant` digits show (`24.85k` with 4); trailing zeros are dropped.
    """
    size = value.copy_abs()
    sign = "-" if value < 0 and not _quantize(value, 2).is_zero() else ""
    if size >= 1000 * Decimal("1e12"):
        return f"{sign}{size:.1E}"
    for threshold, suffix in COMPACT_SUFFIXES:
        if size >= threshold * ROUNDS_UP:  # 999,960 is `1M`, not `1000k`
            return sign + _short(size / threshold, significant) + suffix
    if size >= 10 or size.is_zero():
        return sign + _short(size, significant)
    return sign + _digits(size, 2)


def format_money_compact(
    amount: Decimal, currency: str | None = "USD", significant: int = 2
) -> str:
    """`$950`, `$1.2k`, `$12k`, `$3.4M`, `-$1.5k`, `$0.52`, `1.2k EUR`-style for others."""
    text = format_compact(amount, significant)
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    return _with_symbol(sign, digits, currency_code(currency))


def format_share(value: Decimal) -> str:
    """A share of an account: `64.6%`, `0.4%`, `100.0%` (one decimal, no sign)."""
    return f"{'-' if _quantize(value, 1) < 0 else ''}{_digits(value, 1)}%"


DUST = Decimal("1e-8")
COMPACT_SUFFIXES = (
    (Decimal("1e12"), "T"),
    (Decimal("1e9"), "B"),
    (Decimal("1e6"), "M"),
    (Decimal("1e3"), "k"),
)
ROUNDS_UP = Decimal("0.9995")
TINY_MONEY = Decimal("0.000001")


def _short(value: Decimal, significant: int) -> str:
    """`1.23` -> `1.2`, `12.3` -> `12`, `999.6` -> `1000` (with 2 significant digits)."""
    whole_digits = len(str(int(value))) if value >= 1 else 1
    places = max(0, significant - whole_digits)
    text = f"{_quantize(value, places):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _with_symbol(sign: str, digits: str, code: str) -> str:
    symbol = FIAT_SYMBOLS.get(code)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {code}"
