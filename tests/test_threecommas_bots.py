"""The bots and deals calls of the 3Commas client over real HTTP against the stand-in: every
page read, documented limits, a key without BOTS_READ, each way a deal closes, the timer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.telegram.views.texts import error_sentence
from bot.threecommas.client import MAX_LIST_PAGES, ThreeCommasClient
from bot.threecommas.errors import BotsPermissionMissing, PermissionDenied, ThreeCommasError
from bot.threecommas.models import MAX_TEXT_LENGTH
from standins.bots_and_deals import DealClose, active_deal, dca_bot, grid_bot
from standins.threecommas_standin import ThreeCommasStandIn
from tests.support.threecommas import HMAC_CREDENTIALS, fast_client, running_standin

KEY = HMAC_CREDENTIALS.api_key
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
async def standin() -> AsyncIterator[ThreeCommasStandIn]:
    async with running_standin() as server:
        server.now = lambda: NOW
        yield server


@pytest.fixture
async def client(standin: ThreeCommasStandIn) -> AsyncIterator[ThreeCommasClient]:
    async with fast_client(standin.base_url) as started:
        yield started


def _queries(standin: ThreeCommasStandIn, path: str) -> list[dict[str, str]]:
    """The query of every call to `path` (exactly), in order."""
    found = []
    for request in standin.requests:
        parts = urlsplit(request.path_qs)
        if parts.path == "/public/api/ver1" + path:
            found.append({k: v[0] for k, v in parse_qs(parts.query).items()})
    return found


def _bots(count: int, account_id: int = 1) -> list[dict[str, object]]:
    return [
        dca_bot(1000 + i, account_id, "Account 1", f"Bot {i}", ["USDT_BTC"], finished_count=i)
        for i in range(count)
    ]


def _deals(count: int, account_id: int = 1) -> list[dict[str, object]]:
    bot = dca_bot(77, account_id, "Account 1", "Deal maker", ["USDT_SOL"])
    return [
        active_deal(5000 + i, bot, "USDT_SOL", NOW - timedelta(minutes=i), Decimal(100), i % 7 - 3)
        for i in range(count)
    ]


async def test_demo_account_has_enabled_dca_bots_a_grid_bot_and_active_deals(
    client: ThreeCommasClient,
) -> None:
    bots = await client.bots(HMAC_CREDENTIALS, 1)
    grids = await client.grid_bots(HMAC_CREDENTIALS, 1)
    deals = await client.active_deals(HMAC_CREDENTIALS, 1)
    stats = await client.bot_stats(HMAC_CREDENTIALS, 1)
    assert len(bots) == 3 and all(bot.is_enabled for bot in bots)
    assert all(isinstance(bot.finished_deals_profit_usd, Decimal) for bot in bots)
    assert len(grids) == 1 and grids[0].pair == "USDT_BTC"
    assert deals and not any(deal.closed for deal in deals)
    unrealized = sum((deal.actual_usd_profit or Decimal(0) for deal in deals), Decimal(0))
    assert stats.profits_in_usd.active_deals_usd_profit == unrealized
    overall = stats.profits_in_usd.overall_usd_profit
    assert isinstance(overall, Decimal)


async def test_bots_are_read_whole_at_the_documented_maximum_page_size(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.set_bots(KEY, 1, _bots(250))
    bots = await client.bots(HMAC_CREDENTIALS, 1)
    assert [bot.id for bot in bots] == [1000 + i for i in range(250)]
    asked = _queries(standin, "/bots")
    assert [(q["limit"], q["offset"]) for q in asked] == [
        ("100", "0"),
        ("100", "100"),
        ("100", "200"),
    ]
    assert all(q["scope"] == "enabled" and q["account_id"] == "1" for q in asked)
    assert not bots.cut


async def test_grid_bots_and_deals_ask_for_1000_a_page(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.set_bots(KEY, 1, [], [grid_bot(9, 1, "A", "G", "USDT_ETH")], _deals(1500))
    assert len(await client.grid_bots(HMAC_CREDENTIALS, 1)) == 1
    deals = await client.active_deals(HMAC_CREDENTIALS, 1)
    assert len(deals) == 1500 and len({deal.id for deal in deals}) == 1500
    assert [q["limit"] for q in _queries(standin, "/grid_bots")] == ["1000"]
    asked = _queries(standin, "/deals")
    assert [(q["limit"], q["offset"], q["scope"]) for q in asked] == [
        ("1000", "0", "active"),
        ("1000", "1000", "active"),
    ]


async def test_a_list_longer_than_the_pages_read_comes_back_cut_not_failed(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.set_bots(KEY, 1, _bots(MAX_LIST_PAGES * 100 + 5))
    bots = await client.bots(HMAC_CREDENTIALS, 1)
    assert len(bots) == MAX_LIST_PAGES * 100
    assert bots.cut
    assert len(_queries(standin, "/bots")) == MAX_LIST_PAGES


async def test_stand_in_refuses_a_limit_past_the_documented_maximum(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    for path, limit in (("bots", 101), ("grid_bots", 1001), ("deals", 1001)):
        async with client._session.get(  # type: ignore[union-attr]
            f"{standin.base_url}/public/api/ver1/{path}?limit={limit}"
        ) as response:
            assert response.status == 401  # unsigned: refused before anything else
    with pytest.raises(ThreeCommasError) as raised:
        await client._request(HMAC_CREDENTIALS, "GET", "/ver1/bots", {"limit": 101})
    assert raised.value.status == 400
    with pytest.raises(ThreeCommasError):
        await client._request(HMAC_CREDENTIALS, "GET", "/ver1/deals", {"limit": 1001})
    with pytest.raises(ValueError):
        await client.deals_page(HMAC_CREDENTIALS, limit=1001)


async def test_a_key_without_bots_read_gets_its_own_error_and_sentence(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.set_bots_read(KEY, False)
    for call in (
        client.bots(HMAC_CREDENTIALS, 1),
        client.grid_bots(HMAC_CREDENTIALS, 1),
        client.bot_stats(HMAC_CREDENTIALS, 1),
        client.active_deals(HMAC_CREDENTIALS, 1),
        client.deals_page(HMAC_CREDENTIALS, scope="finished"),
    ):
        with pytest.raises(BotsPermissionMissing) as raised:
            await call
        assert isinstance(raised.value, PermissionDenied)  # every 403 handler still applies
        assert raised.value.status == 403
    sentence = error_sentence(raised.value)
    assert "“Bots read”" in sentence and "API keys" in sentence
    # Accounts are not affected.
    assert len(await client.list_accounts(HMAC_CREDENTIALS)) == 3


async def test_stats_are_one_shared_call_for_callers_at_once(
    standin: ThreeCommasStandIn,
) -> None:
    async with fast_client(standin.base_url, reuse_seconds=60) as client:
        first = await client.bot_stats(HMAC_CREDENTIALS, 1)
        second = await client.bot_stats(HMAC_CREDENTIALS, 1)
    assert first == second
    assert standin.upstream_calls("/bots/stats") == 1


async def test_hostile_and_huge_strings_are_bounded(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    bot = dca_bot(1, 1, "A", "<b>Moon & Co</b>" + "x" * 10_000, ["USDT_BTC"] * 5000)
    bot["finished_deals_profit_usd"] = "1e400"
    bot["finished_deals_count"] = "12.5"
    standin.set_bots(KEY, 1, [bot])
    [read] = await client.bots(HMAC_CREDENTIALS, 1)
    assert read.name is not None and read.name.startswith("<b>Moon & Co</b>")
    assert len(read.name) == MAX_TEXT_LENGTH
    assert len(read.pairs) == 500
    assert read.finished_deals_profit_usd is None  # beyond any real amount: unknown
    assert read.finished_deals_count is None


async def test_each_way_a_deal_closes_has_its_documented_status(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.set_bots(KEY, 1, [], deals=_deals(len(DealClose)))
    for number, kind in enumerate(DealClose):
        standin.now = lambda number=number: NOW + timedelta(minutes=number)  # type: ignore[misc]
        standin.close_deal(KEY, 5000 + number, kind)
    closed = await client.deals_page(
        HMAC_CREDENTIALS, account_id=1, scope="finished", order="closed_at", order_direction="DESC"
    )
    assert [deal.status for deal in closed] == [kind.value for kind in reversed(DealClose)]
    assert all(deal.closed and deal.closed_at is not None for deal in closed)
    by_status = {deal.status: deal for deal in closed}
    assert by_status["completed"].usd_final_profit == Decimal("1.50")
    assert by_status["stop_loss_finished"].usd_final_profit == Decimal("-3.00")
    assert by_status["liquidated"].usd_final_profit == Decimal("-45.00")
    assert by_status["cancelled"].usd_final_profit == Decimal("0.00")
    completed = await client.deals_page(HMAC_CREDENTIALS, account_id=1, scope="completed")
    assert [deal.status for deal in completed] == ["completed"]
    assert len(await client.active_deals(HMAC_CREDENTIALS, 1)) == 0


async def test_deals_page_orders_and_pages_with_offset(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    standin.set_bots(KEY, 1, [], deals=_deals(5))
    oldest_first = await client.deals_page(
        HMAC_CREDENTIALS, account_id=1, order="created_at", order_direction="ASC", limit=2, offset=1
    )
    assert [deal.id for deal in oldest_first] == [5003, 5002]
    by_profit = await client.deals_page(HMAC_CREDENTIALS, account_id=1, order="profit", limit=5)
    assert len(by_profit) == 5


async def test_closing_a_deal_moves_the_bots_counters_and_todays_profit(
    standin: ThreeCommasStandIn, client: ThreeCommasClient
) -> None:
    bot = dca_bot(77, 1, "Account 1", "Deal maker", ["USDT_SOL"], finished_count=10)
    standin.set_bots(KEY, 1, [bot], deals=_deals(2), today_usd=Decimal("5"))
    standin.close_deal(KEY, 5000, DealClose.STOP_LOSS, Decimal("-7.25"))
    [read] = await client.bots(HMAC_CREDENTIALS, 1)
    assert read.active_deals_count == 1
    assert read.finished_deals_count == 11
    assert read.finished_deals_profit_usd == Decimal("-7.25")
    stats = await client.bot_stats(HMAC_CREDENTIALS, 1)
    assert stats.profits_in_usd.today_usd_profit == Decimal("-2.25")


async def test_timer_mode_closes_deals_and_starts_new_ones(standin: ThreeCommasStandIn) -> None:
    active_before = len(standin.book(KEY, 1).deals[1])
    standin.close_deals_every(0.01)
    await standin.wait_for_closed_deals(6)  # two keys: one deal each per turn
    mine = [deal for deal in standin.closed_deals if deal["account_id"] in (1, 2, 3)]
    kinds = [deal["status"] for deal in mine[:3]]
    assert kinds == ["completed", "completed", "stop_loss_finished"]
    assert len(standin.book(KEY).deals[1]) >= active_before  # each closed deal was replaced
