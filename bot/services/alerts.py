"""`/alert <account> balance < 25000` and `/alert <account> day < -5%`: parse, check, fire once."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.services.display import DisplayCurrencies
from bot.services.errors import DuplicateEntry, ExplainedError
from bot.services.limits import EntryLimits
from bot.services.summary import AccountSummary
from bot.storage.database import Database
from bot.storage.records import Alert
from bot.targets import ALL_ACCOUNTS

_ALERT = re.compile(
    r"^(?P<account>.+?)\s+(?P<metric>balance|day)\s*(?P<operator>[<>])\s*"
    r"(?P<value>[+-]?[\d,]*\.?\d+)\s*(?P<percent>%?)$",
    re.I,
)
# A threshold written another way, to say what is wrong with it.
_LOOSE = re.compile(r"^.+?\s+(balance|day)\s*[<>]\s*(?P<value>.+)$", re.I)
_SHORTHAND = re.compile(r"[+-]?[\d,]*\.?\d+\s*[kmb]", re.I)
USAGE = "alert.usage"


# A threshold a balance or a day's percentage can meet; longer numbers are typos or attacks.
MAX_THRESHOLD = Decimal("1e15")
MAX_THRESHOLD_PLACES = 8


class BadAlert(ExplainedError):
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
        raise _why_not(" ".join(text.split()))
    if match["account"].casefold() == ALL_ACCOUNTS:
        raise BadAlert("alert.per_account")
    metric = match["metric"].lower()
    percent = bool(match["percent"])
    if metric == "day" and not percent:
        raise BadAlert("alert.day_is_percent")
    if metric == "balance" and percent:
        raise BadAlert("alert.balance_is_amount")
    try:
        threshold = Decimal(match["value"].replace(",", ""))
    except InvalidOperation:
        raise BadAlert("alert.not_a_number") from None
    if not _within_bounds(threshold):
        raise BadAlert("alert.too_large", places=MAX_THRESHOLD_PLACES)
    _ensure_possible(metric, match["operator"], threshold)
    return AlertRequest(match["account"], metric, match["operator"], threshold)


def _why_not(text: str) -> BadAlert:
    """The reason a threshold was not understood, or how to write an alert."""
    loose = _LOOSE.match(text)
    if loose is None:
        return BadAlert(USAGE)
    value = loose["value"].strip()
    if not (value[0].isalnum() or value[0] in "+-.,"):  # a sign: $, €, £ ...
        return BadAlert("alert.currency_sign", sign=value[0])
    if _SHORTHAND.fullmatch(value):
        return BadAlert("alert.shorthand")
    return BadAlert(USAGE)


def _ensure_possible(metric: str, operator: str, threshold: Decimal) -> None:
    """Refuse a threshold a balance or a day can never cross: never true, or always true."""
    floor = Decimal(0) if metric == "balance" else Decimal(-100)
    shown = f"{metric} {operator} {threshold}{'%' if metric == 'day' else ''}"
    if operator == "<" and threshold <= floor:
        raise BadAlert(f"alert.{metric}_never", rule=shown)
    if operator == ">" and threshold < floor:
        raise BadAlert(f"alert.{metric}_always", rule=shown)


def _within_bounds(threshold: Decimal) -> bool:
    exponent = threshold.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) else 0
    return threshold.copy_abs() < MAX_THRESHOLD and places <= MAX_THRESHOLD_PLACES


def measured(alert: Alert, summary: AccountSummary) -> Decimal | None:
    """The figure the alert compares, in the alert's currency; None when not known in it."""
    if alert.metric != "balance":
        return summary.day_profit_percentage  # today (bot.services.today)
    if alert.currency is None or alert.currency == summary.currency:
        return summary.balance
    return {"USD": summary.balance_usd, "BTC": summary.balance_btc}.get(alert.currency)


def holds(alert: Alert, summary: AccountSummary) -> bool:
    value = measured(alert, summary)
    if value is None:
        return False
    return value < alert.threshold if alert.operator == "<" else value > alert.threshold


def _same_alert(
    alert: Alert, user_id: int, account_id: int, request: AlertRequest, thread: int | None
) -> bool:
    return (
        alert.user_id == user_id
        and alert.account_id == account_id
        and alert.metric == request.metric
        and alert.operator == request.operator
        and alert.threshold == request.threshold
        and alert.message_thread_id == thread
    )


class AlertService:
    def __init__(self, db: Database, limits: EntryLimits, currencies: DisplayCurrencies) -> None:
        self._db = db
        self._limits = limits
        self._currencies = currencies
        # A manual and a scheduled refresh may finish together: check one at a time so an
        # alert fires once.
        self._checking = asyncio.Lock()
        # Two quick /alert commands must not both pass the duplicate and limit checks.
        self._adding = asyncio.Lock()
        self._posting: set[int] = set()  # alerts handed out by newly_true, not yet settled

    async def add(
        self,
        chat_id: int,
        user_id: int,
        account_id: int,
        request: AlertRequest,
        message_thread_id: int | None = None,
    ) -> Alert:
        """A new alert, unless the same one is already set here or a limit is reached; a
        balance threshold is in the account's display currency."""
        currency = None
        if request.metric == "balance":
            currency = (await self._currencies.of(user_id, account_id)).code
        async with self._adding:
            in_chat = await self._db.alerts.list_for_chat(chat_id)
            for alert in in_chat:
                if _same_alert(alert, user_id, account_id, request, message_thread_id):
                    raise DuplicateEntry("alert", alert.id)
            of_user = await self._db.alerts.count_for_user(user_id)
            self._limits.ensure_room("alerts", len(in_chat), of_user)
            return await self._db.alerts.add(
                chat_id,
                user_id,
                account_id,
                request.metric,
                request.operator,
                request.threshold,
                message_thread_id=message_thread_id,
                currency=currency,
            )

    async def newly_true(self, user_id: int, summary: AccountSummary) -> list[Alert]:
        """Alerts on this account whose condition just became true; they fire once until it
        has been false again.

        Each one returned must be settled: it is marked fired only once its message is posted.
        """
        fired: list[Alert] = []
        async with self._checking:
            for alert in await self._db.alerts.list_for_account(user_id, summary.account_id):
                if alert.id in self._posting:
                    continue
                now_true = holds(alert, summary)
                if now_true and not alert.triggered:
                    self._posting.add(alert.id)
                    fired.append(alert)
                elif alert.triggered and not now_true:
                    await self._db.alerts.set_triggered(alert.id, False)
        return fired

    async def settle(self, alert: Alert, *, fired: bool) -> None:
        """After posting an alert of newly_true: `fired` marks it fired; otherwise the next
        refresh that finds it true hands it out again."""
        async with self._checking:
            try:
                if fired:
                    await self._db.alerts.set_triggered(alert.id, True)
            finally:
                self._posting.discard(alert.id)
