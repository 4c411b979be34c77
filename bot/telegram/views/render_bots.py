"""/bots and /deals as phone-width tables, and the summary's line of the bots' profit today.

Bot names, pairs and account names come from 3Commas: cleaned and escaped here. Every reply
stays within Telegram's 4096 characters: what does not fit is counted instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal

from bot.services.bots import AccountBots, BotLine, BotProfits, BotsReport, DealLine, DealsReport
from bot.telegram.views.html import MESSAGE_LIMIT, clean_name, escape
from bot.telegram.views.numbers import (
    format_money,
    format_money_rounded,
    format_percentage,
    trend_arrow,
)
from bot.telegram.views.render import account_title, render_error
from bot.telegram.views.render_holdings import WIDTH, cut_to_width, spread
from bot.telegram.views.texts import (
    ALL_ACCOUNTS_TITLE,
    BOTS_CUT,
    BOTS_TODAY,
    DEALS_CUT,
    NO_ACTIVE_DEALS,
    NO_BOTS,
)

# Deals listed at most; the rest are counted on one line ("+ 42 more"), the total counts all.
SHOWN_DEALS = 18
# Bots listed per account, tried in turn until the reply fits one message.
SHOWN_BOTS = (50, 20, 10, 5, 3, 1, 0)


def _signed(amount: Decimal | None) -> str:
    return "n/a" if amount is None else format_money(amount, "USD", signed=True)


def render_bots_today(amount: Decimal) -> str:
    """The summary's line: the bots' profit today (bot_profits' `today`, as /bots shows it)."""
    return f"{escape(BOTS_TODAY)}: {trend_arrow(amount)} {escape(_signed(amount))}"


def _profit_lines(profits: BotProfits) -> list[str]:
    today = f"{escape(BOTS_TODAY)}: {trend_arrow(profits.today)} {escape(_signed(profits.today))}"
    overall = f"Overall: {trend_arrow(profits.overall)} {escape(_signed(profits.overall))}"
    unrealized = (
        f"Active deals: {trend_arrow(profits.unrealized)} "
        f"{escape(_signed(profits.unrealized))} unrealized"
    )
    return [f"{today} · {overall}", unrealized]


def _bot_lines(bot: BotLine) -> list[str]:
    name = clean_name(bot.name, limit=WIDTH * 2)
    profit = _signed(bot.profit)
    if bot.kind == "grid":
        detail = "Grid" + (f" · {_pair(bot.pairs[0])}" if bot.pairs else "")
    else:
        detail = "DCA"
        if bot.pairs:
            detail += f" · {_pair(bot.pairs[0])}"
            if len(bot.pairs) > 1:
                detail += f" +{len(bot.pairs) - 1}"
        if bot.active_deals is not None:
            detail += f" · {bot.active_deals} active"
    return [escape(spread(name, profit)), escape(cut_to_width("  " + detail, WIDTH))]


def _pair(pair: str | None, base: str | None = None, quote: str | None = None) -> str:
    """`SOL/USDT` from 3Commas' `USDT_SOL` (quote first), or from the deal's currencies."""
    if base and quote:
        return f"{clean_name(base, limit=12)}/{clean_name(quote, limit=12)}"
    if pair and "_" in pair:
        quote_part, _, base_part = pair.partition("_")
        return f"{clean_name(base_part, limit=12)}/{clean_name(quote_part, limit=12)}"
    return clean_name(pair, fallback="?", limit=24)


def _account_block(row: AccountBots, shown: int) -> list[str]:
    title = f"🤖 Bots · {account_title(row.account.name, row.account.exchange)}"
    if row.error is not None:
        return [render_error(row.account.name, row.error)]
    if not row.bots:
        return [title, escape(NO_BOTS)]
    lines = [title, *_profit_lines(row.profits), "<pre>"]
    for bot in row.bots[:shown]:
        lines += _bot_lines(bot)
    rest = len(row.bots) - min(shown, len(row.bots))
    if rest:
        lines.append(escape(f"+ {rest} more bot{'' if rest == 1 else 's'}"))
    lines.append("</pre>")
    if row.cut:
        lines.append(escape(BOTS_CUT))
    return lines


def render_bots(report: BotsReport) -> str:
    """One account's bots with its profit of today, overall and unrealized; for several, each
    account and then the totals."""
    return _fitting(lambda shown: _bots_text(report, shown), SHOWN_BOTS)


def _bots_text(report: BotsReport, shown: int) -> str:
    blocks = ["\n".join(_account_block(row, shown)) for row in report.accounts]
    if len(report.accounts) > 1:
        answered, total = report.answered, len(report.accounts)
        counted = f"{total} accounts" if answered == total else f"{answered} of {total} accounts"
        blocks.append("\n".join([f"<b>Total</b> ({counted})", *_profit_lines(report.total)]))
    return "\n\n".join(blocks)


def render_deals(report: DealsReport, name: str | None, exchange: str | None) -> str:
    """The active deals, largest unrealized profit first, at most SHOWN_DEALS; then the total
    of every deal's unrealized profit."""
    every = name is None
    shown_name = f"<b>{escape(ALL_ACCOUNTS_TITLE)}</b>" if every else account_title(name, exchange)
    title = f"📈 Active deals · {shown_name}"
    failed = [render_error(account.name, error) for account, error in report.failed]
    if not report.deals:
        return "\n\n".join([f"{title}\n{escape(NO_ACTIVE_DEALS)}", *failed])
    return _fitting(
        lambda shown: _deals_text(report, title, failed, shown, every),
        tuple(n for n in (SHOWN_DEALS, 12, 8, 5, 3, 1) if n <= SHOWN_DEALS),
    )


def _deals_text(report: DealsReport, title: str, failed: list[str], shown: int, every: bool) -> str:
    lines = [title, "<pre>"]
    for deal in report.deals[:shown]:
        lines += _deal_lines(deal, every)
    rest = len(report.deals) - min(shown, len(report.deals))
    if rest:
        lines.append(escape(f"+ {rest} more"))
    lines.append("</pre>")
    count = len(report.deals)
    total = format_money(report.total_usd, "USD", signed=True)
    lines.append(
        f"Total unrealized ({count} deal{'' if count == 1 else 's'}): "
        f"{trend_arrow(report.total_usd)} <b>{escape(total)}</b>"
    )
    if report.cut:
        lines.append(escape(DEALS_CUT))
    return "\n\n".join(["\n".join(lines), *failed])


def _deal_lines(deal: DealLine, every: bool) -> list[str]:
    head = f"{_pair(deal.pair, deal.base, deal.quote)} · {clean_name(deal.bot_name)}"
    account = [escape(cut_to_width(f"  {clean_name(deal.account_name)}", WIDTH))] if every else []
    age = "?" if deal.age is None else _age(deal.age)
    volume = (
        "?" if deal.bought_volume is None else format_money_rounded(deal.bought_volume, deal.quote)
    )
    profit = _signed(deal.profit_usd)
    if deal.profit_percentage is not None:
        profit += " " + format_percentage(deal.profit_percentage)
    return [
        escape(cut_to_width(head, WIDTH)),
        *account,
        escape(spread(f"  {age} · {volume}", profit)),
    ]


def _age(age: timedelta) -> str:
    """How long a deal runs, short: `45m`, `10h`, `4d`."""
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


def _fitting(render: Callable[[int], str], sizes: Sequence[int]) -> str:
    """The reply with the most items shown (of `sizes`, largest first) that fits one message."""
    text = ""
    for shown in sizes:
        text = render(shown)
        if len(text) <= MESSAGE_LIMIT:
            return text
    return text


def signed_usd(amount: Decimal | None) -> str:
    """`+$12.30`, `-$4.00`, or `n/a`: a bot's or a deal's profit, as /bots and /deals show it."""
    return _signed(amount)


def pair_text(pair: str | None, base: str | None = None, quote: str | None = None) -> str:
    """`SOL/USDT`, as /deals shows a deal's pair."""
    return _pair(pair, base, quote)
