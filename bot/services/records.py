"""The plain values the services hand to the front end: the stored records it may show.

The Telegram layer imports them from here, never from storage, so it depends on services alone.
"""

from __future__ import annotations

from bot.services.targets import Target
from bot.storage.records import (
    ALL_ACCOUNTS,
    Alert,
    AlertMetric,
    KnownAccount,
    ScheduleKind,
    Subscription,
    SubscriptionContent,
)

__all__ = [
    "ALL_ACCOUNTS",
    "Alert",
    "AlertMetric",
    "KnownAccount",
    "ScheduleKind",
    "Subscription",
    "SubscriptionContent",
    "Target",
]
