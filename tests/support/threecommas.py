"""Test helpers for the 3Commas client: the stand-in plus a client tuned for fast tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.threecommas.client import ThreeCommasClient
from bot.threecommas.credentials import Credentials
from standins.threecommas_standin import ThreeCommasStandIn, demo_account

REFERENCE = Path("/work/shared/reference")
RSA_TEST_KEY_PATH = REFERENCE / "3commas-docs-rsa-test-key.pem"
SEED_PATH = REFERENCE / "seed-load_balances.md"

# A public test secret from the official docs; never a real credential.
DOCS_HMAC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

HMAC_CREDENTIALS = Credentials(api_key="hmac-key-0123456789abcdef", secret=DOCS_HMAC_SECRET)
OTHER_CREDENTIALS = Credentials(api_key="other-key-fedcba9876543210", secret="other-secret-42")


def rsa_test_key_pem() -> str:
    return RSA_TEST_KEY_PATH.read_text()


def seed_account_json() -> str:
    """The example JSON of the seed's 201 answer, verbatim."""
    text = SEED_PATH.read_text()
    start = text.index("```json") + len("```json")
    return text[start : text.index("```", start)]


def seed_account() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(seed_account_json())
    return data


def fast_client(base_url: str, **overrides: Any) -> ThreeCommasClient:
    """A client with tiny backoff and timeouts so fault tests finish in well under a second."""
    options: dict[str, Any] = {
        "connect_timeout": 1.0,
        "total_timeout": 2.0,
        "max_attempts": 3,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
        "max_retry_after_wait": 1.0,
    }
    options.update(overrides)
    return ThreeCommasClient(base_url, **options)


@asynccontextmanager
async def running_standin(**options: Any) -> AsyncIterator[ThreeCommasStandIn]:
    """A stand-in on 127.0.0.1 with HMAC_CREDENTIALS (accounts 1-3) and OTHER_CREDENTIALS (9)."""
    standin = ThreeCommasStandIn(**options)
    await standin.start()
    standin.add_key(
        HMAC_CREDENTIALS.api_key,
        HMAC_CREDENTIALS.secret,
        [demo_account(i, f"Account {i}") for i in (1, 2, 3)],
    )
    standin.add_key(OTHER_CREDENTIALS.api_key, OTHER_CREDENTIALS.secret, [demo_account(9, "Other")])
    try:
        yield standin
    finally:
        await standin.stop()
