"""/bots and /deals <account|all>: the bots' profit, bot by bot, and the active deals."""

from __future__ import annotations

from bot.telegram.handlers.account_command import AccountCommand, Request
from bot.telegram.views import texts
from bot.telegram.views.render_bots import render_bots, render_deals
from bot.telegram.views.reply import Reply, TextReply


async def bots(request: Request) -> Reply:
    report = await request.context.bot_data.services.bots.bots(request.user_id, request.target)
    return TextReply(render_bots(request.t, report))


async def deals(request: Request) -> Reply:
    report = await request.context.bot_data.services.bots.deals(request.user_id, request.target)
    name = None if request.account is None else request.account.name  # None: all accounts
    return TextReply(render_deals(request.t, report, name, request.exchange))


BOTS_COMMAND = AccountCommand(
    name="bots",
    action="bo",
    run=bots,
    usage="/bots <account|all>",
    does=texts.DOES_BOTS,
    working=texts.LOADING_BOTS,
    tap_to=texts.TAP_TO_SEE_BOTS,
)

DEALS_COMMAND = AccountCommand(
    name="deals",
    action="de",
    run=deals,
    usage="/deals <account|all>",
    does=texts.DOES_DEALS,
    working=texts.LOADING_DEALS,
    tap_to=texts.TAP_TO_SEE_DEALS,
)
