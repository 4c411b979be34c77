"""A scheduled post is a command run by the clock: a due subscription makes the `Request` its
owner would make in its chat (its account or all, the command's default option) and posts the
`Reply` the command returns; errors are told once, and recovery once."""

from __future__ import annotations

from dataclasses import replace

from telegram.ext import CallbackContext

from bot.services.publisher import Publisher
from bot.services.records import KnownAccount, Subscription
from bot.services.subscriptions import RunOutcome
from bot.telegram.context import BotApplication
from bot.telegram.handlers.account_command import Request
from bot.telegram.handlers.subscription_kinds import SUBSCRIPTION_KINDS
from bot.telegram.views.render import (
    render_subscription_failed,
    render_subscription_unschedulable,
)
from bot.telegram.views.render_history import CAPTION_LIMIT
from bot.telegram.views.reply import PhotoReply, Reply, TextReply

WORKING_AGAIN = "✅ Working again.\n\n"


class ScheduledPosts:
    """The subscription service's `Delivery`: what a run posts, and posting it."""

    def __init__(self, application: BotApplication, publisher: Publisher[Reply]) -> None:
        self._application = application
        self._publisher = publisher

    async def produce(self, subscription: Subscription, account: KnownAccount | None) -> Reply:
        kind = SUBSCRIPTION_KINDS[subscription.content]
        command = kind.command
        assert command is not None, "a feed is never scheduled"
        context = CallbackContext(self._application)
        request = Request(
            context,
            command,
            subscription.user_id,
            subscription.chat_id,
            account,
            scheduled=True,
        )
        reply = await command.run(request)
        return reply if kind.buttons else replace(reply, markup=None)

    async def deliver(self, outcome: RunOutcome) -> bool:
        subscription = outcome.subscription
        topic = subscription.message_thread_id
        if outcome.error is not None:
            if not outcome.first_failure:
                return True
            noun = SUBSCRIPTION_KINDS[subscription.content].noun
            text = render_subscription_failed(outcome.account_name, outcome.error, noun)
            posted = await self._publisher.publish(
                subscription.chat_id, TextReply(text), topic=topic
            )
            if posted and subscription.chat_id != subscription.user_id:
                # with the chat's post, so both are told again by the next run if it failed
                await self._publisher.tell_user(subscription.user_id, text)
            return posted
        reply = outcome.reply
        assert isinstance(reply, TextReply | PhotoReply)
        if outcome.recovered:
            reply = _working_again(reply)
        return await self._publisher.publish(subscription.chat_id, reply, topic=topic)

    async def tell_unschedulable(self, subscription: Subscription, account_name: str) -> None:
        text = render_subscription_unschedulable(subscription, account_name)
        await self._publisher.tell_user(subscription.user_id, text)


def _working_again(reply: Reply) -> Reply:
    if isinstance(reply, TextReply):
        return TextReply(WORKING_AGAIN + reply.text, reply.markup)
    caption = WORKING_AGAIN + reply.caption
    if len(caption) > CAPTION_LIMIT:
        return reply  # the chart itself shows it works again
    return PhotoReply(reply.png, caption, reply.markup)
