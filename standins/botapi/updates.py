"""The updates waiting for the bot, handed out by getUpdates or POSTed to a webhook, and the
activity and handled-update signals the driver waits on.

All state lives on the event loop that called ``BotApiStandIn.start()``.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field

from standins.botapi.html import JSONDict


@dataclass
class PendingPoll:
    """A getUpdates waiting for updates; ``conflicted`` when a newer getUpdates ended it."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    conflicted: bool = False


class UpdateQueue:
    """Updates in order with their ids, until the bot confirms them."""

    def __init__(self) -> None:
        self.queued: collections.deque[JSONDict] = collections.deque()
        self.next_update_id = 1
        self.last_update_id = 0
        self.delivered_up_to = 0  # the last update id handed to the bot
        self.polls: list[PendingPoll] = []
        self.stopping = False
        self.delivery_wake = asyncio.Event()  # updates arrived, or the webhook changed
        self.unhandled: set[int] = set()  # ids the bot has not reported handled
        self.loop: asyncio.AbstractEventLoop | None = None
        self._activity = asyncio.Event()

    def queue(self, body: JSONDict) -> None:
        self.last_update_id = self.next_update_id
        self.queued.append({"update_id": self.last_update_id, **body})
        self.unhandled.add(self.last_update_id)
        self.next_update_id += 1
        self._wake_polls()

    def confirm(self, offset: int) -> None:
        """getUpdates with ``offset``: drop the updates before it (a negative offset keeps only
        the last -offset updates)."""
        if offset < 0:
            while len(self.queued) > -offset:
                self.queued.popleft()
        else:
            while self.queued and self.queued[0]["update_id"] < offset:
                self.queued.popleft()

    def pending(self) -> int:
        """Queued updates the bot has not fetched yet."""
        return sum(1 for u in self.queued if u["update_id"] > self.delivered_up_to)

    def drop_unwanted(self, allowed: set[str]) -> None:
        kept = [u for u in self.queued if not (set(u) - {"update_id"}).isdisjoint(allowed)]
        if len(kept) != len(self.queued):
            self.unhandled.difference_update(u["update_id"] for u in self.queued)
            self.unhandled.update(u["update_id"] for u in kept)
            self.queued = collections.deque(kept)

    def drop_pending(self) -> None:
        self.unhandled.difference_update(u["update_id"] for u in self.queued)
        self.queued.clear()
        self.delivered_up_to = self.next_update_id - 1

    @property
    def activity(self) -> asyncio.Event:
        """Set at the next bot call or webhook delivery (a fresh event after each)."""
        return self._activity

    def note_activity(self) -> None:
        self._activity.set()
        self._activity = asyncio.Event()

    def _wake_polls(self) -> None:
        def wake() -> None:
            for poll in self.polls:
                poll.wake.set()
            self.delivery_wake.set()

        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake()
        else:
            loop.call_soon_threadsafe(wake)
