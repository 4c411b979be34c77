"""Killing the bot at any moment (SIGKILL) loses no acknowledged write and corrupts nothing."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.encryption import generate_key_text
from tests.support.storage import CRASH_WRITER_COMMAND, REPO_ROOT, crash_writer_env, keys_from
from tests.support.storage_writer import amount_for, api_key_for, secret_for

KILLS = 20
USERS_PER_RUN = 1_000_000


def run_and_kill(path: Path, key_text: str, first_user_id: int, rng: random.Random) -> list[int]:
    """Start the writer, SIGKILL it at a random moment, return the user ids it acknowledged."""
    writer = subprocess.Popen(
        [*CRASH_WRITER_COMMAND, str(path), str(first_user_id)],
        env=crash_writer_env(key_text),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert writer.stdout is not None
    if rng.random() < 0.25:
        # Sometimes while it is still starting up: opening, migrating.
        time.sleep(rng.uniform(0.0, 0.3))
    else:
        writer.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.05))
    writer.send_signal(signal.SIGKILL)
    output = writer.stdout.read()
    writer.wait()
    assert writer.returncode == -signal.SIGKILL
    lines = output.decode().split("\n")[:-1]  # the last piece may be an unfinished line
    return [int(line) for line in lines]


def kill_repeatedly(path: Path, key_text: str) -> list[int]:
    rng = random.Random()
    acknowledged: list[int] = []
    for run in range(1, KILLS + 1):
        acknowledged += run_and_kill(path, key_text, run * USERS_PER_RUN, rng)
    return acknowledged


@pytest.mark.realtime  # real time is the point: runs as it is, first under xdist
async def test_sigkill_at_random_moments_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    key_text = generate_key_text()
    acknowledged = kill_repeatedly(path, key_text)
    assert acknowledged, "the writer never acknowledged a write"

    database = await Database.open(path, keys_from(key_text))
    assert await database.integrity_check() == "ok"
    for user_id in acknowledged:
        credentials = await database.credentials.load(user_id)
        assert credentials is not None, user_id
        assert (credentials.api_key, credentials.secret) == (
            api_key_for(user_id),
            secret_for(user_id),
        )
        snapshot = await database.snapshots.latest(user_id, 1)
        assert snapshot is not None, user_id
        assert snapshot.amount == amount_for(user_id)
    await database.close()
