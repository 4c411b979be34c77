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
from bot.telegram.views import texts


@dataclass(frozen=True)
class SubscriptionKind:
    # run with its default option for the subscription's account or all; None: a feed, posted
    # as things happen by its poller (services/deal_feed.py)
    command: AccountCommand | None
    next_post: str  # the sentence after subscribing: "Next balance chart: {when}. …"
    failed: str  # the sentence when a run failed: "The scheduled balance chart of … failed"
    buttons: bool = True  # False: posted without the command's buttons (a table as it is)


SUBSCRIPTION_KINDS: dict[SubscriptionContent, SubscriptionKind] = {
    SubscriptionContent.SUMMARY: SubscriptionKind(
        REFRESH_COMMAND, texts.NEXT_SUMMARY, texts.SUMMARY_FAILED
    ),
    SubscriptionContent.HOLDINGS: SubscriptionKind(
        HOLDINGS_COMMAND, texts.NEXT_HOLDINGS, texts.HOLDINGS_FAILED, buttons=False
    ),
    SubscriptionContent.CHART: SubscriptionKind(
        CHART_COMMAND, texts.NEXT_CHART, texts.CHART_FAILED, buttons=False
    ),
    SubscriptionContent.PROFIT: SubscriptionKind(
        PROFIT_COMMAND, texts.NEXT_PROFIT, texts.PROFIT_FAILED, buttons=False
    ),
    # a feed's own sentences: subscribed (its options and period), paused (3Commas refused)
    SubscriptionContent.DEALS: SubscriptionKind(
        None, texts.FEED_SUBSCRIBED, texts.FEED_PAUSED, buttons=False
    ),
}
