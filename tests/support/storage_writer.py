"""Writes credentials and a snapshot per user in a loop, printing each user id once its writes
are acknowledged. Usage: python -m tests.support.storage_writer DB_PATH FIRST_USER_ID [EXIT_AFTER]
(the key comes from BOT_ENCRYPTION_KEY). EXIT_AFTER ends with os._exit, skipping close."""

from __future__ import annotations

import asyncio
import os
import sys
from decimal import Decimal
from pathlib import Path

from bot.storage.database import Database
from bot.storage.encryption import load_master_keys
from tests.support.storage import snapshot_for


def api_key_for(user_id: int) -> str:
    return f"crash-key-{user_id}"


def secret_for(user_id: int) -> str:
    return f"crash-secret-{user_id}"


def amount_for(user_id: int) -> Decimal:
    return Decimal(f"{user_id}.000000000000000000000000000001")


async def write_forever(path: Path, first_user_id: int, exit_after: int | None) -> None:
    keys = load_master_keys(os.environ["BOT_ENCRYPTION_KEY"], None)
    database = await Database.open(path, keys)
    user_id = first_user_id
    while exit_after is None or user_id < first_user_id + exit_after:
        await database.credentials.save(user_id, api_key_for(user_id), secret_for(user_id), "hmac")
        await database.snapshots.add(snapshot_for(user_id, 1, amount_for(user_id)))
        print(user_id, flush=True)
        user_id += 1
    os._exit(0)


if __name__ == "__main__":
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
    asyncio.run(write_forever(Path(sys.argv[1]), int(sys.argv[2]), limit))
