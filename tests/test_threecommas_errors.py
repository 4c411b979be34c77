"""The mapping from a 3Commas HTTP response to the error family."""

from __future__ import annotations

import email.utils
import json
import time

import pytest

from bot.telegram.views.texts import error_sentence
from bot.telegram.views.translator import ENGLISH
from bot.threecommas.errors import (
    AccountNotFound,
    ExchangeKeysInvalid,
    InvalidApiKey,
    PermissionDenied,
    RateLimited,
    ThreeCommasError,
    Unavailable,
    error_from_response,
    parse_retry_after,
)


def _body(code: str, description: str = "some text") -> bytes:
    return json.dumps({"error": code, "error_description": description}).encode()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, _body("api_key_invalid_or_expired"), InvalidApiKey),
        (401, _body("signature_invalid"), InvalidApiKey),
        (403, _body("access_denied"), PermissionDenied),
        (404, _body("not_found"), AccountNotFound),
        (404, _body("record_not_found"), AccountNotFound),
        (422, _body("invalid_api_key"), ExchangeKeysInvalid),
        (500, _body("unknown_error"), Unavailable),
        (422, _body("unknown_market_api_error"), Unavailable),
        (502, b"<html><body>Bad Gateway</body></html>", Unavailable),
        (503, b"", Unavailable),
        (404, b"[" * 100_000 + b"]" * 100_000, AccountNotFound),  # absurd nesting: no code
        (400, _body("invalid_params"), ThreeCommasError),
    ],
)
def test_status_and_code_map_to_error_class(
    status: int, body: bytes, expected: type[ThreeCommasError]
) -> None:
    error = error_from_response(status, body, {})
    assert type(error) is expected
    assert error.status == status
    assert error_sentence(ENGLISH, error).endswith(".")


def test_exchange_keys_invalid_keeps_code_and_description() -> None:
    body = b'{"error_description": "API keys are no longer valid or incorrect.", "error": "invalid_api_key"}'
    error = error_from_response(422, body, {})
    assert isinstance(error, ExchangeKeysInvalid)
    assert error.code == "invalid_api_key"
    assert error.description == "API keys are no longer valid or incorrect."
    assert "Fix the exchange connection in 3Commas" in error_sentence(ENGLISH, error)


def test_invalid_api_key_sentence_names_every_cause() -> None:
    error = error_from_response(401, _body("signature_invalid"), {})
    sentence = error_sentence(ENGLISH, error)
    for cause in ("wrong or expired", "signature is wrong", "not whitelisted", "/connect new"):
        assert cause in sentence, sentence


def test_permission_denied_carries_a_permission_hint_when_given() -> None:
    body = json.dumps(
        {"error": "access_denied", "error_attributes": {"permission": "ACCOUNTS_WRITE"}}
    ).encode()
    error = error_from_response(403, body, {})
    assert isinstance(error, PermissionDenied)
    assert error.permission == "ACCOUNTS_WRITE"
    without_hint = error_from_response(403, _body("access_denied"), {})
    assert isinstance(without_hint, PermissionDenied)
    assert without_hint.permission is None


def test_rate_limit_honours_retry_after_or_blocks_300_seconds() -> None:
    with_header = error_from_response(429, b"", {"Retry-After": "7"})
    assert isinstance(with_header, RateLimited)
    assert with_header.retry_after == 7.0
    assert not with_header.banned
    without = error_from_response(429, b"", {})
    assert isinstance(without, RateLimited)
    assert without.retry_after == 300.0
    assert "5 min" in error_sentence(ENGLISH, without)


def test_ban_is_rate_limited_with_banned_flag_and_120_seconds_by_default() -> None:
    banned = error_from_response(418, b"", {})
    assert isinstance(banned, RateLimited)
    assert banned.banned
    assert banned.retry_after == 120.0
    long_ban = error_from_response(418, b"", {"Retry-After": "3600"})
    assert isinstance(long_ban, RateLimited)
    assert long_ban.retry_after == 3600.0


def test_retry_after_accepts_seconds_fractions_and_http_dates() -> None:
    assert parse_retry_after({"Retry-After": "0.25"}, 9) == 0.25
    assert parse_retry_after({"Retry-After": "soon"}, 9) == 9
    assert parse_retry_after({"Retry-After": "-5"}, 9) == 0.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= parse_retry_after({"Retry-After": later}, 9) <= 31


def test_error_text_never_contains_the_raw_body() -> None:
    body = b'{"error": "unknown_error", "secret_field": "leaky-value-123"}'
    error = error_from_response(500, body, {})
    assert "leaky-value-123" not in str(error)
    assert "leaky-value-123" not in repr(error)


def test_every_error_class_has_one_sentence_in_the_front_end() -> None:
    """Sentences have one home (bot/telegram/texts.py); the client only says what happened."""
    for error in (
        ThreeCommasError(),
        InvalidApiKey(),
        PermissionDenied(),
        AccountNotFound(),
        ExchangeKeysInvalid(),
        Unavailable(),
        RateLimited(retry_after=3),
    ):
        assert error_sentence(ENGLISH, error).endswith("."), type(error)
        assert not hasattr(error, "user_message")
