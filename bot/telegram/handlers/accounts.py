"""/accounts and /disconnect."""

from __future__ import annotations

from telegram import Update

from bot.services.errors import FAILURES
from bot.telegram.context import Context
from bot.telegram.handlers.common import asker, reply_error
from bot.telegram.transport.replies import send_html
from bot.telegram.views.keyboards import REFRESH, account_buttons
from bot.telegram.views.render import render_account_list


async def accounts_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    try:
        accounts = await context.bot_data.services.accounts.accounts(who.user_id, reload=True)
    except FAILURES as error:
        await reply_error(context, who, error)
        return
    markup = (
        account_buttons(
            context.bot_data.signer, REFRESH, who.user_id, accounts, chat_id=who.chat_id
        )
        if accounts
        else None
    )
    await send_html(
        context.bot,
        who.chat_id,
        render_account_list(accounts),
        reply_markup=markup,
        reply_to=who.message.message_id,
    )


async def disconnect_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    await context.bot_data.services.subscriptions.end_for_owner(who.user_id)
    forgot = await context.bot_data.services.accounts.disconnect(who.user_id)
    context.bot_data.connecting.pop(who.user_id, None)
    text = (
        "🗑 Done: I forgot your 3Commas keys and everything stored for you. "
        "You may also delete the key in 3Commas. Send /connect to start again."
        if forgot
        else "Nothing was stored for you. Send /connect to connect a 3Commas key."
    )
    await send_html(context.bot, who.chat_id, text, reply_to=who.message.message_id)
