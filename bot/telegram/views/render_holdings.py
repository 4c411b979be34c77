"""Holdings as a phone-width table: two lines per coin inside <pre>, at most 34 characters each.

    BTC Bitcoin                 42.0%
      0.1636 = $10,631        -1.20%

Coin codes and names come from 3Commas: cleaned and escaped here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.services.holdings import FOLD_BELOW, CoinHolding, Holdings
from bot.telegram.views.html import MESSAGE_LIMIT, clean_name, escape
from bot.telegram.views.numbers import (
    format_amount,
    format_btc,
    format_compact,
    format_money,
    format_money_compact,
    format_money_rounded,
    format_percentage,
    format_share,
)
from bot.telegram.views.render import account_title, time_of_day
from bot.telegram.views.texts import COINS_TOTAL

WIDTH = 34  # characters of a <pre> line that fit a phone screen
CODE_LIMIT = 10
SMALLEST_SHARE = Decimal("0.05")  # shown as <0.1%
HEADER = ("Coin" + "Share".rjust(WIDTH - 4), "  Amount = Value" + "24h".rjust(WIDTH - 16))


def render_holdings(
    holdings: Holdings,
    name: str | None,
    exchange: str | None = None,
    *,
    zone: ZoneInfo,
    full: bool = False,
) -> str:
    """The coins of an account largest first; positions under 1% folded into one line unless
    `full`. Always within Telegram's 4096 characters: what does not fit is counted instead.
    The total is the coins' values at the prices of `holdings.priced_at`, in `zone`."""
    title = f"🪙 Holdings · {account_title(name, exchange)}"
    if not holdings.coins:
        return f"{title}\nNo coins in this account."
    lines = [title, _total(holdings, zone), "<pre>"]
    coins = holdings.coins if full else holdings.major
    tail = [] if full else _fold_line(holdings)
    table = [*HEADER]
    for coin in coins:
        table += _coin_lines(coin, holdings.display_currency)
    body = _fitting(lines, [escape(line) for line in table], tail, len(coins))
    return "\n".join(body)


def _total(holdings: Holdings, zone: ZoneInfo) -> str:
    parts = [f"<b>{escape(format_money(holdings.total_usd, 'USD'))}</b>"]
    if holdings.total_btc is not None:
        parts.append(escape(format_btc(holdings.total_btc)))
    if holdings.display_currency is not None and holdings.total_display is not None:
        parts.append("≈" + escape(format_money(holdings.total_display, holdings.display_currency)))
    count = len(holdings.coins)
    coins = f"{count} coin{'' if count == 1 else 's'}"
    label = escape(COINS_TOTAL.format(coins=coins, when=time_of_day(holdings.priced_at, zone)))
    return f"{label}: {' · '.join(parts)}"


def _fold_line(holdings: Holdings) -> list[str]:
    if not holdings.minor:
        return []
    folded = len(holdings.minor)
    value = format_money_rounded(holdings.minor_usd, "USD")
    if holdings.display_currency is not None and holdings.minor_display is not None:
        value += " ≈" + format_money_rounded(holdings.minor_display, holdings.display_currency)
    return [escape(f"+ {folded} more under {FOLD_BELOW}%: {value}")]


def _coin_lines(coin: CoinHolding, display_currency: str | None) -> list[str]:
    code = clean_name(coin.code, fallback="?", limit=CODE_LIMIT)
    label = code if not coin.name else f"{code} {clean_name(coin.name, fallback='')}"
    share = share_text(coin.share)
    change = "" if coin.day_change is None else format_percentage(coin.day_change, 1)
    return [
        spread(label, share),
        spread(_shortest_fitting(coin, display_currency, change), change),
    ]


def share_text(share: Decimal | None) -> str:
    """`64.6%`, `<0.1%`, or empty: a coin's share of the account."""
    if share is None:
        return ""
    return "<0.1%" if Decimal(0) < share < SMALLEST_SHARE else format_share(share)


def _shortest_fitting(coin: CoinHolding, display_currency: str | None, change: str) -> str:
    """Amount and value, made shorter step by step until they fit beside the 24 h change."""
    room = WIDTH - len(change) - 1
    amount = "?" if coin.amount is None else format_amount(coin.amount)
    value = "?" if coin.usd_value is None else format_money_rounded(coin.usd_value, "USD")
    extra = compact_extra = ""
    if display_currency is not None and coin.display_value is not None:
        extra = " ≈" + format_money_rounded(coin.display_value, display_currency)
        compact_extra = " ≈" + format_money_compact(coin.display_value, display_currency)
    # The display currency's value is kept as long as compact figures make it fit.
    candidates: list[Callable[[], str]] = [
        lambda: f"  {amount} = {value}{extra}",
        lambda: f"  {amount} = {_compact_money(coin.usd_value)}{compact_extra}",
        lambda: f"  {_compact(coin.amount)} = {_compact_money(coin.usd_value)}{compact_extra}",
        lambda: f"  {amount} = {value}",
        lambda: f"  {amount} = {_compact_money(coin.usd_value)}",
        lambda: f"  {_compact(coin.amount)} = {_compact_money(coin.usd_value)}",
    ]
    for candidate in candidates:
        text = candidate()
        if display_width(text) <= room:
            return text
    return cut_to_width(text, room)


def _compact(value: Decimal | None) -> str:
    return "?" if value is None else format_compact(value)


def _compact_money(value: Decimal | None) -> str:
    return "?" if value is None else format_money_compact(value, "USD")


def spread(left: str, right: str) -> str:
    """`left` and `right` on one line of WIDTH columns, `left` cut with … when both do not fit."""
    left = cut_to_width(left, WIDTH - display_width(right) - (1 if right else 0))
    return left + " " * (WIDTH - display_width(left) - display_width(right)) + right


def display_width(text: str) -> int:
    """Columns in a monospace font: East Asian wide characters and most emoji take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def cut_to_width(text: str, room: int) -> str:
    if display_width(text) <= room:
        return text
    while text and display_width(text) > room - 1:
        text = text[:-1]
    return text + "…"


def _fitting(head: list[str], table: list[str], tail: list[str], coins: int) -> list[str]:
    """head, as many table lines as fit (whole coins), tail, and the closing tag, within the
    message limit; what was left out is counted on a line of its own."""
    header_lines = len(HEADER)
    closing = "</pre>"
    fixed = sum(len(line) + 1 for line in [*head, *tail, closing])
    reserve = len(_more_line(coins)) + 1
    used = fixed + sum(len(line) + 1 for line in table[:header_lines])
    shown = 0
    for index in range(coins):
        pair = table[header_lines + 2 * index : header_lines + 2 * index + 2]
        size = sum(len(line) + 1 for line in pair)
        if used + size + (reserve if index < coins - 1 else 0) > MESSAGE_LIMIT:
            break
        used += size
        shown += 1
    kept = table[: header_lines + 2 * shown]
    more = [] if shown == coins else [_more_line(coins - shown)]
    return [*head, *kept, *more, *tail, closing]


def _more_line(count: int) -> str:
    return f"… and {count} more coin{'' if count == 1 else 's'} (smaller)"


def holdings_codes(coins: Sequence[CoinHolding]) -> list[str]:
    """The codes as shown, for buttons or tests."""
    return [clean_name(coin.code, fallback="?", limit=CODE_LIMIT) for coin in coins]
