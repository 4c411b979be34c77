"""/bots and /deals <account|all>: the bots' profit, bot by bot, and the active deals."""

from __future__ import annotations

from bot.telegram.handlers.account_command import AccountCommand, Request
from bot.telegram.views.keyboards import BOTS, DEALS
from bot.telegram.views.render_bots import render_bots, render_deals
from bot.telegram.views.reply import Reply, TextReply


async def bots(request: Request) -> Reply:
    report = await request.context.bot_data.services.bots.bots(request.owner_id, request.target)
    return TextReply(render_bots(report))


async def deals(request: Request) -> Reply:
    report = await request.context.bot_data.services.bots.deals(request.owner_id, request.target)
    account = request.account
    name, exchange = (None, None) if account is None else (account.name, account.exchange)
    return TextReply(render_deals(report, name, exchange))


BOTS_COMMAND = AccountCommand(
    name="bots",
    action=BOTS,
    run=bots,
    usage="/bots <account|all>",
    does="DCA and grid bots by profit, with today's and overall bot profit",
    working="Loading the bots of",
    tap_to="see its bots",
)

DEALS_COMMAND = AccountCommand(
    name="deals",
    action=DEALS,
    run=deals,
    usage="/deals <account|all>",
    does="the active deals by unrealized profit, with their total",
    working="Loading the deals of",
    tap_to="see its deals",
)
