"""Master keys: parsing, the key file, and what encrypted values are bound to."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.storage.encryption import (
    DecryptionError,
    MasterKeyError,
    generate_key_text,
    load_master_keys,
    stored_key_id,
)
from bot.storage.maintenance import master_keys_from_settings

HYPOTHESIS_KEYS = load_master_keys(generate_key_text(), None)


def test_genkey_output_is_accepted_by_load_master_keys() -> None:
    text = generate_key_text()
    keys = load_master_keys(text, None)
    assert len(base64.urlsafe_b64decode(text)) == 32
    assert keys.primary_key_id == keys.key_ids[0]


def test_key_without_padding_is_accepted() -> None:
    text = generate_key_text()
    assert load_master_keys(text.rstrip("="), None).key_ids == load_master_keys(text, None).key_ids


def test_first_of_several_keys_encrypts_and_all_decrypt() -> None:
    new, old = generate_key_text(), generate_key_text()
    old_keys = load_master_keys(old, None)
    both = load_master_keys(f" {new} , {old} ", None)
    sealed_by_old = old_keys.encrypt("value", user_id=7, field="secret")
    assert both.decrypt(sealed_by_old, user_id=7, field="secret") == "value"
    assert stored_key_id(both.encrypt("value", user_id=7, field="secret")) == both.key_ids[0]
    assert both.key_ids[1] == old_keys.primary_key_id


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "not base64 at all!",
        base64.urlsafe_b64encode(os.urandom(31)).decode(),
        base64.urlsafe_b64encode(os.urandom(33)).decode(),
        generate_key_text() + ",short",
    ],
    # fixed ids: random keys in the ids would differ between xdist workers' collections
    ids=["empty", "blank", "not-base64", "31-bytes", "33-bytes", "second-key-short"],
)
def test_malformed_key_is_one_line_naming_the_variable_without_the_key(text: str) -> None:
    with pytest.raises(MasterKeyError) as caught:
        load_master_keys(text, None)
    message = str(caught.value)
    assert message.startswith("BOT_ENCRYPTION_KEY: ")
    assert "\n" not in message
    for part in text.split(","):
        if part.strip():
            assert part.strip() not in message


def test_missing_key_is_refused() -> None:
    with pytest.raises(MasterKeyError, match="BOT_ENCRYPTION_KEY: not set"):
        load_master_keys(None, None)


def test_settings_without_key_are_refused() -> None:
    settings = Settings(_env_file=None, bot_encryption_key=None, bot_encryption_key_file=None)
    with pytest.raises(MasterKeyError):
        master_keys_from_settings(settings)


def test_key_file_is_read(tmp_path: Path) -> None:
    text = generate_key_text()
    key_file = tmp_path / "key"
    key_file.write_text(text + "\n")
    key_file.chmod(0o600)
    assert load_master_keys(None, key_file).key_ids == load_master_keys(text, None).key_ids


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o620])
def test_too_permissive_key_file_is_refused(tmp_path: Path, mode: int) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(generate_key_text())
    key_file.chmod(mode)
    with pytest.raises(MasterKeyError, match=r"^BOT_ENCRYPTION_KEY_FILE: .*chmod 600"):
        load_master_keys(None, key_file)


def test_missing_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match=r"^BOT_ENCRYPTION_KEY_FILE: cannot read"):
        load_master_keys(None, tmp_path / "absent")


def test_malformed_key_file_does_not_echo_its_content(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("c2VjcmV0LWJ1dC1zaG9ydA")
    key_file.chmod(0o600)
    with pytest.raises(MasterKeyError) as caught:
        load_master_keys(None, key_file)
    assert "c2VjcmV0LWJ1dC1zaG9ydA" not in str(caught.value)
    assert str(caught.value).startswith("BOT_ENCRYPTION_KEY_FILE: ")


def test_value_is_bound_to_its_user_and_field() -> None:
    keys = load_master_keys(generate_key_text(), None)
    sealed = keys.encrypt("value", user_id=1, field="api_key")
    assert keys.decrypt(sealed, user_id=1, field="api_key") == "value"
    with pytest.raises(DecryptionError):
        keys.decrypt(sealed, user_id=2, field="api_key")
    with pytest.raises(DecryptionError):
        keys.decrypt(sealed, user_id=1, field="secret")


def test_same_value_encrypts_differently_each_time() -> None:
    keys = load_master_keys(generate_key_text(), None)
    first = keys.encrypt("value", user_id=1, field="api_key")
    assert first != keys.encrypt("value", user_id=1, field="api_key")
    assert first.startswith(f"v1:{keys.primary_key_id}:")


def test_master_keys_repr_shows_no_key_material() -> None:
    text = generate_key_text()
    keys = load_master_keys(text, None)
    assert text.rstrip("=") not in repr(keys)
    assert base64.urlsafe_b64decode(text).hex() not in repr(keys)


@settings(max_examples=200, deadline=None)
@given(
    plaintext=st.text(),
    user_id=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    field=st.sampled_from(["api_key", "secret"]),
)
def test_any_text_round_trips_for_any_64_bit_user(plaintext: str, user_id: int, field: str) -> None:
    sealed = HYPOTHESIS_KEYS.encrypt(plaintext, user_id=user_id, field=field)
    assert HYPOTHESIS_KEYS.decrypt(sealed, user_id=user_id, field=field) == plaintext
