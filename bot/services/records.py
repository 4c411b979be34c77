"""The plain values the services hand to the front end: the stored records it may show.

The Telegram layer imports them from here, never from storage, so it depends on services alone.
"""

from __future__ import annotations

from bot.storage.records import (
    FEED_CONTENTS,
    Alert,
    AlertMetric,
    DealFeed,
    DealFeedOptions,
    KnownAccount,
    ScheduleKind,
    Subscription,
    SubscriptionContent,
)
from bot.targets import ALL_ACCOUNTS, Target

__all__ = [
    "ALL_ACCOUNTS",
    "FEED_CONTENTS",
    "Alert",
    "AlertMetric",
    "DealFeed",
    "DealFeedOptions",
    "KnownAccount",
    "ScheduleKind",
    "Subscription",
    "SubscriptionContent",
    "Target",
]
