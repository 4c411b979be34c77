"""Summaries and lists as Telegram HTML. Every value from 3Commas or a user is escaped here."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.services.accounts import RefreshResult
from bot.services.portfolio import portfolio_total
from bot.services.records import (
    ALL_ACCOUNTS,
    FEED_CONTENTS,
    Alert,
    DealFeedOptions,
    KnownAccount,
    Subscription,
    SubscriptionContent,
)
from bot.services.schedules import UNSCHEDULABLE
from bot.services.subscriptions import ListedEntry
from bot.services.summary import AccountSummary
from bot.targets import Target
from bot.telegram.views import texts
from bot.telegram.views.html import clean_name, echo, escape
from bot.telegram.views.numbers import (
    currency_code,
    format_btc,
    format_money,
    format_number,
    format_percentage,
    trend_arrow,
)
from bot.telegram.views.texts import describe_interval, error_sentence, unreadable_accounts
from bot.telegram.views.translator import Translator

KEY_STATES = {"expired": texts.KEYS_EXPIRED, "expire_soon": texts.KEYS_EXPIRE_SOON}


def target_name(t: Translator, target: Target, name: str | None) -> str:
    """Which account a subscription, alert or feed is about, as plain text in the reader's
    language: all accounts, the stored name, or (no longer stored) the account's id. The
    services hand the target and the stored name; the words are chosen here."""
    if target == ALL_ACCOUNTS:
        return t(texts.ALL_ACCOUNTS_NAME)
    return name if name is not None else t(texts.ACCOUNT_BY_ID, id=target)


def account_title(name: str | None, exchange: str | None) -> str:
    title = f"<b>{escape(clean_name(name))}</b>"
    return f"{title} · {escape(clean_name(exchange))}" if exchange else title


def change_text(amount: Decimal | None, percentage: Decimal | None, currency: str) -> str:
    """`+$312.09 (+1.19%)`, `-2.12%`, or `n/a`: a change as every view shows it."""
    if amount is None and percentage is None:
        return "n/a"
    parts = []
    if amount is not None:
        parts.append(format_money(amount, currency, signed=True))
    if percentage is not None:
        shown = format_percentage(percentage)
        parts.append(f"({shown})" if amount is not None else shown)
    return " ".join(parts)


def _change(
    t: Translator,
    label: str,
    amount: Decimal | None,
    percentage: Decimal | None,
    currency: str,
) -> str:
    """`label` (Profit, Today) with the change: an arrow, the amount and the percentage."""
    if amount is None and percentage is None:
        return t(label, change=escape(t(texts.NOT_AVAILABLE)))
    arrow = trend_arrow(amount if amount is not None else percentage)
    return t(label, change=f"{arrow} {escape(change_text(amount, percentage, currency))}")


def _updated(t: Translator, moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return escape(t(texts.UPDATED_NOW))
    try:
        return t(texts.UPDATED, when=date_time(moment, zone))
    except (OverflowError, ValueError):  # a date at the edge of the calendar
        return t(texts.UPDATED, when=escape(moment.isoformat(timespec="minutes")))


def balance_text(summary: AccountSummary, *, with_usd: bool) -> str:
    """`€1,204.10`, with `(≈ $1,301.63)` after it when `with_usd` and not in USD; `n/a`."""
    if summary.balance is None:
        return "n/a"
    balance = format_money(summary.balance, summary.currency)
    if with_usd and summary.currency != "USD" and summary.balance_usd is not None:
        balance += f" (≈ {format_money(summary.balance_usd, 'USD')})"
    return balance


def render_account_summary(
    t: Translator,
    summary: AccountSummary,
    *,
    zone: ZoneInfo,
    with_usd: bool = False,
    bots_today: str | None = None,
) -> str:
    """One account; `with_usd` adds the USD value a total in USD counts (when not shown);
    `bots_today`, the bots' line, stands under the account's own today."""
    lines = [account_title(summary.name, summary.exchange)]
    balance = (
        t(texts.NOT_AVAILABLE)
        if summary.balance is None
        else balance_text(summary, with_usd=with_usd)
    )
    if summary.balance_btc is not None and summary.currency != "BTC":
        balance += f" · {format_btc(summary.balance_btc)}"
    lines.append(t(texts.BALANCE, balance=f"<b>{escape(balance)}</b>"))
    lines.append(
        _change(t, texts.PROFIT, summary.profit, summary.profit_percentage, summary.currency)
    )
    lines.append(
        _change(t, texts.TODAY, summary.day_profit, summary.day_profit_percentage, summary.currency)
    )
    if bots_today is not None:
        lines.append(bots_today)
    state = summary.api_keys_state
    if state and state != "ok":
        known = KEY_STATES.get(state)
        told = t(known) if known else t(texts.KEYS_STATE, state=clean_name(state))
        lines.append(escape(told))
    lines.append(f"<i>{_updated(t, summary.updated_at, zone)}</i>")
    return "\n".join(lines)


def render_progress(t: Translator, name: str | None, working: str = texts.REFRESHING) -> str:
    """`working`: the command's sentence (`Refreshing {name}…`)."""
    before, _, after = t(working, name="\0").partition("\0")
    return f"⏳ {escape(before)}<b>{escape(clean_name(name))}</b>{escape(after)}"


def render_error(t: Translator, name: str | None, error: Exception) -> str:
    return f"{account_title(name, None)}\n❌ {escape(error_sentence(t, error))}"


def counted_accounts(t: Translator, answered: int, total: int) -> str:
    """`3 accounts`, `1 account`, or `2 of 3 accounts` when some did not answer."""
    if answered == total:
        return t.plural(texts.ACCOUNTS_COUNTED, total)
    return t.plural(texts.ACCOUNTS_ANSWERED, total, answered=answered)


def render_refresh_all(
    t: Translator,
    results: Sequence[RefreshResult],
    *,
    zone: ZoneInfo,
    bots_today: str | None = None,
) -> str:
    """Every account's summary, then the total in USD and BTC of those that answered, and
    their today added up (bot.services.portfolio); `bots_today`, the bots' line, under it."""
    blocks: list[str] = []
    for result in results:
        if result.summary is None:
            blocks.append(render_error(t, result.account.name, result.error or Exception()))
            continue
        blocks.append(render_account_summary(t, result.summary, zone=zone, with_usd=True))
    if not results:
        return t(texts.NO_EXCHANGE_ACCOUNTS)
    sum_up = portfolio_total(results)
    if not sum_up.answered:
        return "\n\n".join([*blocks, escape(t(texts.TOTAL_UNAVAILABLE))])
    value = (
        f"<b>{escape(format_money(sum_up.balance_usd, 'USD'))}</b> · "
        f"{escape(format_btc(sum_up.balance_btc))}"
    )
    total = t(
        texts.TOTAL,
        accounts=counted_accounts(t, sum_up.answered, sum_up.accounts),
        value=value,
        updated=_balances_updated(t, sum_up.updated, zone),
    )
    if sum_up.today is not None:
        day = sum_up.today
        total += "\n" + _change(t, texts.TODAY, day.amount, day.percent, day.currency)
    if bots_today is not None:
        total += "\n" + bots_today
    return "\n\n".join([*blocks, total])


def render_account_list(
    t: Translator,
    accounts: Sequence[KnownAccount],
    *,
    command: str = "refresh",
    tap_to: str = texts.TAP_TO_REFRESH,
) -> str:
    """The accounts, for a message that carries their buttons (account_buttons) for `command`;
    `tap_to`: the command's sentence saying what tapping one does."""
    if not accounts:
        return t(texts.NO_ACCOUNTS)
    lines = [t(texts.YOUR_ACCOUNTS)]
    lines += [
        f"• {account_title(account.name, account.exchange)} · "
        + t(texts.ACCOUNT_ID, id=f"<code>{account.account_id}</code>")
        for account in accounts
    ]
    lines.append("\n" + t(tap_to, command=command))
    return "\n".join(lines)


def render_connected(t: Translator, accounts: Sequence[KnownAccount], unreadable: int = 0) -> str:
    left_out = f"\n\n{escape(unreadable_accounts(t, unreadable))}" if unreadable else ""
    found = t.plural(texts.CONNECTED, len(accounts))
    return f"{found}\n\n" + render_account_list(t, accounts) + left_out


def render_no_match(
    t: Translator, query: str, accounts: Sequence[KnownAccount], *, command: str, tap_to: str
) -> str:
    """In a private chat, with the account buttons of `command`."""
    listed = render_account_list(t, accounts, command=command, tap_to=tap_to)
    return t(texts.NO_MATCH, query=escape(echo(query))) + f"\n\n{listed}"


def render_no_match_in_group(t: Translator, query: str, bot_username: str) -> str:
    """In a group: the sender's accounts are not listed for everyone to read."""
    link = escape(f"https://t.me/{bot_username}")
    return t(texts.NO_MATCH_IN_GROUP, query=escape(echo(query)), link=link)


def render_unknown_command(t: Translator, name: str, commands: Sequence[str]) -> str:
    """`/refersh` -> "Did you mean /refresh?"; with nothing close, /help."""
    shown = escape(echo(f"/{name}"))
    closest = difflib.get_close_matches(name.casefold(), commands, n=1)
    if closest:
        return t(texts.UNKNOWN_COMMAND_CLOSE, command=shown, closest=f"/{closest[0]}")
    return t(texts.UNKNOWN_COMMAND, command=shown)


def date_time(moment: datetime, zone: ZoneInfo) -> str:
    """`2026-12-04 14:02 Europe/Berlin` in the chat's zone (escaped)."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {escape(zone.key)}"


def time_of_day(moment: datetime, zone: ZoneInfo) -> str:
    """`14:02 UTC` in the chat's zone, as plain text (escape it): for a moment of today, such
    as the one just asked."""
    try:
        return f"{moment.astimezone(zone):%H:%M} {zone.key}"
    except (OverflowError, ValueError):  # a date at the edge of the calendar
        return moment.isoformat(timespec="minutes")


def _balances_updated(t: Translator, moments: Sequence[datetime], zone: ZoneInfo) -> str:
    """`balances updated 14:02 UTC`, or `13:58–14:02 UTC` from the first to the last, dated
    when they fall on different days."""
    if not moments:
        return escape(t(texts.BALANCES_UPDATED_NOW))
    utc = sorted(moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in moments)
    try:
        first, last = utc[0].astimezone(zone), utc[-1].astimezone(zone)
    except (OverflowError, ValueError):  # a date at the edge of the calendar
        return escape(t(texts.BALANCES_UPDATED, when=utc[0].isoformat(timespec="minutes")))
    shape = "%H:%M" if first.date() == last.date() else "%Y-%m-%d %H:%M"
    start, end = f"{first:{shape}}", f"{last:{shape}}"
    span = start if start == end else f"{start}–{end}"
    return escape(t(texts.BALANCES_UPDATED, when=f"{span} {zone.key}"))


def render_schedule(t: Translator, subscription: Subscription) -> str:
    """`daily at 09:00`, `every 1 h`; what it posts follows when it is not the summary."""
    if subscription.schedule_kind == "daily":
        schedule = t(texts.DAILY_AT, time=escape(subscription.daily_time))
    else:
        interval = describe_interval(t, subscription.interval_seconds or 0)
        schedule = t(texts.EVERY, interval=escape(interval))
    if subscription.content != SubscriptionContent.SUMMARY:
        content = texts.CONTENT_NAMES.get(subscription.content)
        schedule += f" · {escape(t(content) if content else subscription.content)}"
    return schedule


def render_feed_schedule(t: Translator, options: DealFeedOptions | None) -> str:
    """In /subscriptions: `deals as they close · losses only · quiet`."""
    words = [t(texts.FEED_WHAT)]
    if options is not None and options.losses:
        words.append(t(texts.FEED_LOSSES_OPTION))
    if options is not None and options.quiet:
        words.append(t(texts.FEED_QUIET_OPTION))
    return " · ".join(words)


def render_alert_rule(t: Translator, alert: Alert) -> str:
    if alert.metric == "balance":
        threshold = (
            format_number(alert.threshold)
            if alert.currency is None
            else format_money(alert.threshold, alert.currency)
        )
        return t(
            texts.ALERT_BALANCE_RULE, operator=escape(alert.operator), threshold=escape(threshold)
        )
    return t(
        texts.ALERT_DAY_RULE,
        operator=escape(alert.operator),
        threshold=escape(format_percentage(alert.threshold)),
    )


def render_subscribed(
    t: Translator,
    subscription: Subscription,
    name: str,
    next_run: datetime,
    zone: ZoneInfo,
    next_post: str,
) -> str:
    """`next_post`: the kind's sentence naming what it posts next (`Next balance chart: …`)."""
    subscribed = t(
        texts.SUBSCRIBED,
        account=escape(clean_name(name)),
        schedule=render_schedule(t, subscription),
    )
    return subscribed + "\n" + t(next_post, when=date_time(next_run, zone))


def render_alert_added(t: Translator, alert: Alert, name: str) -> str:
    return t(texts.ALERT_SET, account=escape(clean_name(name)), rule=render_alert_rule(t, alert))


def render_alert_fired(
    t: Translator, alert: Alert, summary: AccountSummary, *, zone: ZoneInfo
) -> str:
    """`🔔 Alert: Kraken Main · balance < €1,000.00`, then the account's summary."""
    operator = escape(alert.operator)
    if alert.metric == "balance":
        threshold = format_money(alert.threshold, alert.currency or summary.currency)
        rule = t(texts.ALERT_BALANCE_RULE, operator=operator, threshold=escape(threshold))
    else:
        rule = t(
            texts.ALERT_DAY_RULE_IN,
            operator=operator,
            threshold=escape(format_percentage(alert.threshold)),
            currency=escape(currency_code(summary.currency)),
        )
    headline = t(texts.ALERT_FIRED, account=escape(clean_name(summary.name)), rule=rule)
    return f"{headline}\n\n{render_account_summary(t, summary, zone=zone)}"


def render_chat(t: Translator, chat_id: int, title: str | None) -> str:
    """A chat named for its members: by its title, or by its id when Telegram gave none."""
    if title and clean_name(title, fallback=""):
        return f"<b>{escape(clean_name(title))}</b>"
    return t(texts.CHAT_BY_ID, id=chat_id)


def render_subscription_unschedulable(
    t: Translator, subscription: Subscription, name: str | None
) -> str:
    """Told once to the owner of a stored subscription that cannot be scheduled."""
    here = subscription.chat_id == subscription.user_id
    return t(
        texts.UNSCHEDULABLE_HERE if here else texts.UNSCHEDULABLE_IN_CHAT,
        number=subscription.id,
        account=escape(clean_name(target_name(t, subscription.target, name))),
        schedule=render_schedule(t, subscription),
        chat=subscription.chat_id,
    )


def render_subscription_failed(
    t: Translator, subscription: Subscription, name: str | None, error: Exception, failed: str
) -> str:
    """`failed`: the kind's sentence naming what failed (`The scheduled balance chart …`)."""
    account = escape(clean_name(target_name(t, subscription.target, name)))
    headline = t(failed, account=account, reason=escape(error_sentence(t, error)))
    return f"{headline}\n{t(texts.KEEP_TRYING)}"


def _state(
    t: Translator, subscription: Subscription, next_runs: dict[int, datetime], zone: ZoneInfo
) -> str:
    if subscription.paused:
        return t(texts.STATE_PAUSED)
    if subscription.content in FEED_CONTENTS:
        return t(texts.STATE_WATCHING)
    if subscription.id in next_runs:
        return t(texts.STATE_NEXT, when=date_time(next_runs[subscription.id], zone))
    if subscription.last_error == UNSCHEDULABLE:
        return t(texts.STATE_UNSCHEDULABLE)
    return t(texts.STATE_RUNNING)


def render_listing(
    t: Translator,
    entries: Sequence[ListedEntry],
    next_runs: dict[int, datetime],
    owners: dict[int, str],
    zone: ZoneInfo,
) -> str:
    if not entries:
        return t(texts.NO_ENTRIES)
    lines = [t(texts.ENTRIES_HEADING, zone=escape(zone.key))]
    for entry in entries:
        owner = escape(clean_name(owners.get(entry.user_id), fallback=str(entry.user_id)))
        by = t(texts.ENTRY_BY, owner=owner)
        name = escape(clean_name(target_name(t, entry.target, entry.account_name)))
        if entry.subscription is not None:
            subscription = entry.subscription
            schedule = (
                render_feed_schedule(t, entry.feed)
                if subscription.content in FEED_CONTENTS
                else render_schedule(t, subscription)
            )
            lines.append(
                f"<b>#{entry.number}</b> 🕘 {name} {schedule} · {by} · "
                + _state(t, subscription, next_runs, zone)
            )
        elif entry.alert is not None:
            lines.append(
                f"<b>#{entry.number}</b> 🔔 {name} {render_alert_rule(t, entry.alert)} · {by}"
            )
    lines.append("\n" + t(texts.REMOVE_ONE))
    return "\n".join(lines)
