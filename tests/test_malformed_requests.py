"""Malformed HTTP requests to the bot's server cost it next to nothing: aiohttp's error line for
each (with up to 8 KB of the request) is neither redacted at length nor written at ERROR."""

from __future__ import annotations

import asyncio
import io
import socket
import statistics
import threading
import time
from collections.abc import Callable

from standins.demo import Sandbox
from tests.support.bot import Chat, bot_running
from tests.support.process import free_port

# A header line of 8,000 digits: aiohttp answers 400 and logs the line in its error.
BAD_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: bot\r\n" + b"1" * 8_000 + b"\r\n\r\n"
REFRESHES = 9
ATTACK = 20  # bad requests sent while /refresh is measured


def ten_a_second(port: int, stop: threading.Event, sent: list[socket.socket]) -> None:
    """Someone else, on their own clock: BAD_REQUEST ten times a second until `stop`, without
    waiting for the answers."""
    while not stop.wait(0.1):
        connection = socket.create_connection(("127.0.0.1", port), timeout=60)
        connection.sendall(BAD_REQUEST)
        sent.append(connection)


def status_lines(sent: list[socket.socket]) -> list[bytes]:
    lines = []
    for connection in sent:
        with connection:
            lines.append(connection.makefile("rb").readline())
    return lines


async def median_refresh_seconds(chat: Chat, keep_going: Callable[[], bool] = bool) -> float:
    """The median time of /refresh, over REFRESHES of them and while `keep_going()`."""
    seconds: list[float] = []
    while len(seconds) < REFRESHES or keep_going():
        start = time.perf_counter()
        assert "$31.21" in (await chat.reply("/refresh 12345678")).plain
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


async def test_ten_malformed_requests_a_second_leave_refresh_as_quick_as_before(
    sandbox: Sandbox, info_log: io.StringIO
) -> None:
    port = free_port()
    sent: list[socket.socket] = []
    stop = threading.Event()
    attacker = threading.Thread(target=ten_a_second, args=(port, stop, sent), daemon=True)
    # As many refreshes as the attack takes: lift the client's per-key budget out of the way.
    async with bot_running(sandbox, port=port, threecommas_requests_per_minute=100_000):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        before = await median_refresh_seconds(chat)
        attacker.start()
        try:
            await sandbox.botapi.wait_for(lambda: len(sent) >= 3, timeout=60)
            first = len(sent)
            # Two seconds of the attack at least, whatever the refreshes take.
            during = await median_refresh_seconds(chat, lambda: len(sent) < first + ATTACK)
        finally:
            stop.set()
            await asyncio.to_thread(attacker.join, 60)
        answers = await asyncio.to_thread(status_lines, sent)
    assert during <= 2 * before + 0.25, f"median /refresh {before:.3f} s, then {during:.3f} s"
    assert answers and all(b" 400 " in answer for answer in answers), answers[:3]
    assert "1" * 100 not in info_log.getvalue()  # nothing of the requests reached the log
