"""Credentials are stored encrypted, bound to their user and column, and never leak."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.encryption import MasterKeys
from bot.storage.errors import CredentialsUnreadable
from tests.support.storage import (
    distinctive_api_key,
    distinctive_secret,
    encodings_of,
    new_keys,
    raw_bytes,
    rsa_private_key_pem,
    run_sql,
    wal_size,
)


@pytest.fixture
def keys() -> MasterKeys:
    return new_keys()[1]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
async def database(path: Path, keys: MasterKeys) -> AsyncIterator[Database]:
    database = await Database.open(path, keys)
    yield database
    await database.close()


async def test_saved_credentials_load_back(database: Database) -> None:
    await database.credentials.save(42, "the-key", "the-secret", "hmac")
    loaded = await database.credentials.load(42)
    assert loaded is not None
    assert (loaded.user_id, loaded.api_key, loaded.secret, loaded.key_type) == (
        42,
        "the-key",
        "the-secret",
        "hmac",
    )
    assert loaded.last_validated_at is None
    assert await database.credentials.load(43) is None


async def test_save_again_replaces_values_and_keeps_created_at(database: Database) -> None:
    await database.credentials.save(42, "old-key", "old-secret", "hmac")
    await database.credentials.mark_validated(42)
    first = await database.credentials.load(42)
    await database.credentials.save(42, "new-key", "-----BEGIN PRIVATE KEY-----", "rsa")
    second = await database.credentials.load(42)
    assert first is not None and second is not None
    assert first.last_validated_at is not None
    assert (second.api_key, second.secret, second.key_type) == (
        "new-key",
        "-----BEGIN PRIVATE KEY-----",
        "rsa",
    )
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert second.last_validated_at is None


async def test_mark_validated_and_delete(database: Database) -> None:
    await database.credentials.save(42, "k", "s", "hmac")
    await database.credentials.mark_validated(42)
    loaded = await database.credentials.load(42)
    assert loaded is not None and loaded.last_validated_at is not None
    await database.credentials.delete(42)
    assert await database.credentials.load(42) is None


async def test_unknown_key_type_is_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="key_type"):
        await database.credentials.save(42, "k", "s", "plain")


async def test_repr_hides_key_and_secret(database: Database) -> None:
    await database.credentials.save(42, "visible-key-xyz", "visible-secret-xyz", "hmac")
    loaded = await database.credentials.load(42)
    assert "visible-key-xyz" not in repr(loaded)
    assert "visible-secret-xyz" not in repr(loaded)


async def test_ids_above_32_bits_round_trip(database: Database) -> None:
    for user_id in (2**32 + 7, 2**62, -1001234567890123):
        await database.credentials.save(user_id, f"key{user_id}", f"secret{user_id}", "hmac")
    for user_id in (2**32 + 7, 2**62, -1001234567890123):
        loaded = await database.credentials.load(user_id)
        assert loaded is not None
        assert (loaded.user_id, loaded.api_key) == (user_id, f"key{user_id}")


async def test_no_key_or_secret_appears_in_the_database_files(path: Path, keys: MasterKeys) -> None:
    values: list[str] = []
    database = await Database.open(path, keys)
    for user_id in range(1, 6):
        api_key, secret = distinctive_api_key(), distinctive_secret()
        await database.credentials.save(user_id, api_key, secret, "hmac")
        values += [api_key, secret]
    pem = rsa_private_key_pem()
    rsa_key = distinctive_api_key()
    await database.credentials.save(2**40, rsa_key, pem, "rsa")
    values += [rsa_key, pem, *[line for line in pem.splitlines() if len(line) == 64][:5]]

    def assert_no_leak() -> None:
        content = raw_bytes(path)
        assert content
        for value in values:
            for form in encodings_of(value):
                assert form not in content

    assert wal_size(path) > 0
    assert_no_leak()
    await database.close()
    assert_no_leak()
    database = await Database.open(path, keys)
    loaded = await database.credentials.load(2**40)
    assert loaded is not None and loaded.secret == pem
    await database.close()


async def test_ciphertexts_swapped_between_users_fail_for_those_users_only(
    path: Path, keys: MasterKeys
) -> None:
    database = await Database.open(path, keys)
    for user_id in (1, 2, 3):
        await database.credentials.save(user_id, f"key{user_id}", f"secret{user_id}", "hmac")
    await database.close()
    with sqlite3.connect(path) as connection:
        rows = dict(connection.execute("SELECT user_id, api_key FROM credentials").fetchall())
        connection.execute("UPDATE credentials SET api_key = ? WHERE user_id = 1", [rows[2]])
        connection.execute("UPDATE credentials SET api_key = ? WHERE user_id = 2", [rows[1]])
    connection.close()
    database = await Database.open(path, keys)
    for user_id in (1, 2):
        with pytest.raises(CredentialsUnreadable) as caught:
            await database.credentials.load(user_id)
        assert caught.value.user_id == user_id
    loaded = await database.credentials.load(3)
    assert loaded is not None and loaded.api_key == "key3"
    await database.close()


async def test_key_and_secret_swapped_between_columns_fail_for_that_user_only(
    path: Path, keys: MasterKeys
) -> None:
    database = await Database.open(path, keys)
    await database.credentials.save(1, "key1", "secret1", "hmac")
    await database.credentials.save(2, "key2", "secret2", "hmac")
    await database.close()
    run_sql(path, "UPDATE credentials SET api_key = secret, secret = api_key WHERE user_id = 1")
    database = await Database.open(path, keys)
    with pytest.raises(CredentialsUnreadable):
        await database.credentials.load(1)
    loaded = await database.credentials.load(2)
    assert loaded is not None and (loaded.api_key, loaded.secret) == ("key2", "secret2")
    await database.close()


@pytest.mark.parametrize(
    "corruption",
    [
        "UPDATE credentials SET secret = substr(secret, 1, length(secret) - 2) || 'AA' "
        "WHERE user_id = 1",
        "UPDATE credentials SET secret = 'plaintext-secret' WHERE user_id = 1",
        "UPDATE credentials SET api_key = 'v1:' || substr(api_key, 4, 8) || ':' WHERE user_id = 1",
    ],
)
async def test_tampered_value_is_unreadable_and_never_used_as_plaintext(
    path: Path, keys: MasterKeys, corruption: str
) -> None:
    database = await Database.open(path, keys)
    await database.credentials.save(1, "key1", "secret1", "hmac")
    await database.credentials.save(2, "key2", "secret2", "hmac")
    await database.close()
    run_sql(path, corruption)
    database = await Database.open(path, keys)
    with pytest.raises(CredentialsUnreadable):
        await database.credentials.load(1)
    assert await database.credentials.load(2) is not None
    await database.close()
