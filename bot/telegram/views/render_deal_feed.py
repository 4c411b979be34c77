"""What the deal feed posts: one closed deal, or a digest listing each of several."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.services.deal_feed import PAUSED_KEY_REFUSED, PAUSED_NO_PERMISSION, ClosedDeal
from bot.services.records import DealFeedOptions
from bot.telegram.views.html import clean_name, escape
from bot.telegram.views.numbers import format_money, format_percentage
from bot.telegram.views.texts import (
    BOTS_READ_MISSING,
    DEAL_BOT,
    DEAL_CLOSED_AS,
    DEAL_LATE,
    DEAL_LOSS,
    DEAL_PROFIT,
    DEAL_RAN,
    DEALS_DIGEST,
    DEALS_DIGEST_LATE,
    DEALS_DIGEST_PART,
    DEALS_TOTAL,
    FEED_ENDED,
    FEED_KEY_REFUSED,
    FEED_LOSSES_OPTION,
    FEED_NOT_CONNECTED,
    FEED_ONLY_LOSSES,
    FEED_PAUSED,
    FEED_QUIET,
    FEED_QUIET_OPTION,
    FEED_SUBSCRIBED,
    FEED_WHAT,
    human_duration,
)

PAIR_LIMIT = 24


def pair_name(pair: str | None) -> str:
    """3Commas' `USDT_SOL` (quote_base) as traders write it: `SOL/USDT`."""
    if not pair:
        return "?"
    quote, _, base = pair.partition("_")
    shown = f"{base}/{quote}" if base else quote
    return clean_name(shown, limit=PAIR_LIMIT)


def _result(deal: ClosedDeal) -> str:
    """`+$1.50 (+1.50%)`."""
    if deal.profit_usd is None:
        return "?"
    money = format_money(deal.profit_usd, "USD", signed=True)
    if deal.profit_percentage is None:
        return money
    return f"{money} ({format_percentage(deal.profit_percentage)})"


def _ran(deal: ClosedDeal) -> str | None:
    if deal.opened_at is None or deal.opened_at > deal.closed_at:
        return None
    return human_duration((deal.closed_at - deal.opened_at).total_seconds())


def _when(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {zone.key}"


def render_closed_deal(deal: ClosedDeal, *, zone: ZoneInfo, show_account: bool) -> str:
    closed_as = DEAL_CLOSED_AS[deal.close.value]
    lines = []
    if deal.late:
        lines.append(escape(DEAL_LATE.format(when=_when(deal.closed_at, zone))))
    lines.append(f"{escape(closed_as)} · <b>{escape(pair_name(deal.pair))}</b>")
    bot = f"{DEAL_BOT}: <b>{escape(clean_name(deal.bot_name))}</b>"
    if show_account and deal.account_name:
        bot += f" · {escape(clean_name(deal.account_name))}"
    lines.append(bot)
    word = DEAL_LOSS if deal.losing else DEAL_PROFIT
    result = f"{word}: {escape(_result(deal))}"
    ran = _ran(deal)
    if ran is not None:
        result += " · " + escape(DEAL_RAN.format(duration=ran))
    lines.append(result)
    return "\n".join(lines)


def render_deal_digest(
    deals: Sequence[ClosedDeal], name: str, *, show_account: bool, part: int | None = None
) -> str:
    """One line a deal (they fit one message: DIGEST_SIZE lines of bounded names)."""
    head = DEALS_DIGEST.format(count=len(deals), name=escape(clean_name(name)))
    if part is not None:
        head += " " + escape(DEALS_DIGEST_PART.format(part=part))
    lines = [head]
    if any(deal.late for deal in deals):
        lines.append(escape(DEALS_DIGEST_LATE))
    for deal in deals:
        closed_as = DEAL_CLOSED_AS[deal.close.value]
        parts = [
            escape(closed_as),
            f"<b>{escape(pair_name(deal.pair))}</b>",
            escape(clean_name(deal.bot_name, limit=32)),
        ]
        if show_account and deal.account_name:
            parts.append(escape(clean_name(deal.account_name, limit=32)))
        parts.append(escape(_result(deal)))
        ran = _ran(deal)
        if ran is not None:
            parts.append(escape(ran))
        lines.append(" · ".join(parts))
    total = sum((d.profit_usd for d in deals if d.profit_usd is not None), Decimal(0))
    lines.append(f"{DEALS_TOTAL}: {escape(format_money(total, 'USD', signed=True))}")
    return "\n".join(lines)


def render_feed_subscribed(name: str, options: DealFeedOptions, period: str) -> str:
    return FEED_SUBSCRIBED.format(
        name=escape(clean_name(name)),
        which=FEED_ONLY_LOSSES if options.losses else "",
        how=FEED_QUIET if options.quiet else "",
        period=escape(period),
    )


def render_feed_schedule(options: DealFeedOptions | None) -> str:
    """In /subscriptions: `deals as they close · losses only · quiet`."""
    words = [FEED_WHAT]
    if options is not None and options.losses:
        words.append(FEED_LOSSES_OPTION)
    if options is not None and options.quiet:
        words.append(FEED_QUIET_OPTION)
    return escape(" · ".join(words))


def render_feed_paused(name: str, account: str, reason: str) -> str:
    sentence = {
        PAUSED_NO_PERMISSION: BOTS_READ_MISSING,
        PAUSED_KEY_REFUSED: FEED_KEY_REFUSED,
    }.get(reason, FEED_NOT_CONNECTED)
    return FEED_PAUSED.format(
        name=escape(clean_name(name)), reason=escape(sentence), account=escape(account)
    )


def render_feed_ended(name: str) -> str:
    return FEED_ENDED.format(name=escape(clean_name(name)))
