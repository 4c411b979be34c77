"""TEMPORARY: a stand-in for the bot's /app routes (canned JSON per the contract), so the page can
be driven in a browser before the server side exists. Removed once the tests use the real bot."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

STATIC = Path(__file__).resolve().parents[2] / "bot" / "miniapp" / "static"
DAY = 86_400
NOW = 1_796_425_200  # a fixed moment


def money(value: float) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


ACCOUNTS: dict[str, list[dict[str, Any]]] = {
    "ann": [
        {
            "id": 123,
            "name": "Binance main",
            "exchange": "Binance",
            "balance": 12345.67,
            "today": 120.0,
        },
        {"id": 456, "name": "Kraken spot", "exchange": "Kraken", "balance": 1301.63, "today": -8.5},
    ],
    "bob": [
        {"id": 789, "name": "Bob's Bybit", "exchange": "Bybit", "balance": 999.0, "today": 0.0}
    ],
}


def portfolio(user: str) -> dict[str, Any]:
    accounts = ACCOUNTS[user]
    total = sum(a["balance"] for a in accounts)
    today = sum(a["today"] for a in accounts)
    return {
        "connected": True,
        "user": {"id": 1, "first_name": user},
        "total": {
            "balance_text": money(total),
            "today_text": f"+{money(today)}" if today >= 0 else money(today),
            "today_sign": (today > 0) - (today < 0),
            "note": f"Total of {len(accounts)} accounts",
        },
        "accounts": [
            {
                "id": a["id"],
                "name": a["name"],
                "exchange": a["exchange"],
                "balance_text": money(a["balance"]),
                "today_text": money(a["today"]),
                "today_sign": (a["today"] > 0) - (a["today"] < 0),
                "updated_text": "2 min ago",
                "stale": False,
            }
            for a in accounts
        ],
        "updated_at": "2026-12-04T22:00:00Z",
    }


def history(period: str, balance: float) -> dict[str, Any]:
    days = {"7d": 7, "30d": 30, "90d": 90, "1y": 365}[period]
    values = [balance * (0.8 + 0.2 * i / days) + (i % 5) * 40 for i in range(days + 1)]
    points = [[NOW - (days - i) * DAY, round(v, 2)] for i, v in enumerate(values)]
    return {
        "period": period,
        "points": points,
        "point_texts": [money(v) for _, v in points],
        "deposits": [{"t": NOW - 3 * DAY, "text": "Deposit +$500.00"}],
        "first_text": money(values[0]),
        "last_text": money(values[-1]),
        "change_text": money(values[-1] - values[0]),
    }


def app(tokens: dict[str, str]) -> web.Application:
    def user_of(request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        user = tokens.get(header.removeprefix("tma "))
        if user is None:
            raise web.HTTPUnauthorized(
                text='{"error": "Open the dashboard again from the bot."}',
                content_type="application/json",
            )
        return user

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def get_portfolio(request: web.Request) -> web.Response:
        return web.json_response(portfolio(user_of(request)))

    async def account(request: web.Request) -> web.Response:
        user = user_of(request)
        found = [a for a in ACCOUNTS[user] if str(a["id"]) == request.match_info["id"]]
        if not found:
            return web.json_response({"error": "No such account."}, status=404)
        a = found[0]
        if "period" in request.query or request.path.endswith("/history"):
            return web.json_response(history(request.query.get("period", "30d"), a["balance"]))
        return web.json_response(
            {
                **{k: v for k, v in portfolio(user)["accounts"][ACCOUNTS[user].index(a)].items()},
                "holdings": [
                    {
                        "coin": "BTC",
                        "amount_text": "0.12345",
                        "value_text": "$8,000.00",
                        "share_text": "64.8%",
                    },
                    {
                        "coin": "USDT",
                        "amount_text": "4,345.67",
                        "value_text": "$4,345.67",
                        "share_text": "35.2%",
                    },
                ],
                "holdings_total_text": money(a["balance"]),
                "profit": {
                    "day": [
                        {
                            "label": "Today",
                            "profit_text": "+$120.00",
                            "pct_text": "+0.98%",
                            "sign": 1,
                        },
                        {
                            "label": "Yesterday",
                            "profit_text": "-$40.00",
                            "pct_text": "-0.33%",
                            "sign": -1,
                        },
                    ],
                    "week": [
                        {
                            "label": "This week",
                            "profit_text": "+$300.00",
                            "pct_text": "+2.49%",
                            "sign": 1,
                        }
                    ],
                    "month": [
                        {
                            "label": "December",
                            "profit_text": "+$900.00",
                            "pct_text": "+7.86%",
                            "sign": 1,
                        }
                    ],
                },
                "bots": None,
            }
        )

    application = web.Application()
    application.router.add_get("/app", page)
    application.router.add_static("/app/static/", STATIC)
    application.router.add_get("/app/api/portfolio", get_portfolio)
    application.router.add_post("/app/api/refresh", get_portfolio)
    application.router.add_get("/app/api/accounts/{id}", account)
    application.router.add_get("/app/api/accounts/{id}/history", account)
    return application


@contextmanager
def canned_server(tokens: dict[str, str]) -> Iterator[str]:
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app(tokens))
    started = threading.Event()
    port: list[int] = []

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()))
    thread.start()
    started.wait(10)
    try:
        yield f"http://127.0.0.1:{port[0]}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
