"""SIGTERM while several refreshes are in flight: every one is answered, the process exits
within 25 s. (tests/test_lifecycle.py covers one slow refresh; this is the many-refresh case.)
A refresh that cannot finish within the grace time says it was interrupted instead."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from bench.common import account_id, add_keys, bot_process, first_poll, seed_users, user_id
from bot.config import Settings
from standins.demo import running_standins

USERS = 12
LATENCY = 4.0


@pytest.mark.realtime  # real time is the point: runs as it is, first under xdist
@pytest.mark.timeout(90)
async def test_sigterm_with_many_refreshes_in_flight_answers_all_and_exits(
    tmp_path: Path,
) -> None:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(tmp_path, base, latency=LATENCY) as sandbox:
        botapi = sandbox.botapi
        add_keys(sandbox.threecommas, USERS)
        await seed_users(sandbox.settings, USERS)
        async with bot_process(sandbox.settings, tmp_path / "run") as bot:
            await first_poll(botapi)
            for index in range(USERS):
                botapi.send_text(f"/refresh {account_id(index)}", user_id=user_id(index))
            await botapi.wait_for(
                lambda: all(
                    any("Refreshing" in m.plain for m in botapi.messages(user_id(i)))
                    for i in range(USERS)
                ),
                timeout=15,
            )
            bot.process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            returncode = await asyncio.wait_for(bot.process.wait(), timeout=25)
            exited_after = time.monotonic() - stopped_at
            assert returncode == 0, bot.stderr()
            assert "Traceback" not in bot.stderr()
        assert exited_after < 25
        assert exited_after >= LATENCY * 0.5, "it waited for the in-flight refreshes"
        for index in range(USERS):
            sent = botapi.messages(user_id(index))
            assert len(sent) == 1, [m.plain for m in sent]
            assert sent[0].edits and "Refreshing" in sent[0].edits[-1]
            assert f"Bench {index}" in sent[0].plain and "Updated" in sent[0].plain


@pytest.mark.realtime  # real time is the point: runs as it is, first under xdist
@pytest.mark.timeout(60)
async def test_sigterm_settles_a_refresh_that_cannot_finish_within_the_grace_time(
    tmp_path: Path,
) -> None:
    base = Settings(_env_file=None, refresh_cooldown_seconds=0)
    async with running_standins(tmp_path, base, latency=60.0) as sandbox:
        botapi = sandbox.botapi
        add_keys(sandbox.threecommas, 1)
        await seed_users(sandbox.settings, 1)
        async with bot_process(
            sandbox.settings, tmp_path / "run", SHUTDOWN_GRACE_SECONDS="1"
        ) as bot:
            await first_poll(botapi)
            botapi.send_text(f"/refresh {account_id(0)}", user_id=user_id(0))
            progress = await botapi.wait_for_text(user_id(0), "Refreshing", timeout=15)
            bot.process.send_signal(signal.SIGTERM)
            returncode = await asyncio.wait_for(bot.process.wait(), timeout=20)
            assert returncode == 0, bot.stderr()
            assert "Traceback" not in bot.stderr()
        assert progress.plain == "❌ Interrupted by a restart. Try again."
        assert len(progress.edits) == 1 and "Refreshing" in progress.edits[0]
        assert len(botapi.messages(user_id(0))) == 1
