"""/refresh <account|all>: balances and profits, fresh from the exchange."""

from __future__ import annotations

import asyncio

from bot.telegram.handlers.account_command import AccountCommand, Request
from bot.telegram.handlers.common import dashboard
from bot.telegram.views import texts
from bot.telegram.views.keyboards import REFRESH, summary_buttons, with_row
from bot.telegram.views.render import render_account_summary, render_refresh_all
from bot.telegram.views.render_bots import render_bots_today
from bot.telegram.views.reply import Reply, TextReply


async def bots_today_line(request: Request, account_ids: list[int]) -> str | None:
    """The bots' line of a typed or pressed refresh. A scheduled post keeps to one 3Commas
    call per account: a feed of many chats must not double its share of the IP's budget."""
    if request.scheduled:
        return None
    services = request.context.bot_data.services
    today = await services.bots.profit_today(request.user_id, account_ids)
    return None if today is None else render_bots_today(request.t, today)


async def refresh(request: Request) -> Reply:
    services = request.context.bot_data.services
    accounts = services.accounts
    t, zone = request.t, request.settings.zone
    buttons = summary_buttons(
        t, request.context.bot_data.signer, request.user_id, request.target, chat_id=request.chat_id
    )
    if not request.scheduled:
        # a private chat's id is its user's
        private = request.chat_id == request.user_id
        buttons = with_row(buttons, dashboard(request.context, private=private)) or buttons
    if request.account is None:
        results = await accounts.refresh_all(request.user_id)
        failures = [r.error for r in results if r.error is not None]
        if request.scheduled and results and len(failures) == len(results):
            raise failures[0]  # a subscription tells it once, not as a list on every run
        # After the refresh, for the accounts that answered: the refresh's own calls go first.
        answered = [r.account.account_id for r in results if r.summary is not None]
        text = render_refresh_all(
            t, results, zone=zone, bots_today=await bots_today_line(request, answered)
        )
        return TextReply(text, buttons)
    account_id = request.account.account_id
    summary, bots_line = await asyncio.gather(
        accounts.refresh(request.user_id, account_id),
        bots_today_line(request, [account_id]),
    )
    text = render_account_summary(t, summary, zone=zone, bots_today=bots_line)
    return TextReply(text, buttons)


REFRESH_COMMAND = AccountCommand(
    name="refresh",
    action=REFRESH,
    run=refresh,
    usage="/refresh <account|all>",
    does=texts.DOES_REFRESH,
    working=texts.REFRESHING,
    tap_to=texts.TAP_TO_REFRESH,
)
