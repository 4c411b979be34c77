"""/holdings: coins largest first, dust folded, exact amounts, hostile names escaped, limits kept.

Service tests go through the real client against the 3Commas stand-in over HTTP.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yarl

from bot.services.chat_settings import UTC_ZONE
from bot.services.errors import NotConnected
from bot.services.holdings import Holdings
from bot.storage.records import Snapshot
from bot.telegram.views.html import MESSAGE_LIMIT
from bot.telegram.views.render_holdings import WIDTH, render_holdings
from bot.telegram.views.translator import ENGLISH
from bot.threecommas.errors import RateLimited
from bot.threecommas.signing import sign
from standins.botapi import parse_telegram_html
from standins.threecommas_standin import JsonNumber
from tests.support.services import API_KEY, USER_ID, dec, services
from tests.support.threecommas import HMAC_CREDENTIALS

FIFTY_DIGITS = "12345678901234567890.123456789012345678901234567890"


def coin(code: str, usd: Any, **fields: Any) -> dict[str, Any]:
    return {"currency_code": code, "currency_name": code.title(), "usd_value": usd, **fields}


def pre_lines(text: str) -> list[str]:
    """The visible lines of the <pre> table."""
    plain = parse_telegram_html(text).plain
    start = text.index("<pre>")
    table = parse_telegram_html(text[start:]).plain
    assert table in plain
    return table.strip("\n").split("\n")


def display_width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


# -- through the client --------------------------------------------------------------------


async def test_coins_are_sorted_by_value_and_dust_is_folded(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        holdings = await setup.holdings.holdings(USER_ID, 2)
        served = setup.standin.coins(API_KEY, 2)
    by_value = sorted(served, key=lambda row: dec(row["usd_value"]), reverse=True)
    assert [c.code for c in holdings.coins] == [row["currency_code"] for row in by_value]
    total = sum(dec(row["usd_value"]) for row in served)
    assert holdings.total_usd == total
    small = [row for row in by_value if dec(row["usd_value"]) * 100 / total < 1]
    assert [c.code for c in holdings.minor] == [row["currency_code"] for row in small]
    assert [c.code for c in holdings.major] == [
        row["currency_code"] for row in by_value if row not in small
    ]
    assert holdings.minor_usd == sum(dec(row["usd_value"]) for row in small)
    text = render_holdings(ENGLISH, holdings, "Account 2", zone=UTC_ZONE)
    rest = f"+ {len(small)} more under 1%: ${holdings.minor_usd.quantize(Decimal('0.01'))}"
    assert rest in parse_telegram_html(text).plain
    assert "SHIB" not in text and "BTT" not in text  # folded
    full = render_holdings(ENGLISH, holdings, "Account 2", zone=UTC_ZONE, full=True)
    assert all(row["currency_code"] in full for row in served)


async def test_all_is_one_summary_call_adding_up_every_account(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        setup.standin.clear_requests()
        holdings = await setup.holdings.holdings(USER_ID, "all")
        paths = [r.path_qs for r in setup.standin.requests]
        per_account = [setup.standin.coins(API_KEY, i) for i in (1, 2, 3)]
    assert paths == ["/public/api/ver1/accounts/summary/account_table_data"]
    expected = sum(dec(row["usd_value"]) for rows in per_account for row in rows)
    assert holdings.total_usd == expected
    assert holdings.display_currency is None


async def test_concurrent_identical_calls_share_one_upstream_call(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        setup.standin.clear_requests()
        results = await asyncio.gather(
            *(setup.client.account_table_data(HMAC_CREDENTIALS, "all") for _ in range(5)),
            *(setup.client.account_table_data(HMAC_CREDENTIALS, 1) for _ in range(3)),
        )
        assert len({len(table.rows) for table in results}) == 1
        assert setup.standin.upstream_calls("summary/account_table_data") == 1
        assert setup.standin.upstream_calls("accounts/1/account_table_data") == 1


async def test_the_per_key_limiter_counts_holdings_calls(tmp_path: Path) -> None:
    async with services(tmp_path, requests_per_minute=3) as setup:
        setup.standin.clear_requests()
        # never refreshed here: its display currency comes from 3Commas' account, one call more
        await setup.holdings.holdings(USER_ID, 1)
        await setup.holdings.holdings(USER_ID, "all")
        with pytest.raises(RateLimited):
            await setup.holdings.holdings(USER_ID, 2)
        assert len(setup.standin.requests) == 3


async def test_exponent_and_fifty_digit_amounts_are_exact(tmp_path: Path) -> None:
    rows = [
        coin("BTT", JsonNumber("9.52E-5"), position=JsonNumber("3.88892E-6")),
        coin("BIG", JsonNumber(FIFTY_DIGITS), position=FIFTY_DIGITS, btc_value="1.5e-7"),
        coin("STR", "9.52E-5", position="-3.30980633289966e-05"),
        coin("INT", "0.5", position=JsonNumber("1" * 50)),
    ]
    async with services(tmp_path) as setup:
        setup.standin.set_coins(API_KEY, 1, rows)
        holdings = await setup.holdings.holdings(USER_ID, 1)
    by_code = {c.code: c for c in holdings.coins}
    assert by_code["BTT"].usd_value == Decimal("9.52E-5")
    assert by_code["BTT"].amount == Decimal("0.00000388892")
    assert str(by_code["BIG"].usd_value) == FIFTY_DIGITS
    assert str(by_code["BIG"].amount) == FIFTY_DIGITS
    assert by_code["BIG"].btc_value == Decimal("0.00000015")
    assert by_code["STR"].usd_value == Decimal("0.0000952")
    assert by_code["STR"].amount == Decimal("-0.0000330980633289966")
    assert all(isinstance(c.amount, Decimal) for c in holdings.coins)
    assert str(by_code["INT"].amount) == "1" * 50
    assert [c.code for c in holdings.coins] == ["BIG", "INT", "BTT", "STR"]


async def test_the_display_currency_of_the_last_refresh_is_shown_too(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        await setup.db.snapshots.add(
            Snapshot(
                user_id=USER_ID,
                account_id=3,
                taken_at=datetime(2025, 5, 12, tzinfo=UTC),
                currency="EUR",
                amount=Decimal("1204.1"),
                usd_amount=Decimal("1301.63"),
                btc_amount=None,
                profit=None,
                profit_percentage=None,
                day_profit=None,
                day_profit_percentage=None,
            )
        )
        setup.standin.set_coins(API_KEY, 3, [coin("BTC", "1301.63", position="0.02")])
        holdings = await setup.holdings.holdings(USER_ID, 3)
    assert holdings.display_currency == "EUR"
    assert holdings.total_display == Decimal("1204.1")
    plain = parse_telegram_html(render_holdings(ENGLISH, holdings, "Kraken", zone=UTC_ZONE)).plain
    assert "≈€1,204" in plain
    assert "$1,302" in plain  # the USD value, rounded by magnitude in the table


async def test_a_user_without_a_key_is_told_to_connect(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        with pytest.raises(NotConnected):
            await setup.holdings.holdings(USER_ID + 1, 1)


# -- rendering -----------------------------------------------------------------------------


async def holdings_of(tmp_path: Path, rows: list[dict[str, Any]]) -> Holdings:
    async with services(tmp_path) as setup:
        setup.standin.set_coins(API_KEY, 1, rows)
        return await setup.holdings.holdings(USER_ID, 1)


async def test_hostile_coin_codes_and_names_are_escaped(tmp_path: Path) -> None:
    rows = [
        coin("<b>X</b>", "50", currency_name="<script>alert(1)</script> & co", position="1"),
        coin("\u202eBTC", "30", currency_name="Bit\u200bcoin\u202e" + "世" * 40, position="2"),
        coin("A&amp;", "20", currency_name=None, position="3"),
    ]
    holdings = await holdings_of(tmp_path, rows)
    text = render_holdings(ENGLISH, holdings, "<i>evil</i>", "ex<change>", zone=UTC_ZONE)
    plain = parse_telegram_html(text).plain  # Telegram would accept it
    assert "<b>X</b>" in plain
    assert "<b>X</b> <script>alert(1" in plain
    assert "A&amp;" in plain
    assert "<i>evil</i>" in plain
    assert "\u202e" not in text and "\u200b" not in text
    assert all(display_width(line) <= WIDTH for line in pre_lines(text))


async def test_the_table_fits_a_phone(tmp_path: Path) -> None:
    async with services(tmp_path) as setup:
        for target in (1, 2, 3, "all"):
            holdings = await setup.holdings.holdings(USER_ID, target)  # type: ignore[arg-type]
            for full in (False, True):
                lines = pre_lines(
                    render_holdings(ENGLISH, holdings, "Account", zone=UTC_ZONE, full=full)
                )
                assert max(display_width(line) for line in lines) <= WIDTH


async def test_dust_shows_significant_digits_not_zero(tmp_path: Path) -> None:
    rows = [
        coin("BIG", "100", position="1"),
        coin("DUST", JsonNumber("9.52E-5"), position=JsonNumber("9.52E-5")),
    ]
    holdings = await holdings_of(tmp_path, rows)
    plain = parse_telegram_html(
        render_holdings(ENGLISH, holdings, "A", zone=UTC_ZONE, full=True)
    ).plain
    assert "0.0000952 = $0.000095" in plain
    assert (
        "+ 1 more under 1%: $0.000095"
        in parse_telegram_html(render_holdings(ENGLISH, holdings, "A", zone=UTC_ZONE)).plain
    )


@pytest.mark.parametrize("full", [False, True])
async def test_300_coins_stay_within_one_message(tmp_path: Path, full: bool) -> None:
    # 60 coins of 1.5% each and 240 of dust: the short table alone would pass 4096 characters.
    rows = [
        coin(f"C{i:03}", "1.5", position="1.23456789", day_change_percent="-12.34")
        for i in range(60)
    ]
    rows += [coin(f"D{i:03}", "0.0375", position=JsonNumber("1.5E-7")) for i in range(240)]
    holdings = await holdings_of(tmp_path, rows)
    assert len(holdings.major) == 60 and len(holdings.minor) == 240
    text = render_holdings(ENGLISH, holdings, "W" * 64, "E" * 64, zone=UTC_ZONE, full=full)
    assert len(text) <= MESSAGE_LIMIT
    plain = parse_telegram_html(text).plain
    listed = len(re.findall(r"^[CD]\d{3} ", plain, re.MULTILINE))
    more = re.search(r"… and (\d+) more coins", plain)
    assert more is not None
    assert listed + int(more.group(1)) == (300 if full else 60)
    if not full:
        assert "+ 240 more under 1%: $9.00" in plain


async def test_an_account_without_coins_says_so(tmp_path: Path) -> None:
    holdings = await holdings_of(tmp_path, [coin("ZERO", "0", position="0")])
    assert "No coins in this account." in render_holdings(ENGLISH, holdings, "A", zone=UTC_ZONE)


async def test_the_demo_sends_about_12_coins_with_dust_in_exponent_notation(
    tmp_path: Path,
) -> None:
    path = "/public/api/ver1/accounts/1/account_table_data"
    async with services(tmp_path) as setup:
        headers = {"APIKEY": API_KEY, "Signature": sign(path, HMAC_CREDENTIALS.secret)}
        url = yarl.URL(setup.standin.base_url + path, encoded=True)
        async with aiohttp.ClientSession() as session, session.post(url, headers=headers) as resp:
            body = await resp.read()
        holdings = await setup.holdings.holdings(USER_ID, 1)
    assert b'"usd_value": 9.52E-5' in body  # a JSON number, not a string
    assert b'"position": "0.' in body  # and strings elsewhere
    assert 11 <= len(holdings.coins) <= 14
    assert holdings.minor and holdings.coins[-1].usd_value == Decimal("3.5E-10")
