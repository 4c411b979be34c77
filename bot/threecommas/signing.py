"""Request signatures for the 3Commas API: HMAC-SHA256 hex or RSA PKCS#1 v1.5 base64."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from enum import StrEnum

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_PEM_MARKERS = ("-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----")


class KeyType(StrEnum):
    HMAC = "hmac"
    RSA = "rsa"


class InvalidSecret(ValueError):
    """The secret cannot be used to sign; the message never contains the secret."""


def key_type_of(secret: str) -> KeyType:
    """RSA when the secret is a PEM private key (PKCS#1 or PKCS#8), HMAC otherwise."""
    text = secret.strip()
    return KeyType.RSA if text.startswith(_PEM_MARKERS) else KeyType.HMAC


@functools.lru_cache(maxsize=1024)
def load_rsa_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Parse a PEM private key once; parsing is slow and the same keys sign over and over."""
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidSecret("The RSA private key is not a valid unencrypted PEM key.") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidSecret("The private key is not an RSA key.")
    return key


@functools.lru_cache(maxsize=1024)
def secret_forms(secret: str) -> tuple[str, ...]:
    """Every text form a secret could take in a log line: itself and, for an RSA private key,
    its PEM, base64 DER and hex DER in both PKCS#1 and PKCS#8."""
    if key_type_of(secret) is not KeyType.RSA:
        return (secret,)
    try:
        key = load_rsa_private_key(secret)
    except InvalidSecret:
        return (secret,)
    forms = [secret]
    for private_format in (
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.PrivateFormat.PKCS8,
    ):
        pem = key.private_bytes(
            serialization.Encoding.PEM, private_format, serialization.NoEncryption()
        )
        der = key.private_bytes(
            serialization.Encoding.DER, private_format, serialization.NoEncryption()
        )
        forms += [pem.decode(), base64.b64encode(der).decode(), der.hex(), der.hex().upper()]
    return tuple(forms)


def sign(message: str, secret: str) -> str:
    """Signature of `message` (path + '?' + query + raw body) for the `Signature` header."""
    if key_type_of(secret) is KeyType.RSA:
        key = load_rsa_private_key(secret)
        raw = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode("ascii")
    if not secret:
        raise InvalidSecret("The API secret is empty.")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
