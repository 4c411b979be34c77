"""The holdings, history and profit services over real HTTP: the 3Commas stand-in, the real
client, a real encrypted SQLite database with the test user's key in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.services.accounts import CredentialCache
from bot.services.history import HistoryService
from bot.services.holdings import HoldingsService
from bot.services.profit import ProfitService
from bot.storage.database import Database
from bot.storage.encryption import generate_key_text, load_master_keys
from bot.threecommas.client import ThreeCommasClient
from standins.threecommas_standin import ThreeCommasStandIn
from tests.support.threecommas import HMAC_CREDENTIALS, fast_client, running_standin

USER_ID = 4242
API_KEY = HMAC_CREDENTIALS.api_key
# The stand-in's last history day and the services' clock: one fixed afternoon.
TODAY = date(2025, 5, 12)
NOW = datetime(2025, 5, 12, 15, 30, 12, tzinfo=UTC)
# The moment the services ask history up to (whole minutes): the stand-in's last row is there.
ASKED_AT = NOW.replace(second=0)


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


@dataclass
class Setup:
    standin: ThreeCommasStandIn
    client: ThreeCommasClient
    db: Database
    clock: FixedClock
    holdings: HoldingsService
    history: HistoryService
    profit: ProfitService


@asynccontextmanager
async def services(tmp_path: Path, **client_options: Any) -> AsyncIterator[Setup]:
    """The stand-in with accounts 1-3 (history up to TODAY) and services for USER_ID."""
    keys = load_master_keys(generate_key_text(), None)
    async with (
        running_standin() as standin,
        fast_client(standin.base_url, **client_options) as client,
    ):
        standin.today = TODAY
        db = await Database.open(tmp_path / "bot.sqlite3", keys)
        try:
            await db.credentials.save(USER_ID, API_KEY, HMAC_CREDENTIALS.secret, "hmac")
            clock = FixedClock()
            credentials = CredentialCache(db)
            yield Setup(
                standin,
                client,
                db,
                clock,
                HoldingsService(db, client, credentials),
                HistoryService(credentials, client, clock),
                ProfitService(credentials, client, clock),
            )
        finally:
            await db.close()


def dec(value: Any) -> Decimal:
    """A number of a stand-in row, whatever its JSON form, as the exact Decimal."""
    return Decimal(str(value or 0))
