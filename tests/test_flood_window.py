"""The flood limiter's window counts a request from its answer, as the server may count it late."""

from __future__ import annotations

import asyncio
import time

from bot.telegram.flood import SlidingWindow


async def test_a_slot_is_dated_by_the_answer_not_the_send() -> None:
    window = SlidingWindow(2, 0.3)
    await window.acquire()
    await window.acquire()
    await asyncio.sleep(0.2)  # both requests in flight for a while (slow to arrive)
    window.release()
    answered = time.monotonic()
    window.release()
    await window.acquire()
    # a window dated at the send would have let this one go 0.1 s after the release
    assert time.monotonic() - answered >= 0.29


async def test_requests_in_flight_hold_their_slots() -> None:
    window = SlidingWindow(1, 0.05)
    await window.acquire()
    waiting = asyncio.create_task(window.acquire())
    await asyncio.sleep(0.2)  # far past the period: still in flight, so still counted
    assert not waiting.done()
    window.release()
    await asyncio.wait_for(waiting, 1)
    assert not window.idle()
    window.release()
    await asyncio.sleep(0.06)
    assert window.idle()
