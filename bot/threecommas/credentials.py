"""One user's 3Commas API key and its secret (HMAC secret or RSA private key PEM)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.threecommas.signing import KeyType, key_type_of


@dataclass(frozen=True, repr=False)
class Credentials:
    api_key: str
    secret: str

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.api_key[:4]}…)"

    __str__ = __repr__

    @property
    def key_type(self) -> KeyType:
        return key_type_of(self.secret)
