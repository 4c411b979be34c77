"""The bots, grid bots and deals of one 3Commas key, as the stand-in serves them.

Demo data appears for an account the first time it is asked about (seeded by its id, the same
every run) unless a test set its own. Deals close through `close_deal`, with the `status`
values 3Commas documents for each way a deal ends; the bot's counters and the account's
profit of today follow, as they do at 3Commas.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

CENT = Decimal("0.01")
# The documented `limit` of each list: (default, maximum).
BOTS_LIMITS = (50, 100)
GRID_BOTS_LIMITS = (10, 1000)
DEALS_LIMITS = (50, 1000)
DEAL_SCOPES = ("active", "finished", "completed", "cancelled", "failed")
DEAL_ORDERS = ("created_at", "updated_at", "closed_at", "profit", "profit_percentage")


class DealClose(StrEnum):
    """How a deal ends: its `status` at 3Commas once closed."""

    TAKE_PROFIT = "completed"
    STOP_LOSS = "stop_loss_finished"
    PANIC_SELL = "panic_sold"
    LIQUIDATION = "liquidated"
    FAILED = "failed"
    CANCELLED = "cancelled"


LOCALIZED = {
    DealClose.TAKE_PROFIT: "Completed",
    DealClose.STOP_LOSS: "Stop Loss",
    DealClose.PANIC_SELL: "Closed at Market Price",
    DealClose.LIQUIDATION: "Liquidated",
    DealClose.FAILED: "Failed",
    DealClose.CANCELLED: "Cancelled",
}
CLOSED_STATUSES = frozenset(kind.value for kind in DealClose)
# The result of a closed deal, in % of its bought volume, when the caller gives none
# (None: the deal's unrealized result at the moment it closes).
DEFAULT_RESULT: dict[DealClose, Decimal | None] = {
    DealClose.TAKE_PROFIT: Decimal("1.5"),
    DealClose.STOP_LOSS: Decimal("-3"),
    DealClose.PANIC_SELL: None,
    DealClose.LIQUIDATION: Decimal("-45"),
    DealClose.FAILED: Decimal(0),
    DealClose.CANCELLED: Decimal(0),
}
# The timer mode closes deals in this order, mostly take profits, as in real life.
DEMO_CLOSE_CYCLE = (
    DealClose.TAKE_PROFIT,
    DealClose.TAKE_PROFIT,
    DealClose.STOP_LOSS,
    DealClose.TAKE_PROFIT,
    DealClose.PANIC_SELL,
    DealClose.TAKE_PROFIT,
    DealClose.LIQUIDATION,
    DealClose.FAILED,
    DealClose.CANCELLED,
)

# (name, pairs, enabled): the DCA bots every demo account gets.
DEMO_DCA_BOTS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("BTC Long · RSI-7 start", ("USDT_BTC",), True),
    ("ETH Safe DCA", ("USDT_ETH",), True),
    ("Alt Scalper 1.5%", ("USDT_SOL", "USDT_ADA", "USDT_LINK", "USDT_DOT"), True),
    ("DOGE Moonshot (paused)", ("USDT_DOGE",), False),
)
DEMO_GRID_BOT = ("BTC/USDT Grid", "USDT_BTC")


class BadQuery(ValueError):
    """A query parameter 3Commas would refuse (a limit past the documented maximum, say)."""


def stamp(moment: datetime) -> str:
    """A time as 3Commas writes it: `2024-10-30T06:17:22.363Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0))


@dataclass
class BotsBook:
    """The bots side of one key: per account its DCA bots, grid bots, deals and today's
    bot profit; `bots_read` False makes every bots call answer 403, like a key without
    BOTS_READ."""

    now: Callable[[], datetime]
    ids: Iterator[int]  # deal and bot ids, shared by the stand-in's keys
    bots_read: bool = True
    dca_bots: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    grid_bots: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    deals: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    today_usd: dict[int, Decimal] = field(default_factory=dict)

    def _next_id(self) -> int:
        return next(self.ids)

    # -- demo data ---------------------------------------------------------------------------

    def ensure(self, account_id: int, account_name: str | None) -> None:
        """Demo bots and deals for an account never asked about nor set."""
        if account_id in self.dca_bots:
            return
        rng = random.Random(account_id)
        now = self.now()
        bots: list[dict[str, Any]] = []
        deals: list[dict[str, Any]] = []
        for name, pairs, enabled in DEMO_DCA_BOTS:
            bot = dca_bot(
                self._next_id(),
                account_id,
                account_name,
                name,
                list(pairs),
                enabled=enabled,
                finished_count=rng.randint(20, 400),
                finished_profit=Decimal(str(round(rng.uniform(-40, 900), 2))),
            )
            bots.append(bot)
            if not enabled:
                continue
            for _ in range(rng.randint(1, 3)):
                age = timedelta(minutes=rng.randint(20, 4 * 24 * 60))
                volume = Decimal(str(round(rng.uniform(40, 900), 2)))
                percent = Decimal(str(round(rng.gauss(-0.4, 2.2), 2)))
                deals.append(
                    active_deal(self._next_id(), bot, rng.choice(pairs), now - age, volume, percent)
                )
            for _ in range(2):  # closed long ago: never news
                age = timedelta(days=rng.randint(2, 20))
                volume = Decimal(str(round(rng.uniform(40, 900), 2)))
                deal = active_deal(self._next_id(), bot, rng.choice(pairs), now - age, volume, 0)
                close(deal, DealClose.TAKE_PROFIT, None, now - age + timedelta(hours=5))
                deals.append(deal)
        self.dca_bots[account_id] = bots
        self.grid_bots.setdefault(
            account_id,
            [
                grid_bot(
                    self._next_id(),
                    account_id,
                    account_name,
                    *DEMO_GRID_BOT,
                    profit=Decimal(str(round(rng.uniform(5, 300), 8))),
                )
            ],
        )
        self.deals.setdefault(account_id, deals)
        self.today_usd.setdefault(account_id, Decimal(str(round(rng.uniform(-15, 60), 2))))
        self.recount(account_id)

    def recount(self, account_id: int) -> None:
        """Each bot's active deals counted from the deals served, as 3Commas counts them."""
        for bot in self.dca_bots.get(account_id, []):
            _recount(bot, self.deals.get(account_id, []))

    # -- what the endpoints answer -----------------------------------------------------------

    def list_bots(self, account_id: int | None, query: Mapping[str, str]) -> list[dict[str, Any]]:
        scope = query.get("scope")
        if scope not in (None, "", "enabled", "enable", "disabled"):
            raise BadQuery("scope must be enabled or disabled")
        rows = [bot for bots in self._of(self.dca_bots, account_id) for bot in bots]
        if scope in ("enabled", "enable", "disabled"):
            rows = [bot for bot in rows if bot["is_enabled"] is (scope != "disabled")]
        if query.get("sort_by") == "profit":
            rows.sort(key=lambda bot: -_money(bot["finished_deals_profit_usd"]))
        return _page(rows, query, BOTS_LIMITS)

    def list_grid_bots(
        self, account_ids: list[int] | None, query: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        state = query.get("state")
        if state not in (None, "", "enabled", "disabled"):
            raise BadQuery("state must be enabled or disabled")
        if account_ids is None:
            rows = [bot for bots in self.grid_bots.values() for bot in bots]
        else:
            rows = [bot for a in account_ids for bot in self.grid_bots.get(a, [])]
        if state:
            rows = [bot for bot in rows if bot["is_enabled"] is (state == "enabled")]
        return _page(rows, query, GRID_BOTS_LIMITS)

    def stats(self, account_id: int | None) -> dict[str, Any]:
        """bots/stats: JSON numbers in `profits_in_usd`, strings per currency in `*_stats`."""
        accounts = list(self.dca_bots) if account_id is None else [account_id]
        overall = sum(
            (
                _money(b["finished_deals_profit_usd"])
                for a in accounts
                for b in self.dca_bots.get(a, [])
            ),
            Decimal(0),
        )
        today = sum((self.today_usd.get(a, Decimal(0)) for a in accounts), Decimal(0))
        active = [d for a in accounts for d in self.deals.get(a, []) if not _closed(d)]
        unrealized = sum((_money(d["actual_usd_profit"]) for d in active), Decimal(0))
        locked = sum((_money(d["bought_volume"]) for d in active), Decimal(0))
        return {
            "overall_stats": {"USDT": str(overall)},
            "today_stats": {"USDT": str(today)},
            "profits_in_usd": {
                "overall_usd_profit": overall,
                "today_usd_profit": today,
                "active_deals_usd_profit": unrealized,
                "funds_locked_in_active_deals": locked,
            },
        }

    def list_deals(self, account_id: int | None, query: Mapping[str, str]) -> list[dict[str, Any]]:
        rows = [deal for deals in self._of(self.deals, account_id) for deal in deals]
        bot_id = query.get("bot_id")
        if bot_id:
            rows = [deal for deal in rows if str(deal["bot_id"]) == bot_id]
        scope = query.get("scope") or None
        if scope is not None and scope not in DEAL_SCOPES:
            raise BadQuery(f"scope must be one of {', '.join(DEAL_SCOPES)}")
        if scope == "active":
            rows = [deal for deal in rows if not _closed(deal)]
        elif scope == "finished":
            rows = [deal for deal in rows if _closed(deal)]
        elif scope is not None:
            rows = [deal for deal in rows if deal["status"] == scope]
        created_from = _query_time(query, "from")
        created_to = _query_time(query, "to")
        if created_from is not None:
            rows = [d for d in rows if _created(d) >= created_from]
        if created_to is not None:
            rows = [d for d in rows if _created(d) <= created_to]
        order = query.get("order") or "created_at"
        if order not in DEAL_ORDERS:
            raise BadQuery(f"order must be one of {', '.join(DEAL_ORDERS)}")
        direction = (query.get("order_direction") or "DESC").upper()
        if direction not in ("ASC", "DESC"):
            raise BadQuery("order_direction must be ASC or DESC")
        return _page(_ordered(rows, order, descending=direction == "DESC"), query, DEALS_LIMITS)

    def _of(
        self, by_account: dict[int, list[dict[str, Any]]], account_id: int | None
    ) -> list[list[dict[str, Any]]]:
        if account_id is None:
            return list(by_account.values())
        return [by_account.get(account_id, [])]

    # -- what happens to deals ---------------------------------------------------------------

    def find_deal(self, deal_id: int) -> tuple[int, dict[str, Any]]:
        for account_id, deals in self.deals.items():
            for deal in deals:
                if deal["id"] == deal_id:
                    return account_id, deal
        raise KeyError(f"no deal {deal_id}")

    def close_deal(
        self, deal_id: int, kind: DealClose, usd_profit: Decimal | None = None
    ) -> dict[str, Any]:
        """Close an active deal the way `kind` says; the bot's counters and the account's
        profit of today follow."""
        account_id, deal = self.find_deal(deal_id)
        if _closed(deal):
            raise ValueError(f"deal {deal_id} is closed already")
        close(deal, kind, usd_profit, self.now())
        self.today_usd[account_id] = self.today_usd.get(account_id, Decimal(0)) + _money(
            deal["usd_final_profit"]
        )
        for bot in self.dca_bots.get(account_id, []):
            if bot["id"] == deal["bot_id"]:
                bot["finished_deals_profit_usd"] = str(
                    _money(bot["finished_deals_profit_usd"]) + _money(deal["usd_final_profit"])
                )
                bot["finished_deals_count"] = str(int(bot["finished_deals_count"]) + 1)
                _recount(bot, self.deals[account_id])
        return deal

    def open_deal(self, account_id: int, bot_id: int, volume: Decimal) -> dict[str, Any]:
        """A new active deal of a bot, just started."""
        bot = next(b for b in self.dca_bots[account_id] if b["id"] == bot_id)
        deal = active_deal(self._next_id(), bot, bot["pairs"][0], self.now(), volume, 0)
        self.deals[account_id].append(deal)
        _recount(bot, self.deals[account_id])
        return deal

    def oldest_active_deal(self) -> tuple[int, dict[str, Any]] | None:
        active = [(a, d) for a, deals in self.deals.items() for d in deals if not _closed(d)]
        if not active:
            return None
        return min(active, key=lambda item: (_created(item[1]), item[1]["id"]))


def dca_bot(
    bot_id: int,
    account_id: int,
    account_name: str | None,
    name: str,
    pairs: list[str],
    *,
    enabled: bool = True,
    finished_count: int = 0,
    finished_profit: Decimal = Decimal(0),
) -> dict[str, Any]:
    """A DCA bot as `GET /ver1/bots` sends it (the fields the bot reads, and a few more)."""
    return {
        "id": bot_id,
        "account_id": account_id,
        "account_name": account_name,
        "is_enabled": enabled,
        "name": name,
        "pairs": pairs,
        "strategy": "long",
        "type": "Bot::SingleBot" if len(pairs) == 1 else "Bot::MultiBot",
        "max_active_deals": 3,
        "active_deals_count": 0,
        "active_deals_usd_profit": "0.0",
        "finished_deals_count": str(finished_count),
        "finished_deals_profit_usd": str(finished_profit),
        "take_profit": "1.5",
        "base_order_volume": "50.0",
        "safety_order_volume": "15.0",
        "created_at": "2024-10-24T21:53:26.994Z",
        "updated_at": "2024-10-30T06:11:52.685Z",
    }


def grid_bot(
    bot_id: int,
    account_id: int,
    account_name: str | None,
    name: str,
    pair: str,
    *,
    profit: Decimal = Decimal(0),
    enabled: bool = True,
) -> dict[str, Any]:
    """A grid bot as `GET /ver1/grid_bots` sends it."""
    return {
        "id": bot_id,
        "account_id": account_id,
        "account_name": account_name,
        "name": name,
        "pair": pair,
        "is_enabled": enabled,
        "current_profit": str(profit),
        "current_profit_usd": str(profit),
        "total_profits_count": str(max(0, int(profit))),
        "profit_percentage": str((profit / 20).quantize(Decimal("0.0001"))),
        "unrealized_profit_loss": "-3.41",
        "created_at": "2024-09-02T10:11:12.000Z",
        "updated_at": "2024-10-30T06:11:52.685Z",
    }


def active_deal(
    deal_id: int,
    bot: Mapping[str, Any],
    pair: str,
    created_at: datetime,
    bought_volume: Decimal,
    profit_percentage: Decimal | int,
) -> dict[str, Any]:
    """An active deal of `bot` on `pair` ("USDT_SOL"), up or down by `profit_percentage`."""
    quote, _, base = pair.partition("_")
    percentage = Decimal(profit_percentage)
    profit = (bought_volume * percentage / 100).quantize(Decimal("0.00000001"))
    return {
        "id": deal_id,
        "type": "Deal",
        "bot_id": bot["id"],
        "bot_name": bot["name"],
        "account_id": bot["account_id"],
        "account_name": bot["account_name"],
        "pair": pair,
        "from_currency": quote,
        "to_currency": base,
        "status": "bought",
        "localized_status": "Active",
        "finished?": False,
        "strategy": "long",
        "market_type": "spot",
        "created_at": stamp(created_at),
        "updated_at": stamp(created_at),
        "closed_at": None,
        "bought_volume": str(bought_volume),
        "sold_volume": "0.0",
        "final_profit": "0.0",
        "final_profit_percentage": "0",
        "usd_final_profit": "0.0",
        "actual_profit": str(profit),
        "actual_usd_profit": str(profit),
        "actual_profit_percentage": str(percentage),
    }


def close(deal: dict[str, Any], kind: DealClose, usd_profit: Decimal | None, at: datetime) -> None:
    """Turn an active deal into one closed the way `kind` says, at `at`."""
    bought = _money(deal["bought_volume"])
    if usd_profit is None:
        percent = DEFAULT_RESULT[kind]
        usd_profit = (
            _money(deal["actual_usd_profit"])
            if percent is None
            else (bought * percent / 100).quantize(CENT)
        )
    percentage = (usd_profit * 100 / bought).quantize(CENT) if bought else Decimal(0)
    deal.update(
        status=kind.value,
        localized_status=LOCALIZED[kind],
        **{"finished?": True},
        closed_at=stamp(at),
        updated_at=stamp(at),
        sold_volume=str(Decimal(0) if kind is DealClose.CANCELLED else bought + usd_profit),
        final_profit=str(usd_profit),
        final_profit_percentage=str(percentage),
        usd_final_profit=str(usd_profit),
        actual_profit=str(usd_profit),
        actual_usd_profit=str(usd_profit),
        actual_profit_percentage=str(percentage),
    )


def _recount(bot: dict[str, Any], deals: list[dict[str, Any]]) -> None:
    active = [d for d in deals if d["bot_id"] == bot["id"] and not _closed(d)]
    bot["active_deals_count"] = len(active)
    bot["active_deals_usd_profit"] = str(
        sum((_money(d["actual_usd_profit"]) for d in active), Decimal(0))
    )


def _closed(deal: Mapping[str, Any]) -> bool:
    return deal.get("status") in CLOSED_STATUSES


def _created(deal: Mapping[str, Any]) -> datetime:
    return _parse_stamp(deal.get("created_at")) or datetime.min.replace(tzinfo=UTC)


def _query_time(query: Mapping[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if not raw:
        return None
    try:
        if raw.isdigit():
            return datetime.fromtimestamp(int(raw), UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise BadQuery(f"{name} must be a time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sort_value(deal: Mapping[str, Any], order: str) -> Any:
    if order in ("created_at", "updated_at", "closed_at"):
        return _parse_stamp(deal.get(order))
    field_name = "final_profit" if order == "profit" else "final_profit_percentage"
    return _money(deal.get(field_name))


def _ordered(rows: list[dict[str, Any]], order: str, *, descending: bool) -> list[dict[str, Any]]:
    """Ordered by `order`, ties by id in the same direction; deals without the field last."""
    known = [row for row in rows if _sort_value(row, order) is not None]
    unknown = [row for row in rows if _sort_value(row, order) is None]
    known.sort(key=lambda row: (_sort_value(row, order), row["id"]), reverse=descending)
    unknown.sort(key=lambda row: row["id"], reverse=descending)
    return known + unknown


def _page(
    rows: list[dict[str, Any]], query: Mapping[str, str], limits: tuple[int, int]
) -> list[dict[str, Any]]:
    default, maximum = limits
    try:
        limit = int(query.get("limit") or default)
        offset = int(query.get("offset") or 0)
    except ValueError:
        raise BadQuery("limit and offset must be integers") from None
    if not 1 <= limit <= maximum:
        raise BadQuery(f"limit must be 1 to {maximum}")
    if offset < 0:
        raise BadQuery("offset must be 0 or more")
    return rows[offset : offset + limit]


def new_ids(start: int = 2_293_916_474) -> Iterator[int]:
    return itertools.count(start)
