"""What `python -m bot genkey | rotate-keys | backup` do with the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.config import Settings
from bot.storage.database import Database, backup_file
from bot.storage.encryption import MasterKeys, generate_key_text, load_master_keys

__all__ = ["backup", "generate_key_text", "master_keys_from_settings", "rotate_keys"]


def master_keys_from_settings(settings: Settings) -> MasterKeys:
    """The keys from BOT_ENCRYPTION_KEY or BOT_ENCRYPTION_KEY_FILE; raises MasterKeyError."""
    key_text = settings.bot_encryption_key
    return load_master_keys(
        None if key_text is None else key_text.get_secret_value(),
        settings.bot_encryption_key_file,
    )


async def rotate_keys(settings: Settings) -> int:
    database = await Database.open(settings.database_path, master_keys_from_settings(settings))
    try:
        return await database.rotate_keys()
    finally:
        await database.close()


async def backup(settings: Settings, destination: Path) -> None:
    """Copy the database at DATABASE_PATH (StorageError when there is none); needs no keys."""
    await asyncio.to_thread(backup_file, settings.database_path, destination)
