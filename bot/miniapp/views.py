"""The dashboard's data as JSON: every figure formatted by the bot's own view helpers, so it
reads as the commands show it. Numbers go out only for plotting (the chart's points)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.services.accounts import RefreshResult
from bot.services.bots import AccountBots, DealsReport
from bot.services.history import BalanceHistory
from bot.services.holdings import Holdings
from bot.services.portfolio import PortfolioTotal, portfolio_total
from bot.services.profit import ProfitTable
from bot.services.records import KnownAccount
from bot.services.summary import AccountSummary
from bot.telegram.views.html import clean_name
from bot.telegram.views.numbers import (
    format_amount,
    format_money,
    format_money_rounded,
    format_percentage,
)
from bot.telegram.views.render import balance_text, change_text, counted_accounts
from bot.telegram.views.render_bots import pair_text, signed_usd
from bot.telegram.views.render_history import period_label, profit_cells
from bot.telegram.views.render_holdings import share_text
from bot.telegram.views.texts import (
    CHANGE_NET_OF_DEPOSITS,
    DASHBOARD_DEPOSIT,
    DASHBOARD_LABELS,
    DASHBOARD_NO_FIGURES,
    DASHBOARD_TOTAL,
    DASHBOARD_WITHDRAWAL,
    updated_ago,
)
from bot.telegram.views.translator import Translator

JSON = dict[str, Any]
# The figures of a refresh older than this are shown as stale until the next one.
STALE_AFTER_SECONDS = 15 * 60
FORMATTED_KEPT = 4096  # accounts' and totals' formatted figures kept
MAX_COINS = 500
MAX_BOTS = 200  # bots and deals sent at most; /bots and /deals show fewer  # rows of holdings sent; 3Commas lists far fewer for any real account
PROFIT_KEYS = {"days": "day", "weeks": "week", "months": "month"}


@dataclass(frozen=True)
class AccountFigures:
    """One account as the dashboard lists it: its figures (None: never refreshed), and when."""

    account: KnownAccount
    summary: AccountSummary | None
    taken_at: datetime | None
    failed: bool = False  # a refresh asked for now did not answer: these are older figures


def sign(value: Decimal | None) -> int:
    if value is None or value.is_zero():
        return 0
    return 1 if value > 0 else -1


def _name(account: KnownAccount) -> str:
    return clean_name(account.name)


def account_json(t: Translator, figures: AccountFigures, now: datetime) -> JSON:
    stale = (
        figures.failed
        or figures.taken_at is None
        or (now - figures.taken_at).total_seconds() > STALE_AFTER_SECONDS
    )
    return {
        **_account_figures(figures.account, figures.summary),
        "updated_text": updated_ago(t, figures.taken_at, now),
        "stale": stale,
    }


# Formatting is most of a dashboard's cost; the same figures are asked for again and again
# until the next refresh (records are frozen, so a changed one is a new key).
@functools.lru_cache(maxsize=FORMATTED_KEPT)
def _account_figures(account: KnownAccount, summary: AccountSummary | None) -> JSON:
    return {
        "id": account.account_id,
        "name": _name(account),
        "exchange": clean_name(account.exchange, fallback=""),
        "balance_text": "n/a" if summary is None else balance_text(summary, with_usd=True),
        **_today(summary),
    }


def _today(summary: AccountSummary | None) -> JSON:
    if summary is None:
        return {"today_text": "n/a", "today_sign": 0}
    amount, percent = summary.day_profit, summary.day_profit_percentage
    return {
        "today_text": change_text(amount, percent, summary.currency),
        "today_sign": sign(amount if amount is not None else percent),
    }


@functools.lru_cache(maxsize=FORMATTED_KEPT)
def total_json(t: Translator, total: PortfolioTotal) -> JSON:
    if not total.answered:
        return {
            "balance_text": "n/a",
            "today_text": "n/a",
            "today_sign": 0,
            "note": t(DASHBOARD_NO_FIGURES),
        }
    day = total.today
    return {
        "balance_text": format_money(total.balance_usd, "USD"),
        "today_text": "n/a" if day is None else change_text(day.amount, day.percent, "USD"),
        "today_sign": 0 if day is None else sign(day.amount),
        "note": t(DASHBOARD_TOTAL, accounts=counted_accounts(t, total.answered, total.accounts)),
    }


@functools.cache
def labels_json(t: Translator) -> dict[str, str]:
    """The page's own words in the user's language, for the page to show."""
    return {key: t(label) for key, label in DASHBOARD_LABELS.items()}


def portfolio_json(
    t: Translator,
    user: JSON,
    accounts: Sequence[AccountFigures],
    total_of: Sequence[RefreshResult],
    now: datetime,
    notice: str | None = None,
) -> JSON:
    """`total_of`: the accounts the total adds up, as /refresh all adds them up. Its sentences
    are in the user's language (`language`), and so are the page's words (`labels`)."""
    body: JSON = {
        "connected": True,
        "language": t.language,
        "labels": dict(labels_json(t)),
        "user": user,
        "total": dict(total_json(t, portfolio_total(total_of))),
        "accounts": [account_json(t, figures, now) for figures in accounts],
        "updated_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if notice is not None:
        body["notice"] = notice
    return body


def holdings_json(holdings: Holdings) -> JSON:
    return {
        "holdings": [
            {
                "coin": clean_name(coin.code, fallback="?", limit=10),
                "name": clean_name(coin.name, fallback=""),
                "amount_text": "?" if coin.amount is None else format_amount(coin.amount),
                "value_text": (
                    "?" if coin.usd_value is None else format_money_rounded(coin.usd_value, "USD")
                ),
                "share_text": share_text(coin.share),
            }
            for coin in holdings.coins[:MAX_COINS]
        ],
        "holdings_total_text": format_money(holdings.total_usd, "USD"),
    }


def profit_rows(t: Translator, table: ProfitTable) -> list[JSON]:
    """The rows of /profit for the same grouping, newest first."""
    rows = []
    for row in table.rows:
        profit, percent = profit_cells(t, row.result)
        rows.append(
            {
                "label": period_label(t, row, table.grouping),
                "profit_text": profit,
                "pct_text": percent,
                "sign": 0 if row.result is None else sign(row.result.change),
            }
        )
    return rows


def history_json(t: Translator, history: BalanceHistory) -> JSON:
    net = history.net
    change = change_text(net.change, net.percent, "USD")
    return {
        "period": history.period,
        "points": [[int(s.at.timestamp()), float(s.usd)] for s in history.samples],
        # what the page shows for the point under a finger: the page formats no money itself
        "point_texts": [format_money(s.usd, "USD") for s in history.samples],
        "deposits": [
            {
                "t": int(s.at.timestamp()),
                "text": t(
                    DASHBOARD_WITHDRAWAL if s.is_withdrawal else DASHBOARD_DEPOSIT,
                    amount=format_money(s.deposit, "USD", signed=True),
                ),
            }
            for s in history.transfers
        ],
        "first_text": format_money(net.start_usd, "USD"),
        "last_text": format_money(net.end_usd, "USD"),
        "change_text": change,
        # what the change is, worded as /chart's caption words it: deposits are left out
        "change_sentence": t(CHANGE_NET_OF_DEPOSITS, change=change),
    }


def empty_history_json(period: str, notice: str) -> JSON:
    return {
        "period": period,
        "points": [],
        "point_texts": [],
        "deposits": [],
        "first_text": "n/a",
        "last_text": "n/a",
        "change_text": "n/a",
        "change_sentence": "",
        "notice": notice,
    }


def bots_json(bots: AccountBots, deals: DealsReport) -> JSON:
    """An account's bots and active deals, as /bots and /deals show them."""
    profits = bots.profits
    return {
        "today_text": signed_usd(profits.today),
        "overall_text": signed_usd(profits.overall),
        "unrealized_text": signed_usd(profits.unrealized),
        "rows": [
            {
                "name": clean_name(bot.name),
                "profit_text": signed_usd(bot.profit),
                "active_deals": bot.active_deals,
            }
            for bot in bots.bots[:MAX_BOTS]
        ],
        "deals": [
            {
                "pair": pair_text(deal.pair, deal.base, deal.quote),
                "bot": clean_name(deal.bot_name),
                "profit_text": signed_usd(deal.profit_usd),
                "pct_text": (
                    ""
                    if deal.profit_percentage is None
                    else format_percentage(deal.profit_percentage)
                ),
                "sign": sign(deal.profit_usd),
            }
            for deal in deals.deals[:MAX_BOTS]
        ],
    }
