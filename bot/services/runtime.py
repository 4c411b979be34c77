"""The services a running bot shares: opened once at start-up, closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.services.accounts import AccountService
from bot.services.cooldown import Cooldown
from bot.storage.database import Database
from bot.storage.maintenance import master_keys_from_settings
from bot.threecommas.client import ThreeCommasClient


@dataclass
class Services:
    settings: Settings
    db: Database
    client: ThreeCommasClient
    accounts: AccountService

    @classmethod
    async def open(cls, settings: Settings) -> Services:
        db = await Database.open(settings.database_path, master_keys_from_settings(settings))
        client = ThreeCommasClient(
            settings.threecommas_api_url,
            connect_timeout=settings.threecommas_connect_timeout,
            total_timeout=settings.threecommas_total_timeout,
            requests_per_minute=settings.threecommas_requests_per_minute,
        )
        await client.start()
        accounts = AccountService(db, client, Cooldown(settings.refresh_cooldown_seconds))
        return cls(settings=settings, db=db, client=client, accounts=accounts)

    async def close(self) -> None:
        await self.client.close()
        await self.db.close()
