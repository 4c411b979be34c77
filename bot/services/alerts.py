"""`/alert <account> balance < 25000` and `/alert <account> day < -5%`: parse, check, fire once."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.services.errors import ServiceError
from bot.services.summary import AccountSummary
from bot.storage.database import Database
from bot.storage.records import ALL_ACCOUNTS, Alert

_ALERT = re.compile(
    r"^(?P<account>.+?)\s+(?P<metric>balance|day)\s*(?P<operator>[<>])\s*"
    r"(?P<value>[+-]?[\d,]*\.?\d+)\s*(?P<percent>%?)$",
    re.I,
)


# A threshold a balance or a day's percentage can meet; longer numbers are typos or attacks.
MAX_THRESHOLD = Decimal("1e15")
MAX_THRESHOLD_PLACES = 8


class BadAlert(ServiceError):
    """The alert could not be understood; the message says how to write it."""


@dataclass(frozen=True)
class AlertRequest:
    account: str
    metric: str
    operator: str
    threshold: Decimal


def parse_alert(text: str) -> AlertRequest:
    match = _ALERT.match(" ".join(text.split()))
    if match is None:
        raise BadAlert(
            "Write it as /alert <account> balance < 25000 or /alert <account> day < -5% (or >)."
        )
    if match["account"].casefold() == ALL_ACCOUNTS:
        raise BadAlert(
            "Alerts are per account: set one for each account you want to watch, like "
            "/alert <account> balance < 25000. Send /accounts to see yours."
        )
    metric = match["metric"].lower()
    percent = bool(match["percent"])
    if metric == "day" and not percent:
        raise BadAlert("A day alert is a percentage, like /alert <account> day < -5%.")
    if metric == "balance" and percent:
        raise BadAlert("A balance alert is an amount, like /alert <account> balance < 25000.")
    try:
        threshold = Decimal(match["value"].replace(",", ""))
    except InvalidOperation:
        raise BadAlert("The threshold must be a number.") from None
    if not _within_bounds(threshold):
        raise BadAlert(
            "The threshold must be below 1,000,000,000,000,000 "
            f"with at most {MAX_THRESHOLD_PLACES} decimals."
        )
    return AlertRequest(match["account"], metric, match["operator"], threshold)


def _within_bounds(threshold: Decimal) -> bool:
    exponent = threshold.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) else 0
    return threshold.copy_abs() < MAX_THRESHOLD and places <= MAX_THRESHOLD_PLACES


def measured(alert: Alert, summary: AccountSummary) -> Decimal | None:
    return summary.balance if alert.metric == "balance" else summary.day_profit_percentage


def holds(alert: Alert, summary: AccountSummary) -> bool:
    value = measured(alert, summary)
    if value is None:
        return False
    return value < alert.threshold if alert.operator == "<" else value > alert.threshold


class AlertService:
    def __init__(self, db: Database) -> None:
        self._db = db
        # A manual and a scheduled refresh may finish together: check one at a time so an
        # alert fires once.
        self._checking = asyncio.Lock()

    async def add(
        self, chat_id: int, owner_id: int, account_id: int, request: AlertRequest
    ) -> Alert:
        return await self._db.alerts.add(
            chat_id, owner_id, account_id, request.metric, request.operator, request.threshold
        )

    async def newly_true(self, owner_id: int, summary: AccountSummary) -> list[Alert]:
        """Alerts on this account whose condition just became true; they fire once until it
        has been false again."""
        fired: list[Alert] = []
        async with self._checking:
            for alert in await self._db.alerts.list_for_account(owner_id, summary.account_id):
                now_true = holds(alert, summary)
                if now_true != alert.triggered:
                    await self._db.alerts.set_triggered(alert.id, now_true)
                if now_true and not alert.triggered:
                    fired.append(alert)
        return fired
