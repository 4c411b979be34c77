"""/refresh <account|all>: balances and profits, fresh from the exchange."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bot.telegram.handlers.account_command import AccountCommand, Request
from bot.telegram.handlers.common import dashboard
from bot.telegram.views.keyboards import REFRESH, summary_buttons, with_row
from bot.telegram.views.render import render_account_summary, render_refresh_all
from bot.telegram.views.render_bots import render_bots_today
from bot.telegram.views.reply import Reply, TextReply


def _with_bots_today(text: str, today: Decimal | None) -> str:
    """The summary, and the bots' profit today when the key can read bots."""
    return text if today is None else f"{text}\n{render_bots_today(today)}"


async def refresh(request: Request) -> Reply:
    services = request.context.bot_data.services
    accounts = services.accounts
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
        # After the refresh, for the accounts that answered: the refresh's own calls go first.
        answered = [r.account.account_id for r in results if r.summary is not None]
        today = await services.bots.profit_today(request.owner_id, answered)
        text = render_refresh_all(results, zone=(await request.settings()).zone)
        return TextReply(_with_bots_today(text, today), buttons)
    account_id = request.account.account_id
    summary, today = await asyncio.gather(
        accounts.refresh(request.owner_id, account_id),
        services.bots.profit_today(request.owner_id, [account_id]),
    )
    text = render_account_summary(summary, zone=(await request.settings()).zone)
    return TextReply(_with_bots_today(text, today), buttons)


REFRESH_COMMAND = AccountCommand(
    name="refresh",
    action=REFRESH,
    run=refresh,
    usage="/refresh <account|all>",
    does="balances and profits, by id or (part of the) name",
    tap_to="refresh it",
)
