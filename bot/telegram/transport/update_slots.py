"""How many updates are handled at once, and why waiting for Telegram holds no slot.

An update takes a slot while its handlers run. A reply that must wait for its chat's flood
limit (about a message a second in a private chat, 20 a minute in a group) gives its slot back
first (the flood limiter calls `free_update_slot`): waiting costs a future, not a place that
another user's update needs. python-telegram-bot's own slots cannot be given back early, which
is why these exist (bot/telegram/incoming.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar


class _Slot:
    """One update's slot; given back at most once."""

    __slots__ = ("_semaphore", "held")

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self._semaphore.release()


# The slot of the update being handled, seen by its handlers and the tasks they start.
_current: ContextVar[_Slot | None] = ContextVar("update_slot", default=None)


class UpdateSlots:
    """At most `count` updates handled at once, first come first served."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._semaphore = asyncio.Semaphore(count)

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await self._semaphore.acquire()
        slot = _Slot(self._semaphore)
        token = _current.set(slot)
        try:
            yield
        finally:
            _current.reset(token)
            slot.give_back()


def free_update_slot() -> None:
    """The update being handled waits for Telegram: its slot goes to the next update."""
    slot = _current.get()
    if slot is not None:
        slot.give_back()
