"""A scheduled post is a command run by the clock: a due subscription makes the `Request` its
owner would make in its chat (its account or all, the command's default option) and posts the
`Reply` the command returns; errors are told once, and recovery once. Each post is in its chat's
language as it is when the post is made (and a word to the owner in the owner's)."""

from __future__ import annotations

from dataclasses import replace

from bot.services.publisher import Publisher
from bot.services.records import ALL_ACCOUNTS, KnownAccount, Subscription
from bot.services.subscriptions import RunOutcome
from bot.telegram.context import BotApplication, Context
from bot.telegram.handlers.account_command import Request
from bot.telegram.handlers.subscription_kinds import SUBSCRIPTION_KINDS
from bot.telegram.views.render import (
    render_subscription_failed,
    render_subscription_unschedulable,
    target_name,
)
from bot.telegram.views.render_history import CAPTION_LIMIT
from bot.telegram.views.reply import PhotoReply, Reply, TextReply
from bot.telegram.views.texts import WORKING_AGAIN
from bot.telegram.views.translator import Translator, translator


class ScheduledPosts:
    """The subscription service's `Delivery`: what a run posts, and posting it."""

    def __init__(self, application: BotApplication, publisher: Publisher[Reply]) -> None:
        self._application = application
        self._publisher = publisher

    async def produce(self, subscription: Subscription, account: KnownAccount | None) -> Reply:
        kind = SUBSCRIPTION_KINDS[subscription.content]
        command = kind.command
        assert command is not None, "a feed is never scheduled"
        context = Context(self._application)
        chat_settings = self._application.bot_data.services.chat_settings
        context.chat_settings = await chat_settings.settings(subscription.chat_id)
        if account is None and subscription.target != ALL_ACCOUNTS:  # no longer stored
            named = target_name(context.t, subscription.target, None)
            account = KnownAccount(subscription.target, named)
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
            failed = SUBSCRIPTION_KINDS[subscription.content].failed
            error = outcome.error

            def text(t: Translator) -> str:
                return render_subscription_failed(
                    t, subscription, outcome.account_name, error, failed
                )

            chat_t = await self._translator(subscription.chat_id)
            posted = await self._publisher.publish(
                subscription.chat_id, TextReply(text(chat_t)), topic=topic
            )
            if posted and subscription.chat_id != subscription.user_id:
                # with the chat's post, so both are told again by the next run if it failed
                user_t = await self._translator(subscription.user_id)
                await self._publisher.tell_user(subscription.user_id, text(user_t))
            return posted
        reply = outcome.reply
        assert isinstance(reply, TextReply | PhotoReply)
        if outcome.recovered:
            reply = _working_again(await self._translator(subscription.chat_id), reply)
        return await self._publisher.publish(subscription.chat_id, reply, topic=topic)

    async def tell_unschedulable(
        self, subscription: Subscription, account_name: str | None
    ) -> None:
        t = await self._translator(subscription.user_id)
        text = render_subscription_unschedulable(t, subscription, account_name)
        await self._publisher.tell_user(subscription.user_id, text)

    async def _translator(self, chat_id: int) -> Translator:
        """The chat's language as it is now (its settings are in memory after the first read)."""
        chat_settings = self._application.bot_data.services.chat_settings
        return translator((await chat_settings.settings(chat_id)).language)


def _working_again(t: Translator, reply: Reply) -> Reply:
    working_again = t(WORKING_AGAIN) + "\n\n"
    if isinstance(reply, TextReply):
        return TextReply(working_again + reply.text, reply.markup)
    caption = working_again + reply.caption
    if len(caption) > CAPTION_LIMIT:
        return reply  # the chart itself shows it works again
    return PhotoReply(reply.png, caption, reply.markup)
