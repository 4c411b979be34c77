"""Both stand-ins started together, with a demo user and demo accounts.

The sandbox mode, the tests and the benchmarks all start the application this way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.config import Settings
from bot.storage.encryption import generate_key_text
from standins.botapi import BotApiStandIn
from standins.threecommas_standin import ThreeCommasStandIn, demo_account

DEMO_USER_ID = 1001
DEMO_API_KEY = "demo-key"
DEMO_SECRET = "demo-secret"


def demo_accounts() -> list[dict[str, Any]]:
    return [
        demo_account(12345678, "My Binance US"),
        demo_account(
            23456789,
            "Binance Futures",
            exchange_name="Binance Futures USDT-M",
            market_code="binance_futures",
            usd_amount="25312.4517",
            btc_amount="0.39721864",
            primary_display_currency_amount={"currency": "USD", "amount": "25312.4517"},
            primary_display_currency_profit={"currency": "USD", "amount": "1840.5"},
            primary_display_currency_profit_percentage={"currency": "USD", "amount": "7.84"},
            day_profit_primary_display_currency={"currency": "USD", "amount": "312.77"},
            day_profit_primary_display_currency_percentage={"currency": "USD", "amount": "1.25"},
            # the same day in USD (the seed's fields belong to My Binance US)
            day_profit_usd="312.77",
            day_profit_usd_percentage="1.25",
        ),
        demo_account(
            34567890,
            "Kraken Main",
            exchange_name="Kraken Spot",
            market_code="kraken",
            api_keys_state="expire_soon",
            usd_amount="1301.63",
            btc_amount="0.02042551",
            primary_display_currency_amount={"currency": "EUR", "amount": "1204.1"},
            primary_display_currency_profit={"currency": "EUR", "amount": "-35.2"},
            primary_display_currency_profit_percentage={"currency": "EUR", "amount": "-2.84"},
            day_profit_primary_display_currency={"currency": "EUR", "amount": "0"},
            day_profit_primary_display_currency_percentage={"currency": "EUR", "amount": "0"},
            day_profit_usd="0",
            day_profit_usd_percentage="0",
        ),
    ]


# The demo account without bots: /bots says so in a sentence.
DEMO_ACCOUNT_WITHOUT_BOTS = 34567890


def add_demo_key(threecommas: ThreeCommasStandIn, api_key: str, secret: str) -> None:
    """A key seeing the demo accounts: each with demo bots and deals but Kraken Main."""
    threecommas.add_key(api_key, secret, demo_accounts())
    threecommas.set_bots(api_key, DEMO_ACCOUNT_WITHOUT_BOTS, [])


@dataclass
class Sandbox:
    botapi: BotApiStandIn
    threecommas: ThreeCommasStandIn
    settings: Settings


def sandbox_settings(
    base: Settings, botapi: BotApiStandIn, threecommas_url: str, data: Path
) -> Settings:
    """`base` pointed at the stand-ins, with a database and a fresh encryption key in `data`."""
    return base.model_copy(
        update={
            "telegram_bot_token": SecretStr(botapi.token),
            "telegram_api_url": botapi.root_url,
            "threecommas_api_url": threecommas_url,
            "bot_encryption_key": SecretStr(generate_key_text()),
            "bot_encryption_key_file": None,
            "database_path": data / "bot.sqlite3",
            # the stand-ins are local: polling, no HTTP server unless a test asks for one
            "webhook_url": None,
            "port": None,
        }
    )


@contextlib.asynccontextmanager
async def running_standins(
    data: Path, base: Settings | None = None, *, latency: float = 0.0, **botapi_options: Any
) -> AsyncIterator[Sandbox]:
    botapi = BotApiStandIn(**botapi_options)
    threecommas = ThreeCommasStandIn(latency=latency)
    await botapi.start()
    try:
        threecommas_url = await threecommas.start()
        try:
            add_demo_key(threecommas, DEMO_API_KEY, DEMO_SECRET)
            settings = sandbox_settings(
                base or Settings(_env_file=None), botapi, threecommas_url, data
            )
            yield Sandbox(botapi=botapi, threecommas=threecommas, settings=settings)
        finally:
            await threecommas.stop()
    finally:
        await botapi.stop()
