"""/language: the language the bot answers in. In a private chat its user's; in a group the
chat's, changed only by its administrators (as /timezone). `/language` alone in a private
chat offers a button per language, named in its own words."""

from __future__ import annotations

from telegram import Update

from bot.services.errors import FAILURES
from bot.services.languages import LANGUAGES
from bot.telegram.context import Context
from bot.telegram.handlers.admins import is_admin
from bot.telegram.handlers.chat_command import ChatCommand, ChatRequest
from bot.telegram.handlers.common import asker, own_private_button, reply_error
from bot.telegram.transport.replies import edit_html
from bot.telegram.views import texts
from bot.telegram.views.keyboards import language_choices
from bot.telegram.views.translator import translator


async def language(request: ChatRequest) -> None:
    context, who = request.context, request.who
    t = context.t
    given = request.argument
    if not given:
        if who.is_private:
            markup = language_choices(
                context.bot_data.signer, LANGUAGES, who.user_id, chat_id=who.chat_id
            )
            await request.reply(t(texts.LANGUAGE_NOW), markup)
        else:
            await request.reply(t(texts.LANGUAGE_NOW_IN_GROUP, codes=", ".join(LANGUAGES)))
        return
    may_change = who.is_private or await is_admin(context, who)
    settings = await request.services.chat_settings.set_language(
        who.chat_id, given, may_change=may_change
    )
    # The answer is already in the new language: the rest of this update never speaks again.
    await request.reply(translator(settings.language)(texts.LANGUAGE_SET))


async def language_pressed(update: Update, context: Context) -> None:
    """A button of the private /language offer: only its user may press it."""
    query = update.callback_query
    who = asker(update)
    if query is None or who is None or query.message is None:
        return
    pressed = await own_private_button(
        context, query, who, texts.LANGUAGE_BUTTON_NOT_VALID, arguments=1
    )
    if pressed is None:
        return
    code = pressed[1][0]
    try:
        settings = await context.bot_data.services.chat_settings.set_language(
            who.chat_id, code, may_change=True
        )
    except FAILURES as error:
        await query.answer()
        await reply_error(context, who, error)
        return
    await query.answer()
    said = translator(settings.language)(texts.LANGUAGE_SET)
    await edit_html(context.bot, who.chat_id, query.message.message_id, said)


LANGUAGE_COMMAND = ChatCommand("language", "/language es", texts.DOES_LANGUAGE, language)
