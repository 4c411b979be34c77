"""What each kind of subscription posts: the reply of one per-account command, run by the clock,
or (a feed) what the deal poller posts as deals close.

A new kind is a value of `SubscriptionContent` and a line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.records import SubscriptionContent
from bot.telegram.handlers.account_command import AccountCommand
from bot.telegram.handlers.history import CHART_COMMAND, PROFIT_COMMAND
from bot.telegram.handlers.holdings import HOLDINGS_COMMAND
from bot.telegram.handlers.refresh import REFRESH_COMMAND


@dataclass(frozen=True)
class SubscriptionKind:
    # run with its default option for the subscription's account or all; None: a feed, posted
    # as things happen by its poller (services/deal_feed.py)
    command: AccountCommand | None
    noun: str  # what it posts, in sentences: "Next balance chart: …", "The scheduled … failed"
    buttons: bool = True  # False: posted without the command's buttons (a table as it is)


SUBSCRIPTION_KINDS: dict[SubscriptionContent, SubscriptionKind] = {
    SubscriptionContent.SUMMARY: SubscriptionKind(REFRESH_COMMAND, "summary"),
    SubscriptionContent.HOLDINGS: SubscriptionKind(HOLDINGS_COMMAND, "holdings", buttons=False),
    SubscriptionContent.CHART: SubscriptionKind(CHART_COMMAND, "balance chart", buttons=False),
    SubscriptionContent.PROFIT: SubscriptionKind(PROFIT_COMMAND, "profit table", buttons=False),
    SubscriptionContent.DEALS: SubscriptionKind(None, "deal feed", buttons=False),
}
