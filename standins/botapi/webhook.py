"""Webhook delivery: while a webhook is set, queued updates are POSTed to its URL with the
secret header, one at a time and in order, as Telegram does (getUpdates then answers 409).
Unlike Telegram, http:// URLs and any port are accepted, so a local bot can be called."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import aiohttp

from standins.botapi.html import JSONDict
from standins.botapi.updates import UpdateQueue

WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_TIMEOUT_SECONDS = 10.0
WEBHOOK_RETRY_SECONDS = 0.2


@dataclass
class Webhook:
    """What the bot's last setWebhook asked for, and the last failed delivery."""

    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the webhook: the bot's HTTP status, None if unreachable."""

    update_id: int
    status: int | None


class WebhookSender:
    """What setWebhook set, the task that POSTs updates to it, and every delivery attempt."""

    def __init__(self, updates: UpdateQueue) -> None:
        self.webhook: Webhook | None = None
        self.deliveries: list[WebhookDelivery] = []
        self._updates = updates
        self._delivery: asyncio.Task[None] | None = None

    def set(self, webhook: Webhook) -> None:
        self.webhook = webhook
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.create_task(self._deliver_updates())
        self._updates.delivery_wake.set()

    def delete(self) -> None:
        self.webhook = None
        self._updates.delivery_wake.set()

    async def stop(self) -> None:
        task, self._delivery = self._delivery, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_updates(self) -> None:
        """One update at a time, in order; the next only after a 2xx answer, else it is sent
        again after a pause (Telegram retries too)."""
        timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self._updates.stopping and self.webhook is not None:
                self._updates.delivery_wake.clear()
                update = self._next_for_webhook(self.webhook)
                if update is None:
                    await self._updates.delivery_wake.wait()
                    continue
                if await self._post_update(session, self.webhook, update):
                    self._updates.queued.popleft()
                    self._updates.delivered_up_to = update["update_id"]
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._updates.delivery_wake.wait(), WEBHOOK_RETRY_SECONDS
                        )

    def _next_for_webhook(self, webhook: Webhook) -> JSONDict | None:
        updates = self._updates
        while updates.queued and updates.queued[0]["update_id"] <= updates.delivered_up_to:
            updates.queued.popleft()  # fetched by getUpdates before the webhook was set
        if webhook.allowed_updates:
            updates.drop_unwanted(set(webhook.allowed_updates))
        return updates.queued[0] if updates.queued else None

    async def _post_update(
        self, session: aiohttp.ClientSession, webhook: Webhook, update: JSONDict
    ) -> bool:
        headers = {WEBHOOK_SECRET_HEADER: webhook.secret_token} if webhook.secret_token else {}
        status: int | None = None
        failure: str | None = None
        try:
            async with session.post(webhook.url, json=update, headers=headers) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            failure = f"Connection failed: {error.__class__.__name__}"
        if status is not None and not 200 <= status < 300:
            failure = f"Wrong response from the webhook: {status}"
        if failure is not None:
            webhook.last_error_date, webhook.last_error_message = int(time.time()), failure
        self.deliveries.append(WebhookDelivery(update_id=update["update_id"], status=status))
        self._updates.note_activity()
        return failure is None
