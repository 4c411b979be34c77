"""/refresh <account|all>: balances and profits, fresh from the exchange."""

from __future__ import annotations

from bot.telegram.handlers.account_command import AccountCommand, Request
from bot.telegram.handlers.common import dashboard
from bot.telegram.views.keyboards import REFRESH, summary_buttons, with_row
from bot.telegram.views.render import render_account_summary, render_refresh_all
from bot.telegram.views.reply import Reply, TextReply


async def refresh(request: Request) -> Reply:
    accounts = request.context.bot_data.services.accounts
    buttons = summary_buttons(
        request.context.bot_data.signer, request.owner_id, request.target, chat_id=request.chat_id
    )
    if not request.scheduled:
        # a private chat's id is its user's
        private = request.chat_id == request.owner_id
        buttons = with_row(buttons, dashboard(request.context, private=private)) or buttons
    # The zone is read after the 3Commas call: a cold cache never delays the request.
    if request.account is None:
        results = await accounts.refresh_all(request.owner_id)
        failures = [r.error for r in results if r.error is not None]
        if request.scheduled and results and len(failures) == len(results):
            raise failures[0]  # a subscription tells it once, not as a list on every run
        return TextReply(render_refresh_all(results, zone=(await request.settings()).zone), buttons)
    summary = await accounts.refresh(request.owner_id, request.account.account_id)
    return TextReply(render_account_summary(summary, zone=(await request.settings()).zone), buttons)


REFRESH_COMMAND = AccountCommand(
    name="refresh",
    action=REFRESH,
    run=refresh,
    usage="/refresh <account|all>",
    does="balances and profits, by id or (part of the) name",
    tap_to="refresh it",
)
