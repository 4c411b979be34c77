"""The 3Commas stand-in checks signatures like the real service and records what it saw."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import yarl

from bot.threecommas.errors import InvalidApiKey, RateLimited, Unavailable
from bot.threecommas.signing import sign
from standins.threecommas_standin import Fault, ThreeCommasStandIn, demo_account
from tests.support.threecommas import (
    HMAC_CREDENTIALS,
    OTHER_CREDENTIALS,
    fast_client,
    rsa_test_key_pem,
    running_standin,
    seed_account,
)


@pytest.fixture
async def standin() -> AsyncIterator[ThreeCommasStandIn]:
    async with running_standin() as server:
        yield server


async def _raw_get(standin: ThreeCommasStandIn, path_qs: str, signature: str) -> int:
    url = yarl.URL(standin.base_url + path_qs, encoded=True)
    headers = {"apikey": HMAC_CREDENTIALS.api_key, "signature": signature}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        await resp.read()
        return resp.status


def test_demo_account_copies_the_seed_including_its_api_key() -> None:
    account = demo_account(5, "Five", usd_amount="1.5")
    seed = seed_account()
    assert set(account) == set(seed)
    assert account["api_key"] == seed["api_key"]
    assert (account["id"], account["name"], account["usd_amount"]) == (5, "Five", "1.5")


async def test_signature_is_checked_over_the_query_exactly_as_sent(
    standin: ThreeCommasStandIn,
) -> None:
    encoded = "/public/api/ver1/accounts?page=1&per_page=100&x=a%2Fb"
    assert await _raw_get(standin, encoded, sign(encoded, HMAC_CREDENTIALS.secret)) == 200
    # Signed over the decoded form: not what was sent, so refused.
    decoded = "/public/api/ver1/accounts?page=1&per_page=100&x=a/b"
    assert await _raw_get(standin, encoded, sign(decoded, HMAC_CREDENTIALS.secret)) == 401


async def test_hmac_signature_is_compared_case_insensitively(
    standin: ThreeCommasStandIn,
) -> None:
    path = "/public/api/ver1/accounts/1"
    assert await _raw_get(standin, path, sign(path, HMAC_CREDENTIALS.secret).upper()) == 200


async def test_rsa_key_is_verified_with_its_public_half(standin: ThreeCommasStandIn) -> None:
    standin.add_key(HMAC_CREDENTIALS.api_key, rsa_test_key_pem(), [demo_account(1, "x")])
    path = "/public/api/ver1/accounts/1"
    assert await _raw_get(standin, path, sign(path, rsa_test_key_pem())) == 200
    assert await _raw_get(standin, path, sign(path, HMAC_CREDENTIALS.secret)) == 401


async def test_removed_key_is_refused(standin: ThreeCommasStandIn) -> None:
    standin.remove_key(HMAC_CREDENTIALS.api_key)
    async with fast_client(standin.base_url) as client:
        with pytest.raises(InvalidApiKey):
            await client.list_accounts(HMAC_CREDENTIALS)
    assert [r.status for r in standin.requests] == [401]
    standin.clear_requests()
    assert standin.requests == []


async def test_injected_fault_can_target_one_account(standin: ThreeCommasStandIn) -> None:
    standin.inject(Fault.SERVER_ERROR, times=3, account_id=2)
    async with fast_client(standin.base_url, max_attempts=1) as client:
        assert (await client.load_balances(HMAC_CREDENTIALS, 1)).id == 1
        with pytest.raises(Unavailable):
            await client.load_balances(HMAC_CREDENTIALS, 2)


async def test_random_faults_are_survived_by_retries(standin: ThreeCommasStandIn) -> None:
    standin.set_random_faults(0.3, seed=7)
    async with fast_client(standin.base_url, max_attempts=6) as client:
        for _ in range(20):
            assert (await client.get_account(HMAC_CREDENTIALS, 1)).id == 1
    failures = [r for r in standin.requests if r.status != 200]
    assert failures  # faults did happen
    standin.set_random_faults(0)
    standin.clear_requests()
    async with fast_client(standin.base_url, max_attempts=1) as client:
        for _ in range(5):
            await client.get_account(HMAC_CREDENTIALS, 1)
    assert all(r.status == 200 for r in standin.requests)


# three calls from one IP, two keys: a limit per IP, not per key
CALLS = ((HMAC_CREDENTIALS, 1), (OTHER_CREDENTIALS, 9), (HMAC_CREDENTIALS, 2))


async def test_stand_in_limits_one_ip_to_n_requests_a_second_with_429() -> None:
    async with (
        running_standin(ip_limit_per_second=2) as server,
        fast_client(server.base_url, max_requests_per_second=0, max_attempts=1) as client,
    ):
        answers = await asyncio.gather(
            *(client.get_account(credentials, number) for credentials, number in CALLS),
            return_exceptions=True,
        )
        refused = [a for a in answers if isinstance(a, RateLimited)]
        assert len(refused) == 1 and refused[0].retry_after == 1
        assert server.ip_429s == 1 and server.ip_peak_per_second == 2
