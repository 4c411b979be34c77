"""/accounts and /disconnect."""

from __future__ import annotations

from bot.telegram.handlers.chat_command import ChatCommand, ChatRequest
from bot.telegram.handlers.common import dashboard
from bot.telegram.views.keyboards import REFRESH, account_buttons, with_row
from bot.telegram.views.render import render_account_list


async def accounts(request: ChatRequest) -> None:
    who = request.who
    found = await request.services.accounts.accounts(who.user_id, reload=True)
    markup = (
        account_buttons(
            request.context.bot_data.signer, REFRESH, who.user_id, found, chat_id=who.chat_id
        )
        if found
        else None
    )
    markup = with_row(markup, dashboard(request.context, private=who.is_private))
    await request.reply(render_account_list(found), markup)


async def disconnect(request: ChatRequest) -> None:
    context, who = request.context, request.who
    await request.services.subscriptions.end_for_owner(who.user_id)
    forgot = await request.services.accounts.disconnect(who.user_id)
    context.bot_data.connecting.pop(who.user_id, None)
    await request.reply(
        "🗑 Done: I forgot your 3Commas keys and everything stored for you. "
        "You may also delete the key in 3Commas. Send /connect to start again."
        if forgot
        else "Nothing was stored for you. Send /connect to connect a 3Commas key."
    )


ACCOUNTS_COMMAND = ChatCommand(
    "accounts", "/accounts", "your exchange accounts, with refresh buttons", accounts
)
DISCONNECT_COMMAND = ChatCommand(
    "disconnect", "/disconnect", "forget your keys and everything stored for you", disconnect
)
