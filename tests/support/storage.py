"""Helpers for the storage tests: keys, distinctive secrets, raw file state, a crash writer."""

from __future__ import annotations

import base64
import os
import secrets
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.storage.encryption import MasterKeys, generate_key_text, load_master_keys
from bot.storage.records import Snapshot

REPO_ROOT = Path(__file__).resolve().parents[2]
# Run as a module: run as a script, its folder would shadow the `bot` package.
CRASH_WRITER_COMMAND = (sys.executable, "-m", "tests.support.storage_writer")


def keys_from(*key_texts: str) -> MasterKeys:
    return load_master_keys(",".join(key_texts), None)


def new_keys() -> tuple[str, MasterKeys]:
    text = generate_key_text()
    return text, keys_from(text)


def distinctive_api_key() -> str:
    return "apikey" + secrets.token_hex(24)


def distinctive_secret() -> str:
    return "secret" + secrets.token_hex(40)


def rsa_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def encodings_of(value: str) -> list[bytes]:
    """The forms a leaked value could take in a file: raw, hex, base64 at any alignment."""
    raw = value.encode()
    forms = [raw, raw.hex().encode(), raw.hex().upper().encode()]
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            # Drop the last 4 characters: they depend on what follows in a longer stream.
            forms.append(encode(raw[shift:])[:-4])
    return forms


def database_files(path: Path) -> list[Path]:
    return [path, Path(f"{path}-wal")]


def file_state(path: Path) -> dict[str, tuple[bytes, int] | None]:
    """Bytes and mtime of the database and its WAL (None where a file is absent)."""
    state: dict[str, tuple[bytes, int] | None] = {}
    for file in database_files(path):
        state[file.name] = (file.read_bytes(), file.stat().st_mtime_ns) if file.exists() else None
    return state


def raw_bytes(path: Path) -> bytes:
    return b"".join(file.read_bytes() for file in database_files(path) if file.exists())


def snapshot_for(user_id: int, account_id: int, amount: Decimal | None) -> Snapshot:
    return Snapshot(
        user_id=user_id,
        account_id=account_id,
        taken_at=datetime.now(UTC),
        currency="USD",
        amount=amount,
        usd_amount=amount,
        btc_amount=None,
        profit=None,
        profit_percentage=None,
        day_profit=None,
        day_profit_percentage=None,
    )


def crash_writer_env(key_text: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "BOT_ENCRYPTION_KEY": key_text}


def write_then_die(path: Path, key_text: str, writes: int) -> None:
    """Run the crash writer for `writes` users; it exits without closing the database."""
    subprocess.run(
        [*CRASH_WRITER_COMMAND, str(path), "1", str(writes)],
        env=crash_writer_env(key_text),
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=30,
    )


def wal_size(path: Path) -> int:
    return Path(f"{path}-wal").stat().st_size


def run_sql(path: Path, *statements: str) -> None:
    """Change the file behind the bot's back, as an attacker or a bug would."""
    connection = sqlite3.connect(path)
    with connection:
        for statement in statements:
            connection.execute(statement)
    connection.close()
