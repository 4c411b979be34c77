"""The log filter's cost: linear in the line, independent of how many secrets it knows; and
which secrets it keeps when one user registers thousands."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from secrets import token_hex, token_urlsafe

import pytest
from aiohttp.http_exceptions import BadHttpMessage

from bot import logs
from bot.logs import RedactingFilter, register_secret

REPEATS = 3


def cpu_seconds(call: Callable[[], object], times: int = 1) -> float:
    """The least CPU time of one call over REPEATS rounds: a loaded machine slows some rounds,
    never all of them."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        for _ in range(times):
            call()
        best = min(best, (time.process_time() - start) / times)
    return best


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test fills its own registry; the process's stays as it was."""
    monkeypatch.setattr(logs, "secrets", type(logs.secrets)())
    yield


def test_64_kib_of_digits_is_redacted_in_under_10_ms() -> None:
    for user_id in range(1_000):  # what the filter knows in a busy bot: keys of every shape
        register_secret(token_hex(32), token_hex(64), f"short{user_id:05}")
    register_secret(f"123456789:{token_urlsafe(26)}")
    for text in (
        "1" * 65_536,
        "1" * 32_768 + ":" + "a" * 32_767,
        "-----BEGIN PRIVATE KEY-----" * 2_400,
        "12345 " * 10_922,
    ):
        assert cpu_seconds(lambda text=text: logs.secrets.redact(text)) < 0.010, text[:40]


def test_a_log_line_costs_at_most_a_tenth_of_a_millisecond_with_20000_secrets() -> None:
    for _ in range(20_000):
        register_secret(token_hex(32))
    lines = [
        logging.LogRecord(
            "bot.services.accounts",
            logging.INFO,
            __file__,
            1,
            "user %s refreshed account %s in %.2f s (POST /telegram from %s)",
            (1_000 + n, 12_345_678, 0.31, "127.0.0.1"),
            None,
        )
        for n in range(300)
    ]
    redacting = RedactingFilter()
    per_line = cpu_seconds(lambda: [redacting.filter(line) for line in lines]) / len(lines)
    assert per_line <= 0.0001, f"{per_line * 1000:.3f} ms a line"


def test_a_secret_is_redacted_wherever_it_stands_in_a_line() -> None:
    key, secret, short = token_hex(32), token_urlsafe(48), "p4ss-w0rd"
    logs.hold_secrets(("key", 1), key, secret, short)
    for shift in range(17):
        line = "x" * shift + f"APIKEY={key}&s={secret}{secret[:5]} word {short}."
        redacted = logs.secrets.redact(line)
        assert key not in redacted and secret not in redacted and short not in redacted
        assert redacted.startswith("x" * shift + "APIKEY=[redacted]&s=[redacted]")
    assert logs.secrets.redact("an ordinary line, 12345678") == "an ordinary line, 12345678"


def test_key_pair_spam_never_pushes_a_connected_users_key_out() -> None:
    connected = token_hex(64)
    logs.hold_secrets(("key", 1), connected)
    for _ in range(2_300):  # one user's /connect new, each pair (9 forms) replacing the last
        forms = [token_hex(40) for _ in range(9)]
        logs.note_secrets(*forms)
        logs.hold_secrets(("key pair", 2), *forms)
    assert logs.secrets.redact(f"signed with {connected}") == "signed with [redacted]"
    assert len(logs.secrets) <= 10_100  # the spam's pairs go, oldest first


def test_a_long_line_is_cut_and_a_malformed_request_logs_one_short_debug_line(
    debug_log: io.StringIO,
) -> None:
    logging.getLogger("bot.tests").warning("a long line: %s", "y" * 100_000)
    bad = BadHttpMessage("Bad header: " + "1" * 8_000)
    logging.getLogger("aiohttp.server").error(
        "Error handling request from %s", "127.0.0.1", exc_info=bad
    )
    written = debug_log.getvalue()
    assert "more characters cut" in written and len(written) < 10_000
    assert (
        "DEBUG aiohttp.server: a malformed HTTP request from 127.0.0.1: BadHttpMessage" in written
    )
    assert "1" * 100 not in written
