"""Key pairs the bot makes for users (`/connect new`): 3Commas gets only the public key, and the
private key never leaves the bot, not even to its owner."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.logs import hold_secrets, note_secrets
from bot.services.accounts import AccountService, Connected
from bot.services.clock import Clock
from bot.services.cooldown import Cooldown
from bot.services.errors import KeyPairGone, KeyPairTooSoon
from bot.storage.database import Database
from bot.storage.errors import CredentialsUnreadable, StorageError
from bot.storage.records import PendingKey
from bot.threecommas.signing import secret_forms

logger = logging.getLogger(__name__)

RSA_KEY_BITS = 2048  # as the 3Commas docs make them (`openssl genrsa 2048`)
RSA_PUBLIC_EXPONENT = 65537
# The user is busy in the 3Commas web app meanwhile; after this the pair is gone.
PENDING_LIFETIME = timedelta(hours=24)
# An expired pair's row stays this long without its key, so a late API key gets an answer.
REMEMBER_EXPIRED = timedelta(days=7)
# Making a pair takes 50-200 ms of CPU: at most this many at once, however many users ask.
CONCURRENT_GENERATIONS = 2


@dataclass(frozen=True)
class KeyPair:
    private_pem: str = field(repr=False)
    public_pem: str


class PendingState(Enum):
    NONE = "none"
    WAITING = "waiting"
    EXPIRED = "expired"


def make_key_pair() -> KeyPair:
    """A new RSA key pair; the log filter knows its private key before anything else does.
    CPU-heavy: run it off the event loop."""
    key = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    note_secrets(*secret_forms(private_pem))
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return KeyPair(private_pem, public_pem)


class KeyPairService:
    def __init__(
        self, db: Database, accounts: AccountService, clock: Clock, cooldown: Cooldown
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._clock = clock
        self._cooldown = cooldown
        self._generating = asyncio.Semaphore(CONCURRENT_GENERATIONS)

    async def make(self, user_id: int) -> str:
        """A new key pair for the user, replacing a pending one; returns its public key (PEM).
        KeyPairTooSoon if the user got one moments ago."""
        seconds_left = self._cooldown.start(user_id)
        if seconds_left:
            raise KeyPairTooSoon(seconds_left)
        try:
            async with self._generating:
                pair = await asyncio.to_thread(make_key_pair)
            # One pair per user: the one it replaces stays redacted only while there is room.
            hold_secrets(("key pair", user_id), *secret_forms(pair.private_pem))
            await self._db.pending_keys.save(user_id, pair.private_pem, self._clock.now())
        except BaseException:
            self._cooldown.release(user_id)
            raise
        logger.info("user %s got a new key pair", user_id)
        return pair.public_pem

    async def state(self, user_id: int) -> PendingState:
        try:
            pending = await self._db.pending_keys.load(user_id)
        except CredentialsUnreadable:
            return PendingState.EXPIRED
        if pending is None:
            return PendingState.NONE
        return PendingState.WAITING if self._usable(pending) else PendingState.EXPIRED

    async def finish(self, user_id: int, api_key: str) -> Connected:
        """Connect the API key 3Commas gave for the pending pair; the pair stays pending when
        3Commas refuses it. KeyPairGone when there is no usable pair."""
        try:
            pending = await self._db.pending_keys.load(user_id)
        except CredentialsUnreadable:
            raise KeyPairGone from None
        if pending is None or pending.private_key is None or not self._usable(pending):
            raise KeyPairGone
        # After a restart this process has not seen the key yet.
        hold_secrets(("key pair", user_id), *secret_forms(pending.private_key))
        return await self._accounts.connect(user_id, api_key, pending.private_key)

    async def drop(self, user_id: int) -> PendingState:
        """Forget the user's pending pair; returns what there was."""
        state = await self.state(user_id)
        if state is not PendingState.NONE:
            await self._db.pending_keys.delete(user_id)
        return state

    async def expire(self) -> int:
        """Erase the private keys of pairs older than PENDING_LIFETIME; returns how many."""
        now = self._clock.now()
        try:
            erased = await self._db.pending_keys.expire(
                now - PENDING_LIFETIME, now - PENDING_LIFETIME - REMEMBER_EXPIRED
            )
        except StorageError as error:  # the next sweep tries again
            logger.warning("could not erase expired key pairs: %s", error)
            return 0
        if erased:
            logger.info("erased %d expired key pairs", erased)
        return erased

    def _usable(self, pending: PendingKey) -> bool:
        return (
            pending.private_key is not None
            and self._clock.now() - pending.created_at < PENDING_LIFETIME
        )
