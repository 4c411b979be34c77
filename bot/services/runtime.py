"""The services a running bot shares: opened once at start-up, closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.services.accounts import AccountService, CredentialCache
from bot.services.alerts import AlertService
from bot.services.bots import BotsService
from bot.services.chat_settings import ChatSettingsService
from bot.services.clock import Clock, SystemClock
from bot.services.cooldown import Cooldown
from bot.services.display import DisplayCurrencies
from bot.services.history import HistoryService
from bot.services.holdings import HoldingsService
from bot.services.keypairs import KeyPairService
from bot.services.limits import EntryLimits
from bot.services.portfolio import PortfolioService
from bot.services.profit import ProfitService
from bot.services.subscriptions import SubscriptionService
from bot.storage.database import Database
from bot.storage.maintenance import master_keys_from_settings
from bot.threecommas.client import ThreeCommasClient


@dataclass
class Services:
    settings: Settings
    db: Database
    client: ThreeCommasClient
    accounts: AccountService
    alerts: AlertService
    chat_settings: ChatSettingsService
    subscriptions: SubscriptionService
    holdings: HoldingsService
    history: HistoryService
    profit: ProfitService
    keypairs: KeyPairService
    portfolio: PortfolioService
    bots: BotsService

    @classmethod
    async def open(cls, settings: Settings, clock: Clock | None = None) -> Services:
        db = await Database.open(settings.database_path, master_keys_from_settings(settings))
        clock = clock or SystemClock()
        client = ThreeCommasClient(
            settings.threecommas_api_url,
            connect_timeout=settings.threecommas_connect_timeout,
            total_timeout=settings.threecommas_total_timeout,
            requests_per_minute=settings.threecommas_requests_per_minute,
            reuse_seconds=settings.refresh_cooldown_seconds,
            proxies=settings.proxies,
            max_requests_per_second=settings.threecommas_max_requests_per_second,
            now=clock.now,
        )
        await client.start()
        credentials = CredentialCache(db)
        accounts = AccountService(db, client, credentials)
        alerts = AlertService(
            db,
            EntryLimits(settings.max_alerts_per_chat, settings.max_alerts_per_user),
            DisplayCurrencies(db, client, credentials),
        )
        subscriptions = SubscriptionService(
            db,
            accounts,
            alerts,
            clock,
            settings.subscription_min_interval_seconds,
            EntryLimits(settings.max_subscriptions_per_chat, settings.max_subscriptions_per_user),
        )
        chat_settings = ChatSettingsService(db)
        chat_settings.add_zone_listener(subscriptions.reschedule_chat)
        return cls(
            settings,
            db,
            client,
            accounts,
            alerts,
            chat_settings,
            subscriptions,
            holdings=HoldingsService(db, client, credentials),
            history=HistoryService(credentials, client, clock),
            profit=ProfitService(credentials, client, clock),
            keypairs=KeyPairService(
                db, accounts, clock, Cooldown(settings.key_pair_cooldown_seconds)
            ),
            portfolio=PortfolioService(db, accounts),
            bots=BotsService(accounts, client, clock),
        )

    async def close(self) -> None:
        await self.accounts.drain()
        await self.client.close()
        await self.db.close()
