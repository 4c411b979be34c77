"""The Mini App on the bot's HTTP server: the page at /app, its files, and its data under /app/api.

Every data request carries Telegram's init data (`Authorization: tma <initData>`); the user is
the one inside it, and nobody else: there is no other login and no cookie. The page holds no
user data. Imported only when the HTTP server runs (PORT or WEBHOOK_URL set).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.config import MINIAPP_PATH, Settings
from bot.logs import EveryInterval
from bot.miniapp.initdata import (
    InitDataRefused,
    WebAppUser,
    claimed_language_code,
    secret_key,
    validated_user,
)
from bot.miniapp.views import (
    JSON,
    PROFIT_KEYS,
    AccountFigures,
    account_json,
    bots_json,
    empty_history_json,
    history_json,
    holdings_json,
    labels_json,
    portfolio_json,
    profit_rows,
)
from bot.services.accounts import RefreshResult
from bot.services.chat_settings import ChatSettings
from bot.services.errors import FAILURES, NotConnected
from bot.services.history import PERIOD_DAYS
from bot.services.languages import DEFAULT_LANGUAGE, supported
from bot.services.portfolio import LastKnown
from bot.services.runtime import Services
from bot.telegram.views.texts import (
    DASHBOARD_BAD_INIT_DATA,
    DASHBOARD_BAD_PERIOD,
    DASHBOARD_EXPIRED,
    DASHBOARD_NO_INIT_DATA,
    DASHBOARD_NO_SUCH_ACCOUNT,
    DASHBOARD_NOT_CONNECTED,
    DASHBOARD_NOT_FOUND,
    DASHBOARD_PRIVATE,
    error_sentence,
)
from bot.telegram.views.translator import ENGLISH, Translator, translator

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
API = f"{MINIAPP_PATH}/api"
AUTH_SCHEME = "tma "
MAX_ACCOUNT_ID = 2**63 - 1
# Telegram's web clients embed the Mini App in a frame; nobody else may.
FRAME_ANCESTORS = "https://web.telegram.org https://*.telegram.org"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        f"frame-ancestors {FRAME_ANCESTORS}",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The user inside the init data, and their settings: the language their answers are in (the
# one they chose with /language, else their Telegram `language_code`, as the bot resolves it).
UserHandler = Callable[[web.Request, WebAppUser, ChatSettings], Awaitable[web.Response]]


def json_response(body: JSON, status: int = 200) -> web.Response:
    response = web.Response(
        text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def error_response(sentence: str, status: int) -> web.Response:
    return json_response({"error": sentence}, status)


@web.middleware
async def page_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The Mini App's own headers on everything under /app (the page, its files, its data)."""
    path = request.path
    if not (path == MINIAPP_PATH or path.startswith(MINIAPP_PATH + "/")):
        return await handler(request)
    data = path.startswith(API + "/")
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        if not data:
            raise
        response = error_response(ENGLISH(DASHBOARD_NOT_FOUND), 404)  # nobody known: English
    except web.HTTPException as error:
        _add_headers(error, data)
        raise
    _add_headers(response, data)
    return response


def _add_headers(response: web.StreamResponse, data: bool) -> None:
    response.headers.update(PAGE_HEADERS)
    if data:
        response.headers["Cache-Control"] = "no-store"
    elif "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-cache"  # revalidated: a new version shows at once


class MiniApp:
    def __init__(self, settings: Settings, services: Services, static_dir: Path = STATIC_DIR):
        assert settings.telegram_bot_token is not None
        self._settings = settings
        self._services = services
        self._static_dir = static_dir
        self._key = secret_key(settings.telegram_bot_token.get_secret_value())
        self._refused = EveryInterval(
            logger, logging.INFO, "miniapp: refused a data request without valid init data"
        )

    def add_to(self, app: web.Application) -> None:
        app.middlewares.append(page_headers)
        app.router.add_get(MINIAPP_PATH, self._page)
        app.router.add_get(MINIAPP_PATH + "/", self._page)
        app.router.add_static(MINIAPP_PATH + "/static", self._static_dir, append_version=False)
        app.router.add_get(f"{API}/labels", self._labels)
        app.router.add_get(f"{API}/portfolio", self._authorized(self._portfolio))
        app.router.add_post(f"{API}/refresh", self._authorized(self._refresh))
        app.router.add_get(f"{API}/accounts/{{account_id}}", self._authorized(self._account))
        app.router.add_get(
            f"{API}/accounts/{{account_id}}/history", self._authorized(self._history)
        )

    async def _page(self, request: web.Request) -> web.StreamResponse:
        index = self._static_dir / "index.html"
        if not index.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(index)

    async def _labels(self, request: web.Request) -> web.Response:
        """The page's own words before anyone is let in, in the language the init data claims
        (unchecked: the words are the same for everyone; no user data goes out). The data
        answers carry them again in the user's own language (their /language choice wins)."""
        header = request.headers.get("Authorization", "")
        claimed = (
            claimed_language_code(header[len(AUTH_SCHEME) :])
            if header.startswith(AUTH_SCHEME)
            else None
        )
        t = _told(claimed)
        return json_response({"language": t.language, "labels": dict(labels_json(t))})

    # -- who is asking ------------------------------------------------------------------------

    def _authorized(self, handler: UserHandler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            header = request.headers.get("Authorization", "")
            if not header.startswith(AUTH_SCHEME):
                return error_response(ENGLISH(DASHBOARD_NO_INIT_DATA), 401)
            init_data = header[len(AUTH_SCHEME) :]
            try:
                user = validated_user(
                    init_data,
                    self._key,
                    now=time.time(),
                    max_age=self._settings.miniapp_auth_max_age_seconds,
                )
            except InitDataRefused as refused:
                self._refused.note()
                sentence = DASHBOARD_EXPIRED if refused.expired else DASHBOARD_BAD_INIT_DATA
                return error_response(_told(claimed_language_code(init_data))(sentence), 401)
            allowed = self._settings.allowed_user_ids
            if allowed and user.id not in allowed:
                # nothing is stored for someone turned away: their Telegram language words it
                return error_response(_told(user.language_code)(DASHBOARD_PRIVATE), 403)
            chat = await self._services.chat_settings.settings(
                user.id, language_code=user.language_code
            )
            return await handler(request, user, chat)

        return checked

    # -- the data -----------------------------------------------------------------------------

    async def _last_known(self, user: WebAppUser, t: Translator) -> list[LastKnown] | web.Response:
        """The user's last known figures, or the answer saying why there are none."""
        try:
            return await self._services.portfolio.last_known(user.id)
        except NotConnected:
            return _not_connected(t)
        except FAILURES as error:
            return error_response(error_sentence(t, error), 502)

    async def _portfolio(
        self, request: web.Request, user: WebAppUser, chat: ChatSettings
    ) -> web.Response:
        t = translator(chat.language)
        known = await self._last_known(user, t)
        if isinstance(known, web.Response):
            return known
        figures = [AccountFigures(k.account, k.summary, k.taken_at) for k in known]
        return json_response(
            portfolio_json(t, _user(user), figures, [_as_result(k) for k in known], _now())
        )

    async def _refresh(
        self, request: web.Request, user: WebAppUser, chat: ChatSettings
    ) -> web.Response:
        """As /refresh all: under the same cooldown and per-key limiter, then the portfolio;
        an account that did not answer keeps its last known figures, and a notice says why."""
        t = translator(chat.language)
        known = await self._last_known(user, t)
        if isinstance(known, web.Response):
            return known
        now = _now()
        try:
            results = await self._services.accounts.refresh_all(user.id)
        except NotConnected:
            return _not_connected(t)
        except FAILURES as error:
            figures = [AccountFigures(k.account, k.summary, k.taken_at, failed=True) for k in known]
            body = portfolio_json(
                t,
                _user(user),
                figures,
                [_as_result(k) for k in known],
                now,
                error_sentence(t, error),
            )
            return json_response(body)
        last = {k.account.account_id: k for k in known}
        figures = []
        notice = None
        for result in results:
            if result.summary is not None:
                figures.append(AccountFigures(result.account, result.summary, now))
                continue
            notice = notice or error_sentence(t, result.error or Exception())
            before = last.get(result.account.account_id)
            figures.append(
                AccountFigures(
                    result.account,
                    None if before is None else before.summary,
                    None if before is None else before.taken_at,
                    failed=True,
                )
            )
        # The total of what is shown: the fresh figures, and the last known of the accounts
        # that did not answer (all fresh: the total of /refresh all).
        shown = [RefreshResult(f.account, summary=f.summary) for f in figures]
        return json_response(portfolio_json(t, _user(user), figures, shown, now, notice))

    async def _owned(
        self, request: web.Request, user: WebAppUser, t: Translator
    ) -> LastKnown | web.Response:
        """The user's account named in the path, with its last known figures; or the answer."""
        text = request.match_info["account_id"]
        account_id = int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None
        try:
            known = await self._services.portfolio.last_known(user.id)
        except NotConnected:
            return error_response(t(DASHBOARD_NOT_CONNECTED), 404)
        except FAILURES as error:
            return error_response(error_sentence(t, error), 502)
        for entry in known:
            if entry.account.account_id == account_id:
                return entry
        return error_response(t(DASHBOARD_NO_SUCH_ACCOUNT), 404)

    async def _account(
        self, request: web.Request, user: WebAppUser, chat: ChatSettings
    ) -> web.Response:
        t = translator(chat.language)
        owned = await self._owned(request, user, t)
        if isinstance(owned, web.Response):
            return owned
        account_id = owned.account.account_id
        zone = chat.zone
        body = account_json(t, AccountFigures(owned.account, owned.summary, owned.taken_at), _now())
        body.pop("updated_text")
        body.pop("stale")
        (holdings, holdings_notice), profits, bots = await asyncio.gather(
            self._holdings(t, user.id, account_id),
            asyncio.gather(
                *(self._profit(t, user.id, account_id, grouping, zone) for grouping in PROFIT_KEYS)
            ),
            self._bots(t, user.id, account_id),
        )
        body.update(holdings)
        body["profit"] = {
            key: rows for key, (rows, _) in zip(PROFIT_KEYS.values(), profits, strict=True)
        }
        body["bots"] = bots
        notices = [holdings_notice, *(notice for _, notice in profits)]
        notice = next((notice for notice in notices if notice is not None), None)
        if notice is not None:
            body["notice"] = notice
        return json_response(body)

    async def _holdings(
        self, t: Translator, user_id: int, account_id: int
    ) -> tuple[JSON, str | None]:
        """As /holdings shows them, or nothing and the sentence saying why."""
        try:
            return holdings_json(await self._services.holdings.holdings(user_id, account_id)), None
        except FAILURES as error:
            return {"holdings": [], "holdings_total_text": "n/a"}, error_sentence(t, error)

    async def _bots(self, t: Translator, user_id: int, account_id: int) -> JSON:
        """Its bots and active deals as /bots and /deals show them, or the sentence saying why
        not (a key without Bots read, 3Commas failing)."""
        try:
            report, deals = await asyncio.gather(
                self._services.bots.bots(user_id, account_id),
                self._services.bots.deals(user_id, account_id),
            )
        except FAILURES as error:
            return {"message": error_sentence(t, error)}
        return bots_json(report.accounts[0], deals)

    async def _profit(
        self, t: Translator, user_id: int, account_id: int, grouping: str, zone: ZoneInfo
    ) -> tuple[list[JSON], str | None]:
        """The rows of /profit by `grouping`, or none and the sentence saying why."""
        try:
            table = await self._services.profit.profit(user_id, account_id, grouping, zone)
        except FAILURES as error:
            return [], error_sentence(t, error)
        return profit_rows(t, table), None

    async def _history(
        self, request: web.Request, user: WebAppUser, chat: ChatSettings
    ) -> web.Response:
        t = translator(chat.language)
        period = request.query.get("period", "30d")
        if period not in PERIOD_DAYS:
            return error_response(t(DASHBOARD_BAD_PERIOD), 400)
        owned = await self._owned(request, user, t)
        if isinstance(owned, web.Response):
            return owned
        zone = chat.zone
        try:
            history = await self._services.history.balance_history(
                user.id, owned.account.account_id, period, zone
            )
        except FAILURES as error:
            return json_response(empty_history_json(period, error_sentence(t, error)))
        return json_response(history_json(t, history))


def _now() -> datetime:
    return datetime.now(UTC)


def _user(user: WebAppUser) -> dict[str, Any]:
    return {"id": user.id, "first_name": user.first_name}


def _not_connected(t: Translator) -> web.Response:
    return json_response(
        {"connected": False, "language": t.language, "message": t(DASHBOARD_NOT_CONNECTED)}
    )


def _as_result(known: LastKnown) -> RefreshResult:
    return RefreshResult(account=known.account, summary=known.summary)


def _told(language_code: str | None) -> Translator:
    """The language of someone not let in: their Telegram one, else English."""
    return translator(supported(language_code) or DEFAULT_LANGUAGE)
