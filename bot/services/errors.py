"""What can go wrong, for the front end: the bot's own errors and the 3Commas errors it passes on.

The front end tells the user one sentence for each; it imports them from here alone.
"""

from __future__ import annotations

from bot.threecommas.errors import (
    AccountNotFound,
    BotsPermissionMissing,
    ExchangeKeysInvalid,
    InvalidApiKey,
    PermissionDenied,
    RateLimited,
    ThreeCommasError,
    Unavailable,
    UnexpectedResponse,
)

__all__ = [
    "AccountNotFound",
    "BotsPermissionMissing",
    "ExchangeKeysInvalid",
    "InvalidApiKey",
    "PermissionDenied",
    "RateLimited",
    "ThreeCommasError",
    "Unavailable",
    "UnexpectedResponse",
]


class ServiceError(Exception):
    """A failure the user is told about in one sentence."""


class NotConnected(ServiceError):
    """The user has not connected a 3Commas key yet."""


class KeyPairWaiting(NotConnected):
    """Not connected yet: the key pair of `/connect new` waits for the API key 3Commas gave."""


class ConnectAgain(ServiceError):
    """The stored keys of this user cannot be read any more; they must connect again."""


class InvalidKeyFormat(ServiceError):
    """The pasted secret is neither an HMAC secret nor a readable RSA private key."""


class KeyPairTooSoon(ServiceError):
    """The user got a key pair moments ago (`/connect new` has a cooldown)."""

    def __init__(self, seconds_left: float) -> None:
        super().__init__(f"key pair cooldown active for {seconds_left:.1f} s")
        self.seconds_left = seconds_left


class RequestLimitReached(ServiceError):
    """`/refresh all` left this account out: its key's requests for this minute are used up."""

    def __init__(self, requests_per_minute: int) -> None:
        super().__init__(f"{requests_per_minute} requests a minute used up")
        self.requests_per_minute = requests_per_minute


class NoAccounts(ServiceError):
    """The key sees no exchange accounts at all."""


class AccountNotMatched(ServiceError):
    """`query` names no account of the user, or several (`candidates`)."""

    def __init__(self, query: str, candidates: list[str]) -> None:
        super().__init__("no single account matches")
        self.query = query
        self.candidates = candidates


class NoSuchEntry(ServiceError):
    """No subscription or alert has that number in this chat."""


class NotYours(ServiceError):
    """Only the one who created it, or a group administrator, may remove it."""


class LimitReached(ServiceError):
    """A chat, or a user across chats, has as many `entries` as the settings allow."""

    def __init__(self, entries: str, scope: str, limit: int) -> None:
        super().__init__(f"{scope} limit of {limit} {entries} reached")
        self.entries = entries  # "subscriptions" or "alerts"
        self.scope = scope  # "chat" or "user"
        self.limit = limit


class DuplicateEntry(ServiceError):
    """The same subscription or alert is already there, as entry `number`."""

    def __init__(self, entry: str, number: int) -> None:
        super().__init__(f"duplicate of {entry} {number}")
        self.entry = entry  # "subscription" or "alert"
        self.number = number


class AdminsOnly(ServiceError):
    """In a group, only its administrators may change the chat's settings."""


class BadPeriod(ServiceError):
    """A period or grouping the chart or profit commands do not know; the text says which do."""


class BadOption(ServiceError):
    """A last word `/<command>` does not take after the account; `options` are those it does."""

    def __init__(self, command: str, options: list[str]) -> None:
        super().__init__(f"/{command} takes {', '.join(options)}")
        self.command = command
        self.options = options


class NoHistory(ServiceError):
    """3Commas has no balance history for the account in the asked period."""


class KeyPairGone(ServiceError):
    """The key pair made with `/connect new` expired (or cannot be read): a new one is needed."""


class KeyChangedMeanwhile(ServiceError):
    """The user disconnected, or stored another key, while this key was being checked: it was
    not stored."""


class PerAccountOnly(ServiceError):
    """The command works on one account at a time, not on `all`."""

    def __init__(self, command: str) -> None:
        super().__init__(f"/{command} takes one account")
        self.command = command


# Everything a command may fail with that the user is told in a sentence.
FAILURES = (ServiceError, ThreeCommasError)
