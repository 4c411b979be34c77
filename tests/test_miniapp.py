"""The Mini App's server end to end: the real bot with its HTTP server, the Bot API and 3Commas
stand-ins, and HTTP requests carrying init data signed as Telegram signs it
(tests/support/miniapp.py). The figures are compared with what the commands answer."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.telegram.views import texts
from bot.telegram.views.texts import BOTS_READ_MISSING
from bot.telegram.views.translator import translator
from standins.botapi import SentMessage
from standins.demo import DEMO_USER_ID, Sandbox
from standins.threecommas_standin import Fault, demo_account
from tests.support.bot import Chat, bot_running
from tests.support.miniapp import authorization, signed_init_data
from tests.support.process import free_port
from tests.support.services import TODAY, FixedClock

STRANGER = 4242
HTTPS_APP = "https://dashboard.example.org/app"


@dataclass
class Dashboard:
    base: str
    token: str
    sandbox: Sandbox

    def init_data(self, user_id: int = DEMO_USER_ID, **extra: Any) -> str:
        user = {"id": user_id, "first_name": "Demo", "username": "demo"}
        return signed_init_data(self.token, user, int(time.time()), **extra)

    async def call(
        self,
        method: str,
        path: str,
        *,
        user_id: int = DEMO_USER_ID,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        sent = authorization(self.init_data(user_id)) if headers is None else headers
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.base + path, headers=sent) as response,
        ):
            text = await response.text()
            body = json.loads(text) if response.content_type == "application/json" else text
            return response.status, dict(response.headers), body

    async def get(self, path: str, **options: Any) -> Any:
        status, _, body = await self.call("GET", path, **options)
        assert status == 200, (status, body)
        return body

    async def refresh(self, **options: Any) -> Any:
        status, _, body = await self.call("POST", "/app/api/refresh", **options)
        assert status == 200, (status, body)
        return body


@contextlib.asynccontextmanager
async def dashboard_running(sandbox: Sandbox, **settings: Any) -> AsyncIterator[Dashboard]:
    port = free_port()
    sandbox.threecommas.today = TODAY
    async with bot_running(sandbox, clock=FixedClock(), port=port, **settings):
        yield Dashboard(f"http://127.0.0.1:{port}", sandbox.botapi.token, sandbox)


@pytest.fixture
async def dashboard(sandbox: Sandbox) -> AsyncIterator[Dashboard]:
    async with dashboard_running(sandbox) as running:
        yield running


@pytest.fixture
async def connected(dashboard: Dashboard) -> Dashboard:
    await Chat(dashboard.sandbox.botapi).connect()
    return dashboard


def blocks(text: str) -> dict[str, str]:
    """The blocks of /refresh all by account name (first line)."""
    return {block.split(" · ")[0]: block for block in text.split("\n\n")}


# -- the figures ----------------------------------------------------------------------------


async def test_total_and_today_are_those_of_refresh_all(connected: Dashboard) -> None:
    chat = Chat(connected.sandbox.botapi)
    text = (await chat.reply("/refresh all")).plain
    for body in (await connected.get("/app/api/portfolio"), await connected.refresh()):
        total = body["total"]
        assert f"Total (3 accounts): {total['balance_text']} ·" in text
        assert f"Today: ▲ {total['today_text']}" in text
        assert total["today_sign"] == 1
        assert total["note"] == "Total of 3 accounts"
        by_name = blocks(text)
        assert [a["name"] for a in body["accounts"]] == list(by_name)[:3]
        for account in body["accounts"]:
            block = by_name[account["name"]]
            assert f"Balance: {account['balance_text']}" in block
            assert re.search(rf"Today: . {re.escape(account['today_text'])}$", block, re.M)
            assert f"{account['name']} · {account['exchange']}" in block
    assert body["connected"] is True
    assert body["user"] == {"id": DEMO_USER_ID, "first_name": "Demo"}


async def test_the_last_known_figures_need_no_3commas_call(connected: Dashboard) -> None:
    chat = Chat(connected.sandbox.botapi)
    await chat.reply("/refresh all")
    connected.sandbox.threecommas.clear_requests()
    body = await connected.get("/app/api/portfolio")
    assert connected.sandbox.threecommas.requests == []
    assert body["total"]["balance_text"] == "$26,645.29"
    assert all(not account["stale"] for account in body["accounts"])
    assert {account["updated_text"] for account in body["accounts"]} == {"just now"}


async def test_never_refreshed_accounts_show_no_figures_until_refreshed(
    connected: Dashboard,
) -> None:
    body = await connected.get("/app/api/portfolio")
    assert [a["balance_text"] for a in body["accounts"]] == ["n/a"] * 3
    assert all(a["stale"] and a["updated_text"] == "never" for a in body["accounts"])
    assert body["total"]["balance_text"] == "n/a"
    refreshed = await connected.refresh()
    assert refreshed["total"]["balance_text"] == "$26,645.29"
    assert "notice" not in refreshed
    assert not any(a["stale"] for a in refreshed["accounts"])


async def test_a_refresh_within_the_cooldown_asks_3commas_once(sandbox: Sandbox) -> None:
    async with dashboard_running(sandbox, refresh_cooldown_seconds=60) as running:
        await Chat(sandbox.botapi).connect()
        sandbox.threecommas.clear_requests()
        first = await running.refresh()
        second = await running.refresh()
    assert sandbox.threecommas.upstream_calls("load_balances") == 3
    assert first["total"] == second["total"]


async def test_the_per_key_limit_leaves_accounts_with_their_last_figures(
    sandbox: Sandbox,
) -> None:
    async with dashboard_running(sandbox, threecommas_requests_per_minute=5) as running:
        await Chat(sandbox.botapi).connect()  # one request: the account list
        first = await running.refresh()  # three more: one left this minute
        sandbox.threecommas.clear_requests()
        second = await running.refresh()
    assert "notice" not in first
    assert sandbox.threecommas.upstream_calls("load_balances") == 1
    assert "5 requests a minute per API key" in second["notice"]
    stale = [account for account in second["accounts"] if account["stale"]]
    assert len(stale) == 2  # left out, with their figures of the first refresh
    assert all(account["balance_text"] != "n/a" for account in second["accounts"])
    assert second["total"] == first["total"]  # the total of what is shown


async def test_a_3commas_failure_still_answers_with_the_last_figures_and_a_notice(
    connected: Dashboard,
) -> None:
    await Chat(connected.sandbox.botapi).reply("/refresh all")
    connected.sandbox.threecommas.inject(Fault.SERVER_ERROR, times=100)
    body = await connected.refresh()
    assert "3Commas" in body["notice"]
    assert body["total"]["note"] == "Total of 3 accounts"  # the last known, as before
    assert all(a["stale"] for a in body["accounts"])


async def test_account_detail_shows_holdings_and_profit_as_the_commands(
    connected: Dashboard,
) -> None:
    chat = Chat(connected.sandbox.botapi)
    await chat.reply("/refresh all")
    detail = await connected.get("/app/api/accounts/23456789")
    assert detail["name"] == "Binance Futures"
    assert detail["balance_text"] == "$25,312.45"
    assert detail["today_text"] == "+$312.77 (+1.25%)"
    assert "notice" not in detail
    holdings = (await chat.reply("/holdings 23456789")).plain
    assert f": {detail['holdings_total_text']} ·" in holdings
    shown = [c for c in detail["holdings"] if c["share_text"] and c["share_text"] >= "1"]
    for coin in detail["holdings"]:
        if coin["coin"] in holdings.split():
            assert f"{coin['amount_text']} = {coin['value_text']}" in holdings
            assert coin["share_text"] in holdings
    assert shown
    for grouping, key in (("days", "day"), ("weeks", "week"), ("months", "month")):
        table = (await chat.reply(f"/profit 23456789 {grouping}")).plain
        lines = table.splitlines()
        rows = detail["profit"][key]
        assert rows, key
        for row in rows:
            line = next(line for line in lines if line.startswith(row["label"] + " "))
            assert line.split()[-2:] == [row["profit_text"], row["pct_text"]] or (
                row["profit_text"] == "no data" and line.endswith("no data")
            )


async def test_history_for_each_period_with_deposits(connected: Dashboard) -> None:
    chat = Chat(connected.sandbox.botapi)
    for period in ("7d", "30d", "90d", "1y"):
        body = await connected.get(f"/app/api/accounts/23456789/history?period={period}")
        assert body["period"] == period
        assert len(body["points"]) > 5
        assert all(isinstance(t, int) and isinstance(v, float) for t, v in body["points"])
        assert body["points"] == sorted(body["points"])
        caption = connected.sandbox.botapi.files_in(DEMO_USER_ID)
        await chat.say(f"/chart 23456789 {period}")
        caption = connected.sandbox.botapi.files_in(DEMO_USER_ID)[-1].caption_plain
        assert f"Balance {body['first_text']} → {body['last_text']}" in caption
        assert body["change_text"] in caption
        # worded as the caption words it: the change net of deposits, not end minus start
        assert body["change_sentence"] == f"Change net of deposits: {body['change_text']}"
        assert "Change net of deposits: " in caption
    year = await connected.get("/app/api/accounts/23456789/history?period=1y")
    assert year["deposits"]
    assert all(d["text"].startswith(("Deposit +$", "Withdrawal -$")) for d in year["deposits"])


async def test_a_bad_period_gets_400_with_a_sentence(connected: Dashboard) -> None:
    status, _, body = await connected.call("GET", "/app/api/accounts/23456789/history?period=2d")
    assert status == 400
    assert body == {"error": "The period must be one of 7d, 30d, 90d or 1y."}


# -- who is asking ----------------------------------------------------------------------------


async def test_requests_without_valid_init_data_get_401_and_a_sentence(
    connected: Dashboard,
) -> None:
    token, user = connected.token, {"id": DEMO_USER_ID, "first_name": "Demo"}
    other_bot = "999999:ANOTHER-BOTS-TOKEN"
    valid = connected.init_data()
    refused = {
        "none": {},
        "not tma": {"Authorization": f"Bearer {valid}"},
        "wrong hash": authorization(valid[:-4] + "0000"),
        "expired": authorization(signed_init_data(token, user, int(time.time()) - 86_401)),
        "another bot": authorization(signed_init_data(other_bot, user, int(time.time()))),
        "huge": authorization("user=" + "x" * 7000),
    }
    for name, headers in refused.items():
        for method, path in (("GET", "/app/api/portfolio"), ("POST", "/app/api/refresh")):
            status, sent, body = await connected.call(method, path, headers=headers)
            assert status == 401, name
            assert set(body) == {"error"} and body["error"].endswith("."), name
            assert sent["Cache-Control"] == "no-store"
    _, _, expired = await connected.call("GET", "/app/api/portfolio", headers=refused["expired"])
    assert "too long ago" in expired["error"]
    assert connected.sandbox.threecommas.requests[-1:] != []  # only the connect's calls


async def test_a_user_who_has_not_connected_gets_the_sentence(dashboard: Dashboard) -> None:
    body = await dashboard.get("/app/api/portfolio", user_id=STRANGER)
    assert body == {
        "connected": False,
        "language": "en",
        "message": "Connect your 3Commas account first: send /connect in a private chat with the bot.",
    }
    assert (await dashboard.refresh(user_id=STRANGER))["connected"] is False


async def test_another_user_never_sees_the_demo_users_accounts(connected: Dashboard) -> None:
    connected.sandbox.threecommas.add_key(
        "other-key", "other-secret", [demo_account(55555555, "Stranger's Kraken")]
    )
    for connect in (False, True):
        if connect:
            await Chat(connected.sandbox.botapi, user_id=STRANGER).connect(
                "other-key", "other-secret"
            )
        for path in (
            "/app/api/accounts/23456789",
            "/app/api/accounts/23456789/history?period=7d",
        ):
            status, _, body = await connected.call("GET", path, user_id=STRANGER)
            assert status == 404
            assert "23456789" not in json.dumps(body)
    for body in (
        await connected.get("/app/api/portfolio", user_id=STRANGER),
        await connected.refresh(user_id=STRANGER),
    ):
        assert [a["id"] for a in body["accounts"]] == [55555555]
        assert body["user"]["id"] == STRANGER


async def test_an_account_that_is_not_the_users_gets_404(connected: Dashboard) -> None:
    for account in ("99999999", "abc", "1" * 40, "-1"):
        status, _, body = await connected.call("GET", f"/app/api/accounts/{account}")
        assert status == 404
        assert set(body) == {"error"}


async def test_allowed_user_ids_apply(sandbox: Sandbox) -> None:
    async with dashboard_running(sandbox, allowed_user_ids=frozenset({DEMO_USER_ID})) as running:
        status, _, body = await running.call("GET", "/app/api/portfolio", user_id=STRANGER)
        assert status == 403
        assert body == {"error": "This bot is private."}
        status, _, _ = await running.call("GET", "/app/api/portfolio")
        assert status == 200


# -- serving ----------------------------------------------------------------------------------


async def test_the_page_and_its_files_come_with_the_headers(dashboard: Dashboard) -> None:
    for path in ("/app", "/app/", "/app/static/index.html"):
        status, headers, body = await dashboard.call("GET", path, headers={})
        assert status == 200, path
        assert headers["Content-Type"].startswith("text/html")
        csp = headers["Content-Security-Policy"]
        for directive in ("script-src 'self'", "style-src 'self'", "connect-src 'self'"):
            assert directive in csp
        assert "img-src 'self' data:" in csp
        assert "frame-ancestors https://web.telegram.org https://*.telegram.org" in csp
        assert "http:" not in csp.replace("https:", "")
        assert str(DEMO_USER_ID) not in body
    _, headers, _ = await dashboard.call("GET", "/app/api/portfolio")
    assert headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in headers


async def test_paths_outside_the_static_folder_are_not_served(dashboard: Dashboard) -> None:
    for path in (
        "/app/static/../server.py",
        "/app/static/%2e%2e/server.py",
        "/app/static/..%2fserver.py",
        "/app/static/nothing.js",
    ):
        status, _, body = await dashboard.call("GET", path, headers={})
        assert status in (403, 404), path
        assert "import" not in str(body)
    status, _, body = await dashboard.call("GET", "/app/api/nothing")
    assert status == 404 and set(body) == {"error"}


def test_without_port_the_miniapp_code_is_never_imported(tmp_path: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from standins.demo import running_standins\n"
        "from standins.handled import reporting_bot\n"
        "async def main():\n"
        f"    async with running_standins(Path({str(tmp_path)!r})) as sandbox:\n"
        "        async with reporting_bot(sandbox.settings, sandbox.botapi):\n"
        "            pass\n"
        "    print(sorted(m for m in sys.modules if m.startswith('bot.miniapp')))\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


# -- buttons ----------------------------------------------------------------------------------


def link_buttons(message: SentMessage) -> list[dict[str, Any]]:
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return [button for row in rows for button in row if "callback_data" not in button]


async def test_private_replies_carry_the_web_app_button_and_the_menu_opens_it(
    sandbox: Sandbox,
) -> None:
    async with bot_running(sandbox, miniapp_url=HTTPS_APP):
        assert sandbox.botapi.menu_buttons[None] == {
            "type": "web_app",
            "text": "📊 Dashboard",
            "web_app": {"url": HTTPS_APP},
        }
        chat = Chat(sandbox.botapi)
        await chat.connect()
        web_app = [{"text": "📊 Dashboard", "web_app": {"url": HTTPS_APP}}]
        for command in ("/start", "/accounts", "/refresh all", "/start dashboard"):
            assert link_buttons(await chat.reply(command)) == web_app, command
        listed = await chat.reply("/accounts")
        pressed = await chat.press(listed, "🔄 My Binance US")
        assert "Balance:" in pressed[-1].plain
        assert link_buttons(pressed[-1]) == web_app
    assert not sandbox.botapi.refused


async def test_groups_get_a_link_to_the_private_chat_instead(sandbox: Sandbox) -> None:
    async with bot_running(sandbox, miniapp_url=HTTPS_APP) as application:
        await Chat(sandbox.botapi).connect()
        group = Chat(sandbox.botapi, chat_id=-100555, chat_type="supergroup")
        link = f"https://t.me/{application.bot.username}?start=dashboard"
        for command in ("/start", "/accounts", "/refresh all"):
            buttons = link_buttons(await group.reply(command))
            assert buttons == [{"text": "📊 Dashboard", "url": link}], command
    assert not sandbox.botapi.refused


async def test_without_an_https_address_there_is_no_button(sandbox: Sandbox) -> None:
    for settings in ({}, {"miniapp_url": "http://127.0.0.1:8080/app"}):
        async with bot_running(sandbox, **settings):
            chat = Chat(sandbox.botapi)
            for command in ("/start", "/start dashboard"):
                assert link_buttons(await chat.reply(command)) == []
        assert sandbox.botapi.menu_buttons == {}


def test_miniapp_url_defaults_to_the_webhooks_origin() -> None:
    settings = Settings(_env_file=None, webhook_url="https://bot.example.com:8443/telegram/x")
    assert settings.miniapp_address == "https://bot.example.com:8443/app"
    assert settings.miniapp_button_url == "https://bot.example.com:8443/app"
    chosen = Settings(
        _env_file=None, webhook_url="https://bot.example.com/t", miniapp_url=HTTPS_APP
    )
    assert chosen.miniapp_button_url == HTTPS_APP
    assert Settings(_env_file=None).miniapp_address is None


def test_the_webhook_may_not_take_the_miniapps_path() -> None:
    from bot.config import ConfigError, load_settings

    for path in ("/app", "/app/updates"):
        with pytest.raises(ConfigError, match="Mini App"):
            load_settings(_env_file=None, webhook_url=f"https://bot.example.com{path}")
    load_settings(_env_file=None, webhook_url="https://bot.example.com/application")


def test_the_sandbox_prints_a_dashboard_url_with_valid_init_data() -> None:
    from urllib.parse import parse_qsl, urlsplit

    from bot.miniapp.initdata import secret_key, validated_user
    from standins.botapi import BotApiStandIn
    from standins.sandbox import dashboard_line

    botapi = BotApiStandIn()
    line = dashboard_line(botapi, 8123)
    assert line.startswith("Dashboard: http://127.0.0.1:8123/app#tgWebAppData=")
    fragment = dict(parse_qsl(urlsplit(line.removeprefix("Dashboard: ")).fragment))
    user = validated_user(
        fragment["tgWebAppData"], secret_key(botapi.token), now=time.time(), max_age=60
    )
    assert user.id == DEMO_USER_ID
    assert json.loads(fragment["tgWebAppThemeParams"])["bg_color"]


async def test_the_dashboard_follows_each_refresh_and_a_disconnect(connected: Dashboard) -> None:
    chat = Chat(connected.sandbox.botapi)
    await chat.reply("/refresh all")
    before = await connected.get("/app/api/portfolio")
    accounts = [
        demo_account(
            account["id"],
            account["name"],
            usd_amount="100",
            primary_display_currency_amount={"currency": "USD", "amount": "100"},
        )
        for account in before["accounts"]
    ]
    connected.sandbox.threecommas.set_accounts("demo-key", accounts)
    await chat.reply("/refresh 12345678")
    after = await connected.get("/app/api/portfolio")
    by_id = {account["id"]: account for account in after["accounts"]}
    assert by_id[12345678]["balance_text"] == "$100.00"
    assert by_id[23456789]["balance_text"] == "$25,312.45"
    assert after["total"] != before["total"]
    await chat.reply("/disconnect")
    assert (await connected.get("/app/api/portfolio"))["connected"] is False


async def test_account_detail_says_why_when_3commas_refuses(connected: Dashboard) -> None:
    await Chat(connected.sandbox.botapi).reply("/refresh all")
    connected.sandbox.threecommas.inject(Fault.ACCESS_DENIED, times=100)
    detail = await connected.get("/app/api/accounts/12345678")
    assert detail["balance_text"] == "$31.21"  # the last known, from the database
    assert detail["holdings"] == [] and detail["holdings_total_text"] == "n/a"
    assert detail["profit"] == {"day": [], "week": [], "month": []}
    assert "permission" in detail["notice"]
    history = await connected.get("/app/api/accounts/12345678/history?period=7d")
    assert history["points"] == [] and "permission" in history["notice"]


async def test_account_detail_shows_bots_and_deals_as_bots_and_deals(
    connected: Dashboard,
) -> None:
    chat = Chat(connected.sandbox.botapi)
    bots = (await chat.reply("/bots 23456789")).plain
    deals = (await chat.reply("/deals 23456789")).plain
    shown = (await connected.get("/app/api/accounts/23456789"))["bots"]
    assert f"Bots today: ▲ {shown['today_text']} · Overall: ▲ {shown['overall_text']}" in bots
    assert f"Active deals: ▼ {shown['unrealized_text']} unrealized" in bots
    assert shown["rows"]
    for row in shown["rows"]:
        assert re.search(
            rf"^{re.escape(row['name'])} +{re.escape(row['profit_text'])}$", bots, re.M
        )
        if row["active_deals"] is not None:
            assert f"{row['active_deals']} active" in bots
    assert shown["deals"]
    lines = deals.splitlines()
    for deal in shown["deals"]:
        assert f"{deal['pair']} · {deal['bot']}" in lines
        assert any(line.endswith(f"{deal['profit_text']} {deal['pct_text']}") for line in lines)
    assert [d["sign"] for d in shown["deals"]] == [
        (1 if d["profit_text"].startswith("+") else -1) for d in shown["deals"]
    ]


async def test_account_detail_says_when_the_key_cannot_read_bots(connected: Dashboard) -> None:
    connected.sandbox.threecommas.set_bots_read("demo-key", False)
    shown = (await connected.get("/app/api/accounts/23456789"))["bots"]
    assert shown == {"message": BOTS_READ_MISSING}


# -- languages --------------------------------------------------------------------------------


def russian_init_data(dashboard: Dashboard, user_id: int = DEMO_USER_ID, **extra: Any) -> str:
    """Init data of a user whose Telegram app is in Russian."""
    user = {"id": user_id, "first_name": "Демо", "language_code": "ru"}
    return signed_init_data(dashboard.token, user, int(time.time()), **extra)


async def test_a_dashboard_opened_in_russian_answers_in_russian(connected: Dashboard) -> None:
    ru = translator("ru")
    chat = Chat(connected.sandbox.botapi)
    await chat.reply("/refresh all")
    english = await connected.get("/app/api/portfolio")
    russian_headers = authorization(russian_init_data(connected))
    russian = await connected.get("/app/api/portfolio", headers=russian_headers)
    assert english["language"] == "en" and russian["language"] == "ru"
    assert russian["total"]["note"] == "Итого: 3 счёта"
    assert {a["updated_text"] for a in russian["accounts"]} == {"только что"}
    assert russian["labels"]["balance"] == "Баланс" and russian["labels"]["bots"] == "Боты"
    assert set(russian["labels"]) == set(english["labels"])
    # the money strings are the same in every language
    assert russian["total"]["balance_text"] == english["total"]["balance_text"]
    assert russian["total"]["today_text"] == english["total"]["today_text"]
    money = ("balance_text", "today_text")
    assert [[a[k] for k in money] for a in russian["accounts"]] == [
        [a[k] for k in money] for a in english["accounts"]
    ]

    detail = await connected.get("/app/api/accounts/23456789", headers=russian_headers)
    assert detail["profit"]["day"][0]["label"] == ru(texts.THIS_DAY)
    assert detail["bots"]["today_text"].startswith(("+$", "-$"))
    year = await connected.get(
        "/app/api/accounts/23456789/history?period=1y", headers=russian_headers
    )
    assert all(d["text"].startswith(("Пополнение +$", "Вывод -$")) for d in year["deposits"])
    status, _, body = await connected.call(
        "GET", "/app/api/accounts/23456789/history?period=2d", headers=russian_headers
    )
    assert status == 400 and body == {"error": "Период: 7d, 30d, 90d или 1y."}
    status, _, body = await connected.call(
        "GET", "/app/api/accounts/99999999", headers=russian_headers
    )
    assert status == 404 and body == {"error": ru(texts.DASHBOARD_NO_SUCH_ACCOUNT)}


async def test_the_pages_words_before_anyone_is_let_in_follow_the_claimed_language(
    connected: Dashboard,
) -> None:
    """/app/api/labels: the page's words for whoever opens it, even with init data that is not
    valid (its claimed language_code only), and nothing about any user."""
    ru = translator("ru")
    english = await connected.get("/app/api/labels", headers={})
    assert english == {"language": "en", "labels": english["labels"]}
    assert english["labels"]["offline"] == texts.DASHBOARD_LABELS["offline"]
    russian_user = {"id": DEMO_USER_ID, "first_name": "Демо", "language_code": "ru"}
    forged = signed_init_data("999999:another-bots-token", russian_user, int(time.time()))
    status, headers, russian = await connected.call(
        "GET", "/app/api/labels", headers=authorization(forged)
    )
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert russian["language"] == "ru" and set(russian) == {"language", "labels"}
    assert russian["labels"] == {key: ru(word) for key, word in texts.DASHBOARD_LABELS.items()}
    assert russian["labels"]["offline"] != english["labels"]["offline"]
    status, _, body = await connected.call(
        "GET", "/app/api/labels", headers={"Authorization": "tma %%%"}
    )
    assert status == 200 and body["language"] == "en"


async def test_the_language_chosen_with_language_wins_over_the_init_datas(
    connected: Dashboard,
) -> None:
    chat = Chat(connected.sandbox.botapi)
    await chat.reply("/language es")
    headers = authorization(russian_init_data(connected))
    body = await connected.get("/app/api/portfolio", headers=headers)
    assert body["language"] == "es"
    assert body["total"]["note"] == translator("es")(texts.DASHBOARD_NO_FIGURES)
    assert body["labels"]["balance"] == "Saldo"


async def test_refusals_and_not_connected_are_in_the_users_language(sandbox: Sandbox) -> None:
    ru = translator("ru")
    async with dashboard_running(sandbox, allowed_user_ids=frozenset({DEMO_USER_ID})) as running:
        stranger = authorization(russian_init_data(running, STRANGER))
        status, _, body = await running.call("GET", "/app/api/portfolio", headers=stranger)
        assert status == 403 and body == {"error": ru(texts.BOT_IS_PRIVATE)}
        user = {"id": DEMO_USER_ID, "first_name": "Демо", "language_code": "ru"}
        expired = signed_init_data(running.token, user, int(time.time()) - 86_401)
        status, _, body = await running.call(
            "GET", "/app/api/portfolio", headers=authorization(expired)
        )
        assert status == 401 and body == {"error": ru(texts.DASHBOARD_EXPIRED)}
        own = authorization(russian_init_data(running))
        body = await running.get("/app/api/portfolio", headers=own)  # never connected
        assert body == {
            "connected": False,
            "language": "ru",
            "message": ru(texts.DASHBOARD_NOT_CONNECTED),
        }


async def test_the_dashboard_button_is_in_the_chats_language(sandbox: Sandbox) -> None:
    async with bot_running(sandbox, miniapp_url=HTTPS_APP):
        await Chat(sandbox.botapi).connect()
        chat = Chat(sandbox.botapi, language="ru")
        web_app = [{"text": "📊 Панель", "web_app": {"url": HTTPS_APP}}]
        for command in ("/start", "/accounts", "/refresh all"):
            assert link_buttons(await chat.reply(command)) == web_app, command
        opened = await chat.reply("/start dashboard")
        assert opened.plain == translator("ru")(texts.DASHBOARD_OPEN)
