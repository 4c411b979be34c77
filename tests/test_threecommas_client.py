"""The 3Commas client over real HTTP against the stand-in: retries, limits, faults, secrets."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.telegram.views.texts import error_sentence
from bot.telegram.views.translator import ENGLISH
from bot.threecommas.client import MAX_BODY_BYTES, ThreeCommasClient
from bot.threecommas.credentials import Credentials
from bot.threecommas.errors import (
    AccountNotFound,
    ExchangeKeysInvalid,
    InvalidApiKey,
    PermissionDenied,
    RateLimited,
    ThreeCommasError,
    Unavailable,
    UnexpectedResponse,
)
from bot.threecommas.models import MAX_JSON_DEPTH, MAX_TEXT_LENGTH
from bot.threecommas.signing import sign
from standins.threecommas_standin import Fault, ThreeCommasStandIn, demo_account
from tests.support.threecommas import (
    HMAC_CREDENTIALS,
    OTHER_CREDENTIALS,
    fast_client,
    rsa_test_key_pem,
    running_standin,
)

SEED_EXCHANGE_API_KEY = "yzNYzv8a0VEBwsrhc3MDpHZ7XMqa1vJqSqHzpfjjKpdFF9SbQsVQKRl3hKNyZU45"


@pytest.fixture
async def standin() -> AsyncIterator[ThreeCommasStandIn]:
    async with running_standin() as server:
        yield server


@pytest.fixture
async def client(standin: ThreeCommasStandIn) -> AsyncIterator[ThreeCommasClient]:
    async with fast_client(standin.base_url) as started:
        yield started


# -- happy paths ---------------------------------------------------------------------------


async def test_list_accounts_pages_through_250_accounts(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.set_accounts(
        HMAC_CREDENTIALS.api_key, [demo_account(i, f"A{i}") for i in range(1, 251)]
    )
    accounts = await client.list_accounts(HMAC_CREDENTIALS)
    assert [a.id for a in accounts] == list(range(1, 251))
    assert [r.path_qs for r in standin.requests] == [
        f"/public/api/ver1/accounts?page={page}&per_page=100" for page in (1, 2, 3)
    ]


async def test_list_accounts_stops_after_a_short_first_page(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    accounts = await client.list_accounts(HMAC_CREDENTIALS)
    assert [a.name for a in accounts] == ["Account 1", "Account 2", "Account 3"]
    assert standin.upstream_calls("/accounts?") == 1


async def test_load_balances_returns_the_refreshed_account_without_its_api_key(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    account = await client.load_balances(HMAC_CREDENTIALS, 2)
    assert account.id == 2
    assert account.updated_at is not None and account.updated_at >= before
    assert account.usd_amount == Decimal("31.210986753244348885262841890509448379906959328")
    total = account.total_primary_display_currency_profit
    assert total is not None and total.amount == Decimal("7.210986753244349")
    assert SEED_EXCHANGE_API_KEY not in repr(account)
    assert "api_key" not in account.model_dump()
    (recorded,) = standin.requests
    assert (recorded.method, recorded.path_qs, recorded.status) == (
        "POST",
        "/public/api/ver1/accounts/2/load_balances",
        201,
    )


async def test_an_answer_serves_the_same_call_for_reuse_seconds_then_3commas_is_asked_again(
    standin: ThreeCommasStandIn,
) -> None:
    reuse = 0.3
    async with fast_client(standin.base_url, reuse_seconds=reuse) as client:
        answered_at = time.monotonic()
        first = await client.load_balances(HMAC_CREDENTIALS, 2)
        assert await client.load_balances(HMAC_CREDENTIALS, 2) is first  # kept: no new call
        await client.load_balances(HMAC_CREDENTIALS, 3)  # another account: asked
        await client.account_table_data(HMAC_CREDENTIALS, 2)  # another call: asked
        assert standin.upstream_calls("load_balances") == 2
        # the reuse is over once its time has passed (a wait on the clock, the event itself)
        await asyncio.sleep(reuse - (time.monotonic() - answered_at) + 0.05)
        again = await client.load_balances(HMAC_CREDENTIALS, 2)
        assert again is not first and standin.upstream_calls("load_balances") == 3


async def test_a_failed_answer_is_not_kept_for_reuse(standin: ThreeCommasStandIn) -> None:
    async with fast_client(standin.base_url, reuse_seconds=60) as client:
        standin.inject(Fault.NOT_FOUND, account_id=2)
        with pytest.raises(AccountNotFound):
            await client.load_balances(HMAC_CREDENTIALS, 2)
        assert (await client.load_balances(HMAC_CREDENTIALS, 2)).id == 2
        assert standin.upstream_calls("load_balances") == 2


async def test_load_balances_accepts_a_one_element_array(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.load_balances_as_array = True
    account = await client.load_balances(HMAC_CREDENTIALS, 3)
    assert account.id == 3


async def test_get_account_account_table_and_balance_chart(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    assert (await client.get_account(HMAC_CREDENTIALS, 1)).name == "Account 1"
    coins = (await client.account_table_data(HMAC_CREDENTIALS, 1)).rows
    served = standin.coins(HMAC_CREDENTIALS.api_key, 1)
    assert [c.currency_code for c in coins] == [row["currency_code"] for row in served]
    assert all(isinstance(c.usd_value, Decimal) for c in coins)
    # The +00:00 offset must be percent-encoded once and signed exactly as sent.
    standin.today = date(2024, 1, 3)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    points = await client.balance_chart_data(HMAC_CREDENTIALS, 1, start, start + timedelta(days=2))
    assert [p.date for p in points] == [int(start.timestamp()) + d * 86400 for d in (0, 1, 2)]
    assert "date_from=2024-01-01T00%3A00%3A00%2B00%3A00" in standin.requests[-1].path_qs


@pytest.mark.parametrize("key_format", ["pkcs1", "pkcs8"])
async def test_rsa_credentials_work_end_to_end(
    standin: ThreeCommasStandIn, client: ThreeCommasClient, key_format: str
) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = rsa_test_key_pem()
    if key_format == "pkcs8":
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    standin.add_key("rsa-key-1", rsa_test_key_pem(), [demo_account(77, "RSA account")])
    credentials = Credentials("rsa-key-1", pem)
    assert (await client.load_balances(credentials, 77)).name == "RSA account"
    assert len(await client.list_accounts(credentials)) == 1


# -- 4xx: mapped, never retried --------------------------------------------------------------


async def test_unknown_api_key_is_invalid_api_key(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    with pytest.raises(InvalidApiKey) as caught:
        await client.get_account(Credentials("nobody-knows-me", "whatever"), 1)
    assert caught.value.code == "api_key_invalid_or_expired"
    assert standin.upstream_calls("/accounts/1") == 1


async def test_wrong_secret_is_invalid_api_key_with_signature_invalid(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    with pytest.raises(InvalidApiKey) as caught:
        await client.get_account(Credentials(HMAC_CREDENTIALS.api_key, "wrong-secret"), 1)
    assert caught.value.code == "signature_invalid"


async def test_account_of_another_key_is_not_found(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    with pytest.raises(AccountNotFound) as caught:
        await client.load_balances(HMAC_CREDENTIALS, 9)
    assert caught.value.code == "record_not_found"


@pytest.mark.parametrize(
    ("fault", "expected", "code"),
    [
        (Fault.INVALID_API_KEY, InvalidApiKey, "api_key_invalid_or_expired"),
        (Fault.SIGNATURE_INVALID, InvalidApiKey, "signature_invalid"),
        (Fault.ACCESS_DENIED, PermissionDenied, "access_denied"),
        (Fault.NOT_FOUND, AccountNotFound, "not_found"),
        (Fault.EXCHANGE_KEYS_INVALID, ExchangeKeysInvalid, "invalid_api_key"),
    ],
)
async def test_client_errors_are_mapped_and_not_retried(
    standin: ThreeCommasStandIn,
    client: ThreeCommasClient,
    fault: Fault,
    expected: type[ThreeCommasError],
    code: str,
) -> None:
    standin.inject(fault, times=5)
    with pytest.raises(expected) as caught:
        await client.load_balances(HMAC_CREDENTIALS, 1)
    assert caught.value.code == code
    assert standin.upstream_calls("load_balances") == 1


# -- transient failures: retried with backoff, then Unavailable ------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault.SERVER_ERROR,
        Fault.BAD_GATEWAY,
        Fault.TIMEOUT,
        Fault.RESET,
        Fault.TRUNCATED,
        Fault.HTML,
    ],
)
async def test_transient_fault_is_retried_then_reported_unavailable(
    standin: ThreeCommasStandIn, fault: Fault
) -> None:
    standin.timeout_delay = 5.0
    standin.inject(fault, times=10)
    # 1 s, not 0.3 s: on a loaded machine a request could time out before it even arrived
    async with fast_client(standin.base_url, total_timeout=1.0) as client:
        with pytest.raises(Unavailable) as caught:
            await client.load_balances(HMAC_CREDENTIALS, 1)
    assert standin.upstream_calls("load_balances") == 3
    assert isinstance(caught.value, Unavailable)


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.RESET, Fault.TRUNCATED, Fault.HTML])
async def test_transient_fault_once_is_retried_and_succeeds(
    standin: ThreeCommasStandIn, client: ThreeCommasClient, fault: Fault
) -> None:
    standin.inject(fault, times=1)
    account = await client.load_balances(HMAC_CREDENTIALS, 1)
    assert account.id == 1
    assert standin.upstream_calls("load_balances") == 2


async def test_a_huge_body_is_read_only_up_to_the_cap_and_is_unreadable(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    assert standin.huge_body_bytes > 3 * MAX_BODY_BYTES
    standin.inject(Fault.HUGE_BODY, times=3)
    with pytest.raises(UnexpectedResponse) as caught:
        await client.load_balances(HMAC_CREDENTIALS, 1)
    assert "body over 5 MB" in str(caught.value)
    assert standin.upstream_calls("load_balances") == 3  # retried like any unreadable answer
    assert (await client.load_balances(HMAC_CREDENTIALS, 1)).name == "Account 1"


async def test_a_huge_body_once_is_retried_and_succeeds(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.inject(Fault.HUGE_BODY, times=1)
    accounts = await client.list_accounts(HMAC_CREDENTIALS)
    assert [a.name for a in accounts] == ["Account 1", "Account 2", "Account 3"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
async def test_deeply_nested_json_is_unreadable_not_a_crash(
    standin: ThreeCommasStandIn, client: ThreeCommasClient, depth: int
) -> None:
    standin.nesting_depth = depth
    standin.inject(Fault.DEEP_NESTING, times=3)
    with pytest.raises(UnexpectedResponse) as caught:
        await client.load_balances(HMAC_CREDENTIALS, 1)
    assert "nested too deeply" in str(caught.value)


async def test_names_and_exchange_names_are_stored_at_most_200_characters(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    long_name, long_exchange = "N" * 1_000_000, "E" * 10_000
    standin.set_accounts(
        HMAC_CREDENTIALS.api_key, [demo_account(1, long_name, exchange_name=long_exchange)]
    )
    (listed,) = await client.list_accounts(HMAC_CREDENTIALS)
    refreshed = await client.load_balances(HMAC_CREDENTIALS, 1)
    for account in (listed, refreshed):
        assert account.name == "N" * MAX_TEXT_LENGTH
        assert account.exchange_name == "E" * MAX_TEXT_LENGTH


async def test_max_attempts_bounds_the_number_of_upstream_calls(
    standin: ThreeCommasStandIn,
) -> None:
    standin.inject(Fault.SERVER_ERROR, times=10)
    async with fast_client(standin.base_url, max_attempts=5) as client:
        with pytest.raises(Unavailable):
            await client.get_account(HMAC_CREDENTIALS, 1)
    assert standin.upstream_calls("/accounts/1") == 5


async def test_unreachable_server_is_unavailable() -> None:
    # A port bound but never listening refuses connections, and holding it keeps another test's
    # server off it (a stopped stand-in's freed port was once taken by a parallel worker's).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        async with fast_client(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(Unavailable):
                await client.get_account(HMAC_CREDENTIALS, 1)


# -- rate limits ----------------------------------------------------------------------------


async def test_short_retry_after_is_waited_then_the_call_succeeds(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.inject(Fault.RATE_LIMITED, retry_after=0.3)
    started = time.monotonic()
    account = await client.get_account(HMAC_CREDENTIALS, 1)
    assert account.id == 1
    assert time.monotonic() - started >= 0.29
    assert standin.upstream_calls("/accounts/1") == 2


async def test_long_retry_after_fails_fast_and_blocks_only_that_key(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.inject(Fault.RATE_LIMITED, retry_after=60)
    with pytest.raises(RateLimited) as caught:
        await client.get_account(HMAC_CREDENTIALS, 1)
    assert caught.value.retry_after == pytest.approx(60, abs=1)
    assert not caught.value.banned
    assert standin.upstream_calls("/accounts") == 1

    with pytest.raises(RateLimited) as again:
        await client.load_balances(HMAC_CREDENTIALS, 2)
    assert 55 < again.value.retry_after <= 60
    assert standin.upstream_calls("/accounts") == 1  # nothing sent while blocked

    assert (await client.get_account(OTHER_CREDENTIALS, 9)).id == 9


async def test_rate_limit_without_retry_after_blocks_the_key_for_300_seconds(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.inject(Fault.RATE_LIMITED)
    with pytest.raises(RateLimited) as caught:
        await client.get_account(HMAC_CREDENTIALS, 1)
    assert caught.value.retry_after == 300
    with pytest.raises(RateLimited):
        await client.list_accounts(HMAC_CREDENTIALS)
    assert len(standin.requests) == 1


@pytest.mark.parametrize(("header", "expected"), [(None, 120.0), (3600.0, 3600.0)])
async def test_ban_fails_fast_with_banned_flag_and_blocks_the_key(
    standin: ThreeCommasStandIn,
    client: ThreeCommasClient,
    header: float | None,
    expected: float,
) -> None:
    standin.inject(Fault.BANNED, retry_after=header)
    with pytest.raises(RateLimited) as caught:
        await client.get_account(HMAC_CREDENTIALS, 1)
    assert caught.value.banned
    assert caught.value.retry_after == expected
    with pytest.raises(RateLimited) as again:
        await client.get_account(HMAC_CREDENTIALS, 1)
    assert again.value.banned
    assert len(standin.requests) == 1


async def test_short_ban_is_not_retried(standin: ThreeCommasStandIn) -> None:
    standin.inject(Fault.BANNED, retry_after=0.1)
    async with fast_client(standin.base_url) as client:
        with pytest.raises(RateLimited):
            await client.get_account(HMAC_CREDENTIALS, 1)
    assert len(standin.requests) == 1


async def test_client_limiter_keeps_a_key_under_n_requests_per_minute(
    standin: ThreeCommasStandIn,
) -> None:
    async with fast_client(standin.base_url, requests_per_minute=5) as client:
        for _ in range(5):
            await client.get_account(HMAC_CREDENTIALS, 1)
        with pytest.raises(RateLimited) as caught:
            await client.get_account(HMAC_CREDENTIALS, 1)
        assert 55 < caught.value.retry_after <= 60
        assert standin.upstream_calls("/accounts/1") == 5
        # Another key has its own budget.
        for _ in range(5):
            await client.get_account(OTHER_CREDENTIALS, 9)
    assert standin.upstream_calls("/accounts/9") == 5


async def test_client_limiter_makes_callers_wait_for_a_free_slot(
    standin: ThreeCommasStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fake clock 59.8 s after the first request: the next slot frees in 0.2 s.
    import bot.threecommas.client as client_module

    offset = 0.0
    real_monotonic = time.monotonic
    monkeypatch.setattr(client_module.time, "monotonic", lambda: real_monotonic() + offset)
    async with fast_client(standin.base_url, requests_per_minute=2) as client:
        await client.get_account(HMAC_CREDENTIALS, 1)
        await client.get_account(HMAC_CREDENTIALS, 1)
        offset = 59.8
        started = real_monotonic()
        await client.get_account(HMAC_CREDENTIALS, 1)
        assert 0.1 < real_monotonic() - started < 1.0
    assert standin.upstream_calls("/accounts/1") == 3


async def test_stand_in_rate_limit_answers_429_with_retry_after() -> None:
    async with (
        running_standin(rate_limit_per_minute=2) as server,
        fast_client(server.base_url) as client,
    ):
        await client.get_account(HMAC_CREDENTIALS, 1)
        await client.get_account(HMAC_CREDENTIALS, 1)
        with pytest.raises(RateLimited) as caught:
            await client.get_account(HMAC_CREDENTIALS, 1)
        assert caught.value.retry_after == 300
        assert server.requests[-1].status == 429


# -- single flight ---------------------------------------------------------------------------


async def test_concurrent_refreshes_of_one_account_share_one_upstream_call(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.latency = 0.2
    results = await asyncio.gather(*(client.load_balances(HMAC_CREDENTIALS, 1) for _ in range(10)))
    assert {a.id for a in results} == {1}
    assert standin.upstream_calls("load_balances") == 1
    # Once it finished, a new refresh goes upstream again.
    await client.load_balances(HMAC_CREDENTIALS, 1)
    assert standin.upstream_calls("load_balances") == 2


async def test_concurrent_refreshes_of_different_accounts_are_separate_calls(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.latency = 0.1
    results = await asyncio.gather(
        *(client.load_balances(HMAC_CREDENTIALS, i) for i in (1, 2, 3, 1, 2, 3))
    )
    assert [a.id for a in results] == [1, 2, 3, 1, 2, 3]
    assert standin.upstream_calls("load_balances") == 3


async def test_concurrent_refreshes_share_the_same_error(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.inject(Fault.EXCHANGE_KEYS_INVALID, times=10)
    results = await asyncio.gather(
        *(client.load_balances(HMAC_CREDENTIALS, 1) for _ in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(r, ExchangeKeysInvalid) for r in results)
    assert standin.upstream_calls("load_balances") == 1


async def test_cancelled_follower_does_not_cancel_the_shared_call(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.latency = 0.3
    first = asyncio.create_task(client.load_balances(HMAC_CREDENTIALS, 1))
    second = asyncio.create_task(client.load_balances(HMAC_CREDENTIALS, 1))
    await standin.wait_for_calls("load_balances")  # both share the call once it arrived
    first.cancel()
    account = await second
    assert account.id == 1
    assert first.cancelled()
    assert standin.upstream_calls("load_balances") == 1


# -- secrets stay secret ---------------------------------------------------------------------


async def test_errors_reprs_and_logs_contain_no_key_secret_or_signature(
    standin: ThreeCommasStandIn, client: ThreeCommasClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = HMAC_CREDENTIALS
    signature = sign("/public/api/ver1/accounts/1/load_balances", credentials.secret)
    errors: list[BaseException] = []
    for fault in (
        Fault.SIGNATURE_INVALID,
        Fault.ACCESS_DENIED,
        Fault.EXCHANGE_KEYS_INVALID,
        Fault.SERVER_ERROR,
        Fault.RESET,
        Fault.RATE_LIMITED,
    ):
        standin.inject(fault, times=3)
        try:
            await client.load_balances(credentials, 1)
        except ThreeCommasError as exc:
            errors.append(exc)
    assert len(errors) == 6
    texts = [caplog.text, repr(credentials), repr(client)]
    for exc in errors:
        assert isinstance(exc, ThreeCommasError)
        texts += [str(exc), repr(exc), error_sentence(ENGLISH, exc), str(exc.__cause__)]
    for text in texts:
        for secret in (credentials.api_key, credentials.secret, signature, SEED_EXCHANGE_API_KEY):
            assert secret not in text


async def test_rsa_key_never_appears_in_errors(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    pem = rsa_test_key_pem()
    body_line = pem.splitlines()[1]
    with pytest.raises(InvalidApiKey) as caught:
        await client.get_account(Credentials("unregistered-rsa", pem), 1)
    for text in (str(caught.value), repr(caught.value), repr(Credentials("unregistered", pem))):
        assert body_line not in text
        assert "unregistered-rsa" not in text


async def test_calling_before_start_is_a_programming_error() -> None:
    client = ThreeCommasClient("http://127.0.0.1:9")
    with pytest.raises(RuntimeError):
        await client.get_account(HMAC_CREDENTIALS, 1)


async def test_idle_per_key_limiter_state_is_dropped(
    standin: ThreeCommasStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.threecommas.client as client_module

    offset = 0.0
    real_monotonic = time.monotonic
    monkeypatch.setattr(client_module.time, "monotonic", lambda: real_monotonic() + offset)
    async with fast_client(standin.base_url) as client:
        await client.get_account(HMAC_CREDENTIALS, 1)
        assert HMAC_CREDENTIALS.api_key in client._limiters
        offset = 120.0
        await client.get_account(OTHER_CREDENTIALS, 9)
        assert list(client._limiters) == [OTHER_CREDENTIALS.api_key]
