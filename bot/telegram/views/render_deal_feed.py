"""What the deal feed posts: one closed deal, or a digest listing each of several, in the
chat's language (`t`); numbers, pairs, bot and account names as they are in every language."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.services.deal_feed import PAUSED_KEY_REFUSED, PAUSED_NO_PERMISSION, ClosedDeal
from bot.services.records import DealFeedOptions
from bot.telegram.views import texts
from bot.telegram.views.html import clean_name, escape
from bot.telegram.views.numbers import format_money, format_percentage
from bot.telegram.views.render import date_time
from bot.telegram.views.render_bots import pair_text
from bot.telegram.views.texts import describe_interval, human_duration
from bot.telegram.views.translator import Translator


def _result(t: Translator, deal: ClosedDeal) -> str:
    """`+$1.50 (+1.50%)`, as plain text."""
    if deal.profit_usd is None:
        return t(texts.NOT_AVAILABLE)
    money = format_money(deal.profit_usd, "USD", signed=True)
    if deal.profit_percentage is None:
        return money
    return f"{money} ({format_percentage(deal.profit_percentage)})"


def _ran(t: Translator, deal: ClosedDeal) -> str | None:
    if deal.opened_at is None or deal.opened_at > deal.closed_at:
        return None
    return human_duration(t, (deal.closed_at - deal.opened_at).total_seconds())


def render_closed_deal(
    t: Translator, deal: ClosedDeal, *, zone: ZoneInfo, show_account: bool
) -> str:
    closed_as = t(texts.DEAL_CLOSED_AS[deal.close.value])
    lines = []
    if deal.late:
        lines.append(t(texts.DEAL_LATE, when=date_time(deal.closed_at, zone)))
    lines.append(f"{closed_as} · <b>{escape(pair_text(deal.pair))}</b>")
    bot = t(texts.DEAL_BOT, bot=f"<b>{escape(clean_name(deal.bot_name))}</b>")
    if show_account and deal.account_name:
        bot += f" · {escape(clean_name(deal.account_name))}"
    lines.append(bot)
    word = texts.DEAL_LOSS if deal.losing else texts.DEAL_PROFIT
    result = t(word, result=escape(_result(t, deal)))
    ran = _ran(t, deal)
    if ran is not None:
        result += " · " + t(texts.DEAL_RAN, duration=escape(ran))
    lines.append(result)
    return "\n".join(lines)


def render_deal_digest(
    t: Translator,
    deals: Sequence[ClosedDeal],
    name: str,
    *,
    show_account: bool,
    part: int | None = None,
) -> str:
    """One line a deal (they fit one message: DIGEST_SIZE lines of bounded names)."""
    head = t.plural(texts.DEALS_DIGEST, len(deals), name=escape(clean_name(name)))
    if part is not None:
        head += " " + t(texts.DEALS_DIGEST_PART, part=part)
    lines = [head]
    if any(deal.late for deal in deals):
        lines.append(t(texts.DEALS_DIGEST_LATE))
    for deal in deals:
        parts = [
            t(texts.DEAL_CLOSED_AS[deal.close.value]),
            f"<b>{escape(pair_text(deal.pair))}</b>",
            escape(clean_name(deal.bot_name, limit=32)),
        ]
        if show_account and deal.account_name:
            parts.append(escape(clean_name(deal.account_name, limit=32)))
        parts.append(escape(_result(t, deal)))
        ran = _ran(t, deal)
        if ran is not None:
            parts.append(escape(ran))
        lines.append(" · ".join(parts))
    total = sum((d.profit_usd for d in deals if d.profit_usd is not None), Decimal(0))
    total_text = escape(format_money(total, "USD", signed=True))
    lines.append(t(texts.DEALS_DIGEST_TOTAL, total=total_text))
    return "\n".join(lines)


def render_feed_subscribed(
    t: Translator, name: str, options: DealFeedOptions, poll_seconds: int
) -> str:
    return t(
        texts.FEED_SUBSCRIBED_AS[options.losses, options.quiet],
        name=escape(clean_name(name)),
        period=escape(describe_interval(t, poll_seconds)),
    )


def render_feed_paused(t: Translator, name: str, account: str, reason: str) -> str:
    sentence = {
        PAUSED_NO_PERMISSION: texts.BOTS_READ_MISSING,
        PAUSED_KEY_REFUSED: texts.FEED_KEY_REFUSED,
    }.get(reason, texts.FEED_NOT_CONNECTED)
    return t(
        texts.FEED_PAUSED,
        name=escape(clean_name(name)),
        reason=t(sentence),
        account=escape(account),
    )


def render_feed_ended(t: Translator, name: str) -> str:
    return t(texts.FEED_ENDED, name=escape(clean_name(name)))
