"""Signatures: the documented vectors, PKCS#1 and PKCS#8 keys, and agreement with py3cw."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from py3cw.request import Py3CW

from bot.threecommas.credentials import Credentials
from bot.threecommas.signing import InvalidSecret, KeyType, key_type_of, sign
from tests.support.threecommas import DOCS_HMAC_SECRET, rsa_test_key_pem

CHANGE_MODE = "/public/api/ver1/users/change_mode?mode=paper"
LOAD_BALANCES = "/public/api/ver1/accounts/12345678/load_balances"
ACCOUNTS_PAGE = "/public/api/ver1/accounts?page=1&per_page=100"

HMAC_VECTORS = [
    (CHANGE_MODE, "bca8d8c10acfbe8e76c5335d3efbe0a550487170a8bb7aaea0a13efabab55316"),
    (LOAD_BALANCES, "f1e9f02d7b60134aea80bb81ae12664c90986df4d4eb5aaaebca69e1cfc99132"),
    (ACCOUNTS_PAGE, "1d2cddfccf0bb94b4da3f4b40a85a9349a537b58ed80f53efeb227c576f5e0e3"),
]

RSA_VECTORS = [
    (
        CHANGE_MODE,
        "W+a26NiV6KkWP5zWoaDU9nSHmfObAtbbaq+xPIKwiKIz81Mlgrek/Z51qsAWNXEMCpIGW40IYDo7BTq4FSvOVSxd"
        "frFK3lRqBveoXW+/50QOd3p+fDe5Ku7Z0U6MvXSUeFOguMBxP7er1SLGOb5RLYI/2GPMI5txLAoSsTLjGkWOc7S3"
        "ZhUpxEfxSCp8wCFp6E99biIX2MhIT1/AAl290ID76Wr1dj9Y3QxIl6KtQlbpEqhvWBaadYaYyZR5YjHAn5NWAE2c"
        "vxLkH+SQE1khzAdB6T9ZJ9sgMtY1bOzTTV/Cj9W0SABCYr4In12+uFY0lB+ANvgi8hLr2NCl775Wdw==",
    ),
    (
        LOAD_BALANCES,
        "QQwNKFQlfSWHjegynxUGtvhMG8Hp208ALrI9ObcRAg0XHli2aJm1jhMR7PulIvogtvgmmDSFTw6GLa5a2oMCAzID"
        "A0d9v8hhkhbOZQAnXkboD+MTYZgNFXPTAa/VS8dE8HhI1XyOrhJ9vnziS4CybPv5k0wwtOUBBgaSdCUjuocpEetA"
        "P58hOHaI8zbbWUj0NByeNounR1P5fVe4vy4FXkw4DuIJhRUR0G5q+hGVoHxxPz3dUu3zdAhfSuXv5heqNowh2hs2"
        "0qj4CqfZEzF+DFakEsZDcIIGrNp6epfOuyMGq1D0UI1Wekm5pYLS/+Xqfiuog4OV7j5tnX8xmY2Ylw==",
    ),
]


def _pkcs8(pem_pkcs1: str) -> str:
    key = serialization.load_pem_private_key(pem_pkcs1.encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _generated_rsa_pem(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


# Generated once per module: key generation is the slow part.
GENERATED_RSA_KEYS = [_generated_rsa_pem(1024), _generated_rsa_pem(1536), _generated_rsa_pem(2048)]


def _py3cw_signature(message_path: str, body: str, *, secret: str | None, pem: str | None) -> str:
    client = Py3CW(key="oracle", secret=secret, selfsigned=pem)
    signature: str = client._Py3CW__generate_signature(message_path, body)
    return signature


@pytest.mark.parametrize(("message", "expected"), HMAC_VECTORS)
def test_hmac_signature_matches_documented_vector(message: str, expected: str) -> None:
    assert sign(message, DOCS_HMAC_SECRET) == expected


@pytest.mark.parametrize(("message", "expected"), RSA_VECTORS)
def test_rsa_signature_matches_documented_vector_with_pkcs1_key(
    message: str, expected: str
) -> None:
    assert sign(message, rsa_test_key_pem()) == expected


@pytest.mark.parametrize(("message", "expected"), RSA_VECTORS)
def test_rsa_signature_matches_documented_vector_with_pkcs8_key(
    message: str, expected: str
) -> None:
    pkcs8 = _pkcs8(rsa_test_key_pem())
    assert "BEGIN PRIVATE KEY" in pkcs8
    assert sign(message, pkcs8) == expected


def test_rsa_signature_is_one_line_of_standard_base64() -> None:
    signature = sign(LOAD_BALANCES, rsa_test_key_pem())
    assert "\n" not in signature
    assert set(signature) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    )


def test_key_type_recognises_pkcs1_pkcs8_and_hmac_secrets() -> None:
    pem = rsa_test_key_pem()
    assert key_type_of(pem) is KeyType.RSA
    assert key_type_of("\n  " + _pkcs8(pem)) is KeyType.RSA
    assert key_type_of(DOCS_HMAC_SECRET) is KeyType.HMAC
    assert Credentials("abcdef", pem).key_type is KeyType.RSA
    assert Credentials("abcdef", DOCS_HMAC_SECRET).key_type is KeyType.HMAC


def test_malformed_pem_raises_invalid_secret_without_the_secret() -> None:
    broken = "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETGARBAGE\n-----END RSA PRIVATE KEY-----\n"
    with pytest.raises(InvalidSecret) as caught:
        sign(LOAD_BALANCES, broken)
    assert "TOPSECRETGARBAGE" not in str(caught.value)
    assert "TOPSECRETGARBAGE" not in repr(caught.value)
    assert caught.value.__cause__ is None


def test_credentials_repr_shows_only_the_start_of_the_api_key() -> None:
    credentials = Credentials("abcdefghijkl", DOCS_HMAC_SECRET)
    assert repr(credentials) == "Credentials(api_key=abcd…)"
    assert str(credentials) == repr(credentials)
    assert "efgh" not in repr(credentials)
    assert DOCS_HMAC_SECRET not in repr(credentials)


paths = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-/.", min_size=1, max_size=40).map(
    lambda tail: "/public/api/ver1/" + tail
)
queries = st.dictionaries(
    st.text(min_size=1, max_size=8, alphabet=st.characters(blacklist_categories=("Cs",))),
    st.text(max_size=12, alphabet=st.characters(blacklist_categories=("Cs",))),
    max_size=4,
).map(urlencode)
bodies = st.one_of(
    st.just(""),
    st.dictionaries(
        st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=12)), max_size=4
    ).map(json.dumps),
)
hmac_secrets = st.text(
    min_size=1, max_size=64, alphabet=st.characters(blacklist_categories=("Cs",))
).filter(lambda s: key_type_of(s) is KeyType.HMAC)


def _message_path(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=paths, query=queries, body=bodies, secret=hmac_secrets)
def test_hmac_signature_equals_py3cws(path: str, query: str, body: str, secret: str) -> None:
    message_path = _message_path(path, query)
    expected = _py3cw_signature(message_path, body, secret=secret, pem=None)
    assert sign(message_path + body, secret) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=paths,
    query=queries,
    body=bodies,
    pem=st.sampled_from([*GENERATED_RSA_KEYS, rsa_test_key_pem()]),
)
def test_rsa_signature_equals_py3cws(path: str, query: str, body: str, pem: str) -> None:
    message_path = _message_path(path, query)
    expected = _py3cw_signature(message_path, body, secret=None, pem=pem)
    assert sign(message_path + body, pem) == expected
