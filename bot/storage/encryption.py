"""Master keys and AES-256-GCM encryption of the values we must never store in plaintext.

A stored value reads `v1:<key_id>:<urlsafe base64 of nonce + ciphertext>`. The associated data
binds it to its user and column, so a value copied to another row or column fails to decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_VARIABLE = "BOT_ENCRYPTION_KEY"
KEY_FILE_VARIABLE = "BOT_ENCRYPTION_KEY_FILE"
KEY_EXPECTATION = (
    f"expected {KEY_BYTES} random bytes in URL-safe base64 (make one with `python -m bot genkey`)"
)


class MasterKeyError(ValueError):
    """The master key setting is missing or malformed; str() is one line naming the variable."""


class DecryptionError(ValueError):
    """A stored value cannot be decrypted with any of the given keys."""


def key_id_for(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def stored_key_id(stored: str) -> str:
    """The key id a stored value was encrypted with (`v1:<key_id>:...`)."""
    return _split(stored)[1]


def _split(stored: str) -> tuple[str, str, str]:
    parts = stored.split(":")
    if len(parts) != 3 or parts[0] != FORMAT_VERSION:
        raise DecryptionError("not an encrypted value")
    return parts[0], parts[1], parts[2]


def _associated_data(key_id: str, user_id: int, field: str) -> bytes:
    return f"{FORMAT_VERSION}|{key_id}|{user_id}|{field}".encode()


class MasterKeys:
    """The configured keys: the first encrypts, every one decrypts."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise MasterKeyError(f"{KEY_VARIABLE}: not set; {KEY_EXPECTATION}")
        self._ciphers: dict[str, AESGCM] = {}
        for key in keys:
            if len(key) != KEY_BYTES:
                raise MasterKeyError(f"{KEY_VARIABLE}: {KEY_EXPECTATION}")
            self._ciphers.setdefault(key_id_for(key), AESGCM(key))
        self.primary_key_id = next(iter(self._ciphers))

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def __repr__(self) -> str:
        return f"MasterKeys(key_ids={list(self._ciphers)!r})"

    def encrypt(self, plaintext: str, *, user_id: int, field: str) -> str:
        key_id = self.primary_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(
            nonce, plaintext.encode(), _associated_data(key_id, user_id, field)
        )
        encoded = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{FORMAT_VERSION}:{key_id}:{encoded}"

    def decrypt(self, stored: str, *, user_id: int, field: str) -> str:
        _, key_id, encoded = _split(stored)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(f"encrypted with key id {key_id}, which is not given")
        try:
            blob = base64.urlsafe_b64decode(encoded.encode("ascii"))
            plaintext = cipher.decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(key_id, user_id, field)
            )
            return plaintext.decode()
        except (InvalidTag, binascii.Error, ValueError, UnicodeError):
            raise DecryptionError("value does not decrypt") from None


def load_master_keys(key_text: str | None, key_file: Path | None) -> MasterKeys:
    """Parse BOT_ENCRYPTION_KEY or the file BOT_ENCRYPTION_KEY_FILE names; comma-separated keys."""
    if key_text is not None and key_file is not None:
        raise MasterKeyError(f"{KEY_VARIABLE}: set either it or {KEY_FILE_VARIABLE}, not both")
    if key_file is not None:
        return MasterKeys(_parse_keys(_read_key_file(key_file), KEY_FILE_VARIABLE))
    if key_text is None or not key_text.strip():
        raise MasterKeyError(
            f"{KEY_VARIABLE}: not set; {KEY_EXPECTATION}, or set {KEY_FILE_VARIABLE}"
        )
    return MasterKeys(_parse_keys(key_text, KEY_VARIABLE))


def _read_key_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise MasterKeyError(
                f"{KEY_FILE_VARIABLE}: {path} is accessible to other users "
                f"(mode {stat.S_IMODE(mode):o}); run `chmod 600 {path}`"
            )
        return path.read_text(encoding="ascii")
    except OSError as error:
        raise MasterKeyError(
            f"{KEY_FILE_VARIABLE}: cannot read {path} ({error.strerror or 'error'})"
        ) from None
    except UnicodeError:
        raise MasterKeyError(f"{KEY_FILE_VARIABLE}: {KEY_EXPECTATION}") from None


def _parse_keys(text: str, variable: str) -> list[bytes]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise MasterKeyError(f"{variable}: empty; {KEY_EXPECTATION}")
    keys = []
    for position, part in enumerate(parts, start=1):
        key = _decode_key(part)
        if key is None:
            which = f"key {position} of {len(parts)}: " if len(parts) > 1 else ""
            raise MasterKeyError(f"{variable}: {which}{KEY_EXPECTATION}")
        keys.append(key)
    return keys


def _decode_key(text: str) -> bytes | None:
    padded = text + "=" * (-len(text) % 4)
    try:
        key = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        return None
    return key if len(key) == KEY_BYTES else None


def generate_key_text() -> str:
    """A new master key: 32 random bytes in URL-safe base64."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")
