"""Errors raised by the storage layer; each message is one line and never holds key material."""

from __future__ import annotations


class StorageError(Exception):
    """Something went wrong reading or writing the database."""


class StorageStartupError(StorageError):
    """The database cannot be opened with the given keys; nothing was written."""


class CredentialsUnreadable(StorageError):
    """One user's stored credentials cannot be decrypted (tampered, or a missing key)."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"stored credentials of user {user_id} cannot be decrypted")
        self.user_id = user_id


class UserChanged(StorageError):
    """The user disconnected, or connected another key, while this write was being prepared;
    nothing was written."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} changed their key while it was being stored")
        self.user_id = user_id
