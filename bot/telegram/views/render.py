"""Summaries and lists as Telegram HTML. Every value from 3Commas or a user is escaped here."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.services.accounts import RefreshResult
from bot.services.portfolio import portfolio_total
from bot.services.records import Alert, KnownAccount, Subscription, SubscriptionContent
from bot.services.schedules import UNSCHEDULABLE, describe_seconds
from bot.services.subscriptions import ListedEntry
from bot.services.summary import AccountSummary
from bot.telegram.views.html import clean_name, echo, escape
from bot.telegram.views.numbers import (
    currency_code,
    format_btc,
    format_money,
    format_number,
    format_percentage,
    trend_arrow,
)
from bot.telegram.views.texts import (
    BALANCES_UPDATED,
    BALANCES_UPDATED_NOW,
    TOTAL_UNAVAILABLE,
    error_sentence,
    unreadable_accounts,
)

KEY_STATES = {
    "expired": "⚠️ The exchange API keys in 3Commas have expired: renew them in 3Commas.",
    "expire_soon": "⚠️ The exchange API keys in 3Commas expire soon: renew them in 3Commas.",
}


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


def _change(label: str, amount: Decimal | None, percentage: Decimal | None, currency: str) -> str:
    if amount is None and percentage is None:
        return f"{label}: n/a"
    arrow = trend_arrow(amount if amount is not None else percentage)
    return f"{label}: {arrow} {escape(change_text(amount, percentage, currency))}"


def _updated(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return "Updated just now"
    try:
        return f"Updated {_when(moment, zone)}"
    except (OverflowError, ValueError):  # a date at the edge of the calendar
        return f"Updated {escape(moment.isoformat(timespec='minutes'))}"


def balance_text(summary: AccountSummary, *, with_usd: bool) -> str:
    """`€1,204.10`, with `(≈ $1,301.63)` after it when `with_usd` and not in USD; `n/a`."""
    if summary.balance is None:
        return "n/a"
    balance = format_money(summary.balance, summary.currency)
    if with_usd and summary.currency != "USD" and summary.balance_usd is not None:
        balance += f" (≈ {format_money(summary.balance_usd, 'USD')})"
    return balance


def render_account_summary(
    summary: AccountSummary, *, zone: ZoneInfo, with_usd: bool = False
) -> str:
    """One account; `with_usd` adds the USD value a total in USD counts (when not shown)."""
    lines = [account_title(summary.name, summary.exchange)]
    balance = balance_text(summary, with_usd=with_usd)
    if summary.balance_btc is not None and summary.currency != "BTC":
        balance += f" · {format_btc(summary.balance_btc)}"
    lines.append(f"Balance: <b>{escape(balance)}</b>")
    lines.append(_change("Profit", summary.profit, summary.profit_percentage, summary.currency))
    lines.append(
        _change("Today", summary.day_profit, summary.day_profit_percentage, summary.currency)
    )
    if summary.api_keys_state and summary.api_keys_state != "ok":
        lines.append(
            escape(
                KEY_STATES.get(
                    summary.api_keys_state,
                    f"⚠️ Exchange API keys in 3Commas: {clean_name(summary.api_keys_state)}",
                )
            )
        )
    lines.append(f"<i>{_updated(summary.updated_at, zone)}</i>")
    return "\n".join(lines)


def render_progress(name: str | None, working: str = "Refreshing") -> str:
    return f"⏳ {escape(working)} <b>{escape(clean_name(name))}</b>…"


def render_error(name: str | None, error: Exception) -> str:
    return f"{account_title(name, None)}\n❌ {escape(error_sentence(error))}"


def counted_accounts(answered: int, total: int) -> str:
    """`3 accounts`, `1 account`, or `2 of 3 accounts` when some did not answer."""
    accounts = f"{total} account" + ("" if total == 1 else "s")
    return accounts if answered == total else f"{answered} of {accounts}"


def render_refresh_all(results: Sequence[RefreshResult], *, zone: ZoneInfo) -> str:
    """Every account's summary, then the total in USD and BTC of those that answered, and
    their today added up (bot.services.portfolio)."""
    blocks: list[str] = []
    for result in results:
        if result.summary is None:
            blocks.append(render_error(result.account.name, result.error or Exception()))
            continue
        blocks.append(render_account_summary(result.summary, zone=zone, with_usd=True))
    if not results:
        return "You have no exchange accounts in 3Commas."
    sum_up = portfolio_total(results)
    if not sum_up.answered:
        return "\n\n".join([*blocks, escape(TOTAL_UNAVAILABLE)])
    total = f"<b>Total</b> ({counted_accounts(sum_up.answered, sum_up.accounts)}): "
    total += f"<b>{escape(format_money(sum_up.balance_usd, 'USD'))}</b> · "
    total += escape(format_btc(sum_up.balance_btc))
    total += f" ({_balances_updated(sum_up.updated, zone)})"
    if sum_up.today is not None:
        day = sum_up.today
        total += "\n" + _change("Today", day.amount, day.percent, day.currency)
    return "\n\n".join([*blocks, total])


def render_account_list(
    accounts: Sequence[KnownAccount], *, command: str = "refresh", tap_to: str = "refresh it"
) -> str:
    """The accounts, for a message that carries their buttons (account_buttons) for `command`."""
    if not accounts:
        return "Your 3Commas key sees no exchange accounts. Connect an exchange in 3Commas first."
    lines = ["<b>Your accounts</b>"]
    lines += [
        f"• {account_title(account.name, account.exchange)} · id <code>{account.account_id}</code>"
        for account in accounts
    ]
    lines.append(f"\nTap one to {escape(tap_to)}, or send /{command} &lt;name or id&gt;.")
    return "\n".join(lines)


def render_connected(accounts: Sequence[KnownAccount], unreadable: int = 0) -> str:
    found = f"{len(accounts)} account" + ("" if len(accounts) == 1 else "s")
    left_out = f"\n\n{escape(unreadable_accounts(unreadable))}" if unreadable else ""
    return f"✅ Connected. Your key sees {found}.\n\n" + render_account_list(accounts) + left_out


def render_no_match(
    query: str, accounts: Sequence[KnownAccount], *, command: str, tap_to: str
) -> str:
    """In a private chat, with the account buttons of `command`."""
    listed = render_account_list(accounts, command=command, tap_to=tap_to)
    return f"No account matches “{escape(echo(query))}”.\n\n{listed}"


def render_no_match_in_group(query: str, bot_username: str) -> str:
    """In a group: the sender's accounts are not listed for everyone to read."""
    link = escape(f"https://t.me/{bot_username}")
    return (
        f"No account of yours matches “{escape(echo(query))}”. "
        f'Send /accounts in <a href="{link}">a private chat with me</a> to see yours.'
    )


def render_unknown_command(name: str, commands: Sequence[str]) -> str:
    """`/refersh` -> "Did you mean /refresh?"; with nothing close, /help."""
    shown = escape(echo(f"/{name}"))
    closest = difflib.get_close_matches(name.casefold(), commands, n=1)
    if closest:
        return f"I don't know {shown}. Did you mean /{closest[0]}? Send /help to see every command."
    return f"I don't know {shown}. Send /help to see every command."


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {escape(zone.key)}"


def time_of_day(moment: datetime, zone: ZoneInfo) -> str:
    """`14:02 UTC` in the chat's zone, as plain text (escape it): for a moment of today, such
    as the one just asked."""
    try:
        return f"{moment.astimezone(zone):%H:%M} {zone.key}"
    except (OverflowError, ValueError):  # a date at the edge of the calendar
        return moment.isoformat(timespec="minutes")


def _balances_updated(moments: Sequence[datetime], zone: ZoneInfo) -> str:
    """`balances updated 14:02 UTC`, or `13:58–14:02 UTC` from the first to the last, dated
    when they fall on different days."""
    if not moments:
        return escape(BALANCES_UPDATED_NOW)
    utc = sorted(moment if moment.tzinfo else moment.replace(tzinfo=UTC) for moment in moments)
    try:
        first, last = utc[0].astimezone(zone), utc[-1].astimezone(zone)
    except (OverflowError, ValueError):  # a date at the edge of the calendar
        return escape(BALANCES_UPDATED.format(when=utc[0].isoformat(timespec="minutes")))
    shape = "%H:%M" if first.date() == last.date() else "%Y-%m-%d %H:%M"
    start, end = f"{first:{shape}}", f"{last:{shape}}"
    span = start if start == end else f"{start}–{end}"
    return escape(BALANCES_UPDATED.format(when=f"{span} {zone.key}"))


def render_schedule(subscription: Subscription) -> str:
    """`daily at 09:00`, `every 1 h`; what it posts follows when it is not the summary."""
    if subscription.schedule_kind == "daily":
        schedule = f"daily at {escape(subscription.daily_time)}"
    else:
        schedule = f"every {escape(describe_seconds(subscription.interval_seconds or 0))}"
    if subscription.content != SubscriptionContent.SUMMARY:
        schedule += f" · {escape(subscription.content)}"
    return schedule


def render_alert_rule(alert: Alert) -> str:
    if alert.metric == "balance":
        threshold = (
            format_number(alert.threshold)
            if alert.currency is None
            else format_money(alert.threshold, alert.currency)
        )
        return f"balance {escape(alert.operator)} {escape(threshold)}"
    return f"today {escape(alert.operator)} {escape(format_percentage(alert.threshold))}"


def render_subscribed(
    subscription: Subscription, name: str, next_run: datetime, zone: ZoneInfo, noun: str
) -> str:
    """`noun`: what it posts (`balance chart`)."""
    return (
        f"✅ Subscribed: <b>{escape(clean_name(name))}</b> {render_schedule(subscription)}.\n"
        f"Next {noun}: {_when(next_run, zone)}. "
        "Send /subscriptions to see them all."
    )


def render_alert_added(alert: Alert, name: str) -> str:
    return (
        f"🔔 Alert set: <b>{escape(clean_name(name))}</b> {render_alert_rule(alert)}.\n"
        "I post here once when it happens, and again only after it was false in between."
    )


def render_alert_fired(alert: Alert, summary: AccountSummary, *, zone: ZoneInfo) -> str:
    """`🔔 Alert: Kraken Main · balance < €1,000.00`, then the account's summary."""
    if alert.metric == "balance":
        threshold = format_money(alert.threshold, alert.currency or summary.currency)
        rule = f"balance {escape(alert.operator)} {escape(threshold)}"
    else:
        shown = format_percentage(alert.threshold)
        currency = currency_code(summary.currency)
        rule = f"today {escape(alert.operator)} {escape(shown)} in {escape(currency)}"
    headline = f"🔔 <b>Alert: {escape(clean_name(summary.name))}</b> · {rule}"
    return f"{headline}\n\n{render_account_summary(summary, zone=zone)}"


def render_chat(chat_id: int, title: str | None) -> str:
    """A chat named for its members: by its title, or by its id when Telegram gave none."""
    if title and clean_name(title, fallback=""):
        return f"<b>{escape(clean_name(title))}</b>"
    return f"chat <code>{chat_id}</code>"


def render_subscription_unschedulable(subscription: Subscription, name: str) -> str:
    """Told once to the owner of a stored subscription that cannot be scheduled."""
    where = (
        "here"
        if subscription.chat_id == subscription.owner_user_id
        else f"in chat <code>{subscription.chat_id}</code>"
    )
    return (
        f"⚠️ Your subscription #{subscription.id} (<b>{escape(clean_name(name))}</b> "
        f"{render_schedule(subscription)}) {where} cannot be scheduled, so it does not run. "
        f"Remove it there with /unsubscribe {subscription.id}, then subscribe again."
    )


def render_subscription_failed(name: str, error: Exception, noun: str) -> str:
    """`noun`: what the subscription posts (`balance chart`)."""
    return (
        f"⚠️ The scheduled {noun} of <b>{escape(clean_name(name))}</b> failed: "
        f"{escape(error_sentence(error))}\n"
        "I keep trying on schedule and will say when it works again."
    )


def _state(subscription: Subscription, next_runs: dict[int, datetime], zone: ZoneInfo) -> str:
    if subscription.paused:
        return "paused"
    if subscription.id in next_runs:
        return f"next {_when(next_runs[subscription.id], zone)}"
    if subscription.last_error == UNSCHEDULABLE:
        return "cannot be scheduled: remove it"
    return "running now"


def render_listing(
    entries: Sequence[ListedEntry],
    next_runs: dict[int, datetime],
    owners: dict[int, str],
    zone: ZoneInfo,
) -> str:
    if not entries:
        return (
            "No subscriptions or alerts in this chat yet. "
            "Try /subscribe &lt;account|all&gt; every 1h or /alert &lt;account&gt; day &lt; -5%."
        )
    lines = [f"<b>Subscriptions and alerts here</b> (times in {escape(zone.key)})"]
    for entry in entries:
        owner = escape(clean_name(owners.get(entry.owner_id), fallback=str(entry.owner_id)))
        name = escape(clean_name(entry.account_name))
        if entry.subscription is not None:
            subscription = entry.subscription
            lines.append(
                f"<b>#{entry.number}</b> 🕘 {name} {render_schedule(subscription)} · by {owner} · "
                + _state(subscription, next_runs, zone)
            )
        elif entry.alert is not None:
            lines.append(
                f"<b>#{entry.number}</b> 🔔 {name} {render_alert_rule(entry.alert)} · by {owner}"
            )
    lines.append("\nRemove one with /unsubscribe &lt;number&gt;.")
    return "\n".join(lines)
