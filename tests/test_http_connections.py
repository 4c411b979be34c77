"""The HTTP server's connections: slow or idle clients cannot use up the descriptors, and what
repeats thousands of times a second is logged once a minute with a count."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.config import Settings
from bot.logs import EveryInterval
from bot.telegram.transport.http_connections import ACCEPT_FAILED, quiet_accept_errors
from standins.demo import DEMO_USER_ID, running_standins
from tests.support.process import free_port, process_env

# systemd's default soft limit of descriptors, which the unit used to leave in place.
SYSTEMD_SOFT_LIMIT = 1024
SLOW_CONNECTIONS = 1100
FLOOD_SECONDS = 90.0  # the most the flood lasts if the test never stops it


class SlowClients:
    """`count` connections that each send a request's headers one byte a second; a connection
    the server closes comes back a second later, until `stop_at`."""

    def __init__(self, port: int, count: int, stop_at: float) -> None:
        self._port = port
        self._count = count
        self._stop_at = stop_at
        self.connects = 0
        self.all_started = asyncio.Event()

    async def _one(self) -> None:
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 10_000
        while time.monotonic() < self._stop_at:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self._port)
            except OSError:
                reader = writer = None
            self.connects += 1
            if self.connects >= self._count:
                self.all_started.set()
            if writer is not None and reader is not None:
                with contextlib.suppress(OSError):
                    for byte in request:
                        writer.write(bytes([byte]))
                        try:
                            if not await asyncio.wait_for(reader.read(1024), 1.0):
                                break  # closed by the server
                        except TimeoutError:
                            continue
                        break  # answered: then closed as the server likes
                writer.close()
            await asyncio.sleep(1.0)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SlowClients]:
        tasks = [asyncio.create_task(self._one()) for _ in range(self._count)]
        try:
            yield self
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _systemd_soft_limit() -> None:
    """In the bot's process: the descriptor limit a systemd service gets by default."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (SYSTEMD_SOFT_LIMIT, hard))


@pytest.mark.timeout(240)
async def test_healthz_and_the_webhook_answer_during_1100_slow_connections(
    tmp_path: Path,
) -> None:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(tmp_path, base) as sandbox:
        botapi = sandbox.botapi
        port = free_port()
        env = process_env(
            sandbox.settings, WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram", PORT=str(port)
        )
        log = tmp_path / "bot.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=tmp_path,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
                preexec_fn=_systemd_soft_limit,
            )
        try:
            await botapi.wait_for(lambda: botapi.webhook is not None, timeout=30)
            flood = SlowClients(port, SLOW_CONNECTIONS, time.monotonic() + FLOOD_SECONDS)
            async with flood.running(), aiohttp.ClientSession() as session:
                await asyncio.wait_for(flood.all_started.wait(), 60)
                started = time.monotonic()
                async with session.get(
                    f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=20)
                ) as answer:
                    assert answer.status == 200
                    assert (await answer.json())["database"] == "ok"
                healthz_seconds = time.monotonic() - started
                botapi.send_text("/help", user_id=DEMO_USER_ID)
                await botapi.wait_for_text(DEMO_USER_ID, "Connect", timeout=30)
                assert {delivery.status for delivery in botapi.deliveries} == {200}
                connects = flood.connects
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()
    size = log.stat().st_size
    assert size < 1_000_000, (size, log.read_text()[-2000:])
    # for the record (pytest -rP): how long /healthz took, the log's size, the connects made
    print(f"healthz {healthz_seconds:.3f} s, log {size} bytes, {connects} connects")


async def test_failed_accepts_are_logged_once_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    restore = quiet_accept_errors(loop)
    try:
        with caplog.at_level(logging.DEBUG):
            for _ in range(10_000):  # what asyncio reports when accept() fails with EMFILE
                loop.call_exception_handler(
                    {"message": ACCEPT_FAILED, "exception": OSError(24, "Too many open files")}
                )
    finally:
        restore()
    assert [record.getMessage() for record in caplog.records] == [
        "cannot accept connections: the process is out of descriptors or memory "
        "([Errno 24] Too many open files)"
    ]
    assert "Traceback" not in caplog.text


def test_a_repeated_event_is_logged_once_per_interval_with_how_many(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    refused = EveryInterval(
        logging.getLogger("bot.test"), logging.WARNING, "refused", interval=60, clock=lambda: now[0]
    )
    with caplog.at_level(logging.WARNING, logger="bot"):
        for second in range(150):  # 100 a second for 150 s
            now[0] = float(second)
            for _ in range(100):
                refused.note()
    assert [record.getMessage() for record in caplog.records] == [
        "refused",
        "refused: 6000 times in the last 60 s",
        "refused: 6000 times in the last 60 s",
    ]
