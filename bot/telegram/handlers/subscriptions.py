"""/subscribe, /subscriptions, /unsubscribe, /alert, /timezone, and chat membership changes."""

from __future__ import annotations

import re

from telegram import ChatMember, Update
from telegram.error import TelegramError

from bot.services.records import FEED_CONTENTS, Subscription
from bot.telegram.context import Context
from bot.telegram.handlers.admins import is_admin
from bot.telegram.handlers.chat_command import ChatCommand, ChatRequest
from bot.telegram.handlers.common import Asker
from bot.telegram.handlers.subscription_kinds import SUBSCRIPTION_KINDS
from bot.telegram.notifications import migrate, shut_out
from bot.telegram.views import texts
from bot.telegram.views.html import clean_name, escape
from bot.telegram.views.render import (
    render_alert_added,
    render_listing,
    render_subscribed,
    target_name,
)
from bot.telegram.views.render_deal_feed import render_feed_subscribed

# An entry's number as /subscriptions shows it (`#12`) or bare; 18 digits fit any stored id.
_ENTRY_NUMBER = re.compile(r"#?(\d{1,18})", re.ASCII)


def _topic(who: Asker) -> int | None:
    """The forum topic the command came from; None outside topics (General included)."""
    return who.message.message_thread_id if who.message.is_topic_message else None


async def subscribe(request: ChatRequest) -> None:
    who = request.who
    subscriptions = request.services.subscriptions
    subscription = await subscriptions.subscribe(
        who.chat_id, who.user_id, request.argument, _topic(who)
    )
    stored = await subscriptions.account_name(who.user_id, subscription.target)
    name = target_name(request.context.t, subscription.target, stored)
    if subscription.content in FEED_CONTENTS:
        await request.reply(await _feed_subscribed(request, subscription, name))
        return
    next_run = subscriptions.next_runs[subscription.id]
    next_post = SUBSCRIPTION_KINDS[subscription.content].next_post
    await request.reply(
        render_subscribed(
            request.context.t, subscription, name, next_run, request.settings.zone, next_post
        )
    )


async def _feed_subscribed(request: ChatRequest, subscription: Subscription, name: str) -> str:
    subscriptions = request.services.subscriptions
    options = await subscriptions.feed_options(subscription.id)
    return render_feed_subscribed(request.context.t, name, options, subscriptions.feed_poll_seconds)


async def alert(request: ChatRequest) -> None:
    who = request.who
    added, name = await request.services.subscriptions.add_alert(
        who.chat_id, who.user_id, request.argument, _topic(who)
    )
    await request.reply(render_alert_added(request.context.t, added, name))


async def _user_names(context: Context, chat_id: int, user_ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for user_id in user_ids:
        try:
            member = await context.bot.get_chat_member(chat_id, user_id)
        except TelegramError:
            continue
        names[user_id] = member.user.full_name
    return names


async def subscriptions_listed(request: ChatRequest) -> None:
    context, who = request.context, request.who
    entries = await request.services.subscriptions.listing(who.chat_id)
    owners = await _user_names(context, who.chat_id, {entry.user_id for entry in entries})
    next_runs = request.services.subscriptions.next_runs
    await request.reply(
        render_listing(context.t, entries, next_runs, owners, request.settings.zone)
    )


async def unsubscribe(request: ChatRequest) -> None:
    context, who = request.context, request.who
    given = _ENTRY_NUMBER.fullmatch(request.argument)
    if given is None:
        await request.reply(context.t(texts.UNSUBSCRIBE_USAGE))
        return
    entry = await request.services.subscriptions.remove(
        who.chat_id, int(given[1]), who.user_id, await is_admin(context, who)
    )
    removed = texts.SUBSCRIPTION_REMOVED if entry.subscription is not None else texts.ALERT_REMOVED
    name = target_name(context.t, entry.target, entry.account_name)
    await request.reply(context.t(removed, number=entry.number, account=escape(clean_name(name))))


async def timezone(request: ChatRequest) -> None:
    context, who = request.context, request.who
    given = request.argument
    if not given:
        current = request.settings.zone_name
        await request.reply(context.t(texts.TIMEZONE_NOW, zone=escape(current)))
        return
    may_change = who.is_private or await is_admin(context, who)
    found = await request.services.chat_settings.set_timezone(
        who.chat_id, given, may_change=may_change
    )
    await request.reply(context.t(texts.TIMEZONE_SET, zone=escape(found.zone_name)))


SUBSCRIBE_COMMAND = ChatCommand(
    "subscribe",
    "/subscribe <account|all> every 1h",
    texts.DOES_SUBSCRIBE,
    subscribe,
)
SUBSCRIPTIONS_COMMAND = ChatCommand(
    "subscriptions",
    "/subscriptions",
    texts.DOES_SUBSCRIPTIONS,
    subscriptions_listed,
)
UNSUBSCRIBE_COMMAND = ChatCommand(
    "unsubscribe",
    "/unsubscribe <number>",
    texts.DOES_UNSUBSCRIBE,
    unsubscribe,
)
ALERT_COMMAND = ChatCommand(
    "alert",
    "/alert <account> balance < 25000",
    texts.DOES_ALERT,
    alert,
)
TIMEZONE_COMMAND = ChatCommand(
    "timezone",
    "/timezone Europe/Berlin",
    texts.DOES_TIMEZONE,
    timezone,
)


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
        chat_settings = context.bot_data.services.chat_settings
        await shut_out(context.bot, subscriptions, chat_settings, change.chat.id, change.chat.title)
    elif status in {ChatMember.MEMBER, ChatMember.ADMINISTRATOR}:
        await subscriptions.resume_chat(change.chat.id)
