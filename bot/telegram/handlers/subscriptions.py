"""/subscribe, /subscriptions, /unsubscribe, /alert, /timezone, and chat membership changes."""

from __future__ import annotations

import re

from telegram import ChatMember, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.services.errors import FAILURES
from bot.telegram.context import Context
from bot.telegram.handlers.common import Asker, argument_text, asker, reply_error
from bot.telegram.handlers.subscription_kinds import SUBSCRIPTION_KINDS
from bot.telegram.notifications import migrate, shut_out
from bot.telegram.transport.replies import send_html
from bot.telegram.views.html import escape
from bot.telegram.views.render import render_alert_added, render_listing, render_subscribed

ADMINS = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
# An entry's number as /subscriptions shows it (`#12`) or bare; 18 digits fit any stored id.
_ENTRY_NUMBER = re.compile(r"#?(\d{1,18})", re.ASCII)


def _topic(who: Asker) -> int | None:
    """The forum topic the command came from; None outside topics (General included)."""
    return who.message.message_thread_id if who.message.is_topic_message else None


async def subscribe_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    subscriptions = context.bot_data.services.subscriptions
    try:
        subscription = await subscriptions.subscribe(
            who.chat_id, who.user_id, argument_text(who.message), _topic(who)
        )
        name = await subscriptions.account_name(who.user_id, subscription.account_selector)
        timezone = await subscriptions.timezone_name(who.chat_id)
    except FAILURES as error:
        await reply_error(context, who, error)
        return
    next_run = subscriptions.next_runs[subscription.id]
    await send_html(
        context.bot,
        who.chat_id,
        render_subscribed(
            subscription, name, next_run, timezone, SUBSCRIPTION_KINDS[subscription.content].noun
        ),
        reply_to=who.message.message_id,
    )


async def alert_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    try:
        alert, name = await context.bot_data.services.subscriptions.add_alert(
            who.chat_id, who.user_id, argument_text(who.message), _topic(who)
        )
    except FAILURES as error:
        await reply_error(context, who, error)
        return
    await send_html(
        context.bot, who.chat_id, render_alert_added(alert, name), reply_to=who.message.message_id
    )


async def _owner_names(context: Context, chat_id: int, owner_ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for owner_id in owner_ids:
        try:
            member = await context.bot.get_chat_member(chat_id, owner_id)
        except TelegramError:
            continue
        names[owner_id] = member.user.full_name
    return names


async def subscriptions_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    subscriptions = context.bot_data.services.subscriptions
    entries = await subscriptions.listing(who.chat_id)
    owners = await _owner_names(context, who.chat_id, {entry.owner_id for entry in entries})
    timezone = await subscriptions.timezone_name(who.chat_id)
    text = render_listing(entries, subscriptions.next_runs, owners, timezone)
    await send_html(context.bot, who.chat_id, text, reply_to=who.message.message_id)


async def _is_admin(context: Context, who: Asker) -> bool:
    if who.is_private:
        return False
    try:
        member = await context.bot.get_chat_member(who.chat_id, who.user_id)
    except TelegramError:
        return False
    return member.status in ADMINS


async def unsubscribe_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    given = _ENTRY_NUMBER.fullmatch(argument_text(who.message))
    if given is None:
        await send_html(
            context.bot,
            who.chat_id,
            "Send /unsubscribe &lt;number&gt;, with the number from /subscriptions.",
            reply_to=who.message.message_id,
        )
        return
    try:
        entry = await context.bot_data.services.subscriptions.remove(
            who.chat_id, int(given[1]), who.user_id, await _is_admin(context, who)
        )
    except FAILURES as error:
        await reply_error(context, who, error)
        return
    kind = "Subscription" if entry.subscription is not None else "Alert"
    await send_html(
        context.bot,
        who.chat_id,
        f"🗑 {kind} #{entry.number} ({escape(entry.account_name)}) removed.",
        reply_to=who.message.message_id,
    )


async def timezone_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    subscriptions = context.bot_data.services.subscriptions
    given = argument_text(who.message)
    if not given:
        current = await subscriptions.timezone_name(who.chat_id)
        text = f"This chat's time zone is {escape(current)}. Change it with /timezone Area/City."
        await send_html(context.bot, who.chat_id, text, reply_to=who.message.message_id)
        return
    try:
        may_change = who.is_private or await _is_admin(context, who)
        found = await subscriptions.set_timezone(who.chat_id, given, may_change=may_change)
    except FAILURES as error:
        await reply_error(context, who, error)
        return
    text = f"🕘 Daily summaries in this chat now follow {escape(found)}."
    await send_html(context.bot, who.chat_id, text, reply_to=who.message.message_id)


async def chat_migrated(update: Update, context: Context) -> None:
    """The old group's last message points to its new supergroup id."""
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id:
        subscriptions = context.bot_data.services.subscriptions
        await migrate(subscriptions, message.chat_id, message.migrate_to_chat_id)


async def membership_changed(update: Update, context: Context) -> None:
    """Removed or blocked: pause the chat's subscriptions. Added back: resume them."""
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    subscriptions = context.bot_data.services.subscriptions
    if status in {ChatMember.LEFT, ChatMember.BANNED}:
        await shut_out(context.bot, subscriptions, change.chat.id, change.chat.title)
    elif status in {ChatMember.MEMBER, ChatMember.ADMINISTRATOR}:
        await subscriptions.resume_chat(change.chat.id)
