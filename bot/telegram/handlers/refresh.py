"""/refresh <account|all>: balances and profits, fresh from the exchange."""

from __future__ import annotations

from bot.telegram.handlers.account_command import AccountCommand, Request
from bot.telegram.views import texts
from bot.telegram.views.keyboards import REFRESH, summary_buttons
from bot.telegram.views.render import render_account_summary, render_refresh_all
from bot.telegram.views.reply import Reply, TextReply


async def refresh(request: Request) -> Reply:
    accounts = request.context.bot_data.services.accounts
    t, zone = request.t, request.settings.zone
    buttons = summary_buttons(
        t,
        request.context.bot_data.signer,
        request.owner_id,
        request.target,
        chat_id=request.chat_id,
    )
    if request.account is None:
        results = await accounts.refresh_all(request.owner_id)
        failures = [r.error for r in results if r.error is not None]
        if request.scheduled and results and len(failures) == len(results):
            raise failures[0]  # a subscription tells it once, not as a list on every run
        return TextReply(render_refresh_all(t, results, zone=zone), buttons)
    summary = await accounts.refresh(request.owner_id, request.account.account_id)
    return TextReply(render_account_summary(t, summary, zone=zone), buttons)


REFRESH_COMMAND = AccountCommand(
    name="refresh",
    action=REFRESH,
    run=refresh,
    usage="/refresh <account|all>",
    does=texts.DOES_REFRESH,
    working=texts.REFRESHING,
    tap_to=texts.TAP_TO_REFRESH,
)
