"""/holdings <account|all>: what an account holds, coin by coin, largest first."""

from __future__ import annotations

from bot.services.errors import BadOption
from bot.telegram.handlers.account_command import AccountCommand, Request
from bot.telegram.views import texts
from bot.telegram.views.keyboards import HOLDINGS, Place
from bot.telegram.views.render_holdings import render_holdings
from bot.telegram.views.reply import Reply, TextReply

FULL = "full"


def parse_holdings_option(word: str) -> str:
    if word != FULL:
        raise BadOption("holdings", [FULL])
    return FULL


async def holdings(request: Request) -> Reply:
    services = request.context.bot_data.services
    found = await services.holdings.holdings(request.user_id, request.target)
    full = request.option == FULL
    t = request.t
    text = render_holdings(
        t, found, request.name, request.exchange, zone=request.settings.zone, full=full
    )
    if full or not found.minor:
        return TextReply(text)
    label = t(texts.BUTTON_ALL_COINS, count=len(found.coins))
    return TextReply(text, request.button(HOLDINGS, label, option=FULL, place=Place.EDIT))


HOLDINGS_COMMAND = AccountCommand(
    name="holdings",
    action=HOLDINGS,
    run=holdings,
    usage="/holdings <account|all>",
    does=texts.DOES_HOLDINGS,
    working=texts.LOADING_HOLDINGS,
    tap_to=texts.TAP_TO_SEE_HOLDINGS,
    option=parse_holdings_option,
)
