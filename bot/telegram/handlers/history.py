"""/chart <account|all> [7d|30d|90d|1y] and /profit <account|all> [days|weeks|months]."""

from __future__ import annotations

from bot.services.history import parse_period
from bot.services.profit import parse_grouping
from bot.telegram.handlers.account_command import AccountCommand, Request
from bot.telegram.views import texts
from bot.telegram.views.keyboards import CHART, PROFIT
from bot.telegram.views.render_history import render_chart, render_profit
from bot.telegram.views.reply import PhotoReply, Reply, TextReply


async def chart(request: Request) -> Reply:
    services = request.context.bot_data.services
    history = await services.history.balance_history(
        request.user_id, request.target, request.option, request.settings.zone
    )
    drawn = await render_chart(request.t, history, request.name, request.exchange)
    return PhotoReply(drawn.png, drawn.caption)


async def profit(request: Request) -> Reply:
    services = request.context.bot_data.services
    table = await services.profit.profit(
        request.user_id, request.target, request.option, request.settings.zone
    )
    return TextReply(render_profit(request.t, table, request.name, request.exchange))


# The last word is the period or the grouping; the services say which ones exist.
CHART_COMMAND = AccountCommand(
    name="chart",
    action=CHART,
    run=chart,
    usage="/chart <account|all> [7d|30d|90d|1y]",
    does=texts.DOES_CHART,
    working=texts.DRAWING_CHART,
    tap_to=texts.TAP_TO_SEE_CHART,
    option=parse_period,
)
PROFIT_COMMAND = AccountCommand(
    name="profit",
    action=PROFIT,
    run=profit,
    usage="/profit <account|all> [days|weeks|months]",
    does=texts.DOES_PROFIT,
    working=texts.ADDING_UP_PROFIT,
    tap_to=texts.TAP_TO_SEE_PROFIT,
    option=parse_grouping,
)
