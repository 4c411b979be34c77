"""The deal feed, end to end against the stand-ins on a manual clock: `/subscribe … deals` posts
each deal that closes once (each way of closing, hostile names, quiet, losses), across a
restart and downtime, through 5xx and 429, 30 at once; a key without Bots read or a
disconnected owner is told once and paused; one poll per key per period."""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.services.deal_feed import GOLDEN, next_poll
from bot.telegram.context import BotApplication
from standins.botapi import SentMessage
from standins.bots_and_deals import DealClose, active_deal, close, dca_bot
from standins.demo import DEMO_API_KEY, DEMO_USER_ID, Sandbox
from standins.threecommas_standin import Fault
from tests.support.bot import Chat, bot_running
from tests.support.clock import ManualClock

GROUP = -100800
ADMIN_USER = 3003
BINANCE = 12345678  # My Binance US
FUTURES = 23456789  # Binance Futures
PERIOD = 60
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Feed:
    """The bot on a manual clock that the 3Commas stand-in shares."""

    sandbox: Sandbox
    clock: ManualClock
    app: BotApplication | None = None

    @classmethod
    def at_start(cls, sandbox: Sandbox) -> Feed:
        """At START, the 3Commas stand-in reading the same clock."""
        clock = ManualClock(START)
        sandbox.threecommas.now = clock.now
        return cls(sandbox, clock)

    @property
    def group(self) -> Chat:
        return Chat(
            self.sandbox.botapi,
            user_id=DEMO_USER_ID,
            chat_id=GROUP,
            chat_type="group",
            first_name="Alice",
        )

    async def poll(self, seconds: float = PERIOD) -> None:
        """The clock moves on; returns once every poll that fell due has run and is re-armed."""
        self.clock.advance(seconds)
        assert self.app is not None
        feed = self.app.bot_data.services.deal_feed
        await self.sandbox.botapi.wait_for(feed.idle)

    def posts(self, chat_id: int = GROUP) -> list[SentMessage]:
        """The feed's posts in the chat (not answers to commands)."""
        return [m for m in self.sandbox.botapi.messages(chat_id) if _is_deal_post(m.plain)]

    def active_deal(self, account_id: int = BINANCE) -> dict[str, Any]:
        book = self.sandbox.threecommas.book(DEMO_API_KEY, account_id)
        return next(d for d in book.deals[account_id] if d["closed_at"] is None)

    def close(
        self, kind: DealClose = DealClose.TAKE_PROFIT, account_id: int = BINANCE, **options: Any
    ) -> dict[str, Any]:
        deal = self.active_deal(account_id)
        return self.sandbox.threecommas.close_deal(DEMO_API_KEY, deal["id"], kind, **options)

    def open(self, account_id: int = BINANCE, count: int = 1) -> None:
        book = self.sandbox.threecommas.book(DEMO_API_KEY, account_id)
        bot = book.dca_bots[account_id][0]
        for _ in range(count):
            book.open_deal(account_id, bot["id"], Decimal("100"))

    def deal_calls(self) -> int:
        return self.sandbox.threecommas.upstream_calls("/deals")


def _is_deal_post(text: str) -> bool:
    return any(
        mark in text
        for mark in ("Take profit", "Stop-loss", "Panic sell", "Liquidated", "Deal failed")
    ) or ("deals closed" in text or "Cancelled ·" in text)


@contextlib.asynccontextmanager
async def running(feed: Feed, **settings: Any) -> AsyncIterator[BotApplication]:
    async with bot_running(feed.sandbox, clock=feed.clock, **settings) as app:
        feed.app = app
        try:
            yield app
        finally:
            feed.app = None


@pytest.fixture
async def feed(sandbox: Sandbox) -> AsyncIterator[Feed]:
    made = Feed.at_start(sandbox)
    async with running(made):
        await Chat(sandbox.botapi, first_name="Alice").connect()
        yield made


async def subscribe(feed: Feed, text: str = "all deals") -> SentMessage:
    answer = await feed.group.reply(f"/subscribe {text}")
    assert "Deal feed" in answer.plain, answer.plain
    return answer


async def close_a_stop_loss(feed: Feed) -> tuple[dict[str, Any], Decimal]:
    """A deal of My Binance US that ran 2 h 15 min closes at a stop-loss losing $12.34, and a
    poll runs: the deal, and its loss in % of what it bought."""
    feed.clock.advance(1)
    deal = feed.active_deal()
    deal["created_at"] = "2026-06-01T09:45:01.000Z"
    feed.sandbox.threecommas.close_deal(
        DEMO_API_KEY, deal["id"], DealClose.STOP_LOSS, Decimal("-12.34")
    )
    await feed.poll()
    bought = Decimal(deal["bought_volume"])
    return deal, (Decimal("-12.34") * 100 / bought).quantize(Decimal("0.01"))


def db_rows(sandbox: Sandbox, query: str, *params: Any) -> list[tuple[Any, ...]]:
    path = sandbox.settings.database_path
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return list(db.execute(query, params).fetchall())


# --------------------------------------------------------------------------- each way to close


@pytest.mark.parametrize(
    ("kind", "words", "result"),
    [
        (DealClose.TAKE_PROFIT, "✅ Take profit", "Profit: +$"),
        (DealClose.STOP_LOSS, "🛑 Stop-loss", "Loss: -$"),
        (DealClose.PANIC_SELL, "🚨 Panic sell", ": "),
        (DealClose.LIQUIDATION, "💥 Liquidated", "Loss: -$"),
        (DealClose.FAILED, "⚠️ Deal failed", "Profit: $0.00"),
        (DealClose.CANCELLED, "✖️ Cancelled", "Profit: $0.00"),
    ],
)
async def test_each_way_a_deal_closes_is_posted_in_its_own_words(
    feed: Feed, kind: DealClose, words: str, result: str
) -> None:
    answer = await subscribe(feed, "12345678 deals")
    assert "My Binance US" in answer.plain and "every 1 min" in answer.plain
    feed.clock.advance(1)
    deal = feed.close(kind)
    await feed.poll()
    (post,) = feed.posts()
    pair = deal["pair"].split("_")
    assert post.plain.startswith(f"{words} · {pair[1]}/{pair[0]}"), post.plain
    assert f"Bot: {deal['bot_name']}" in post.plain
    assert result in post.plain, post.plain
    assert "ran " in post.plain
    assert not post.disable_notification
    await feed.poll()
    assert len(feed.posts()) == 1, "posted once"


async def test_a_stop_loss_shows_the_loss_in_dollars_and_percent(feed: Feed) -> None:
    await subscribe(feed, "12345678 deals")
    _, percent = await close_a_stop_loss(feed)
    (post,) = feed.posts()
    assert f"Loss: -$12.34 ({percent}%)" in post.plain, post.plain
    assert "ran 2 h 15 min" in post.plain


async def test_deals_closed_before_subscribing_are_never_posted(feed: Feed) -> None:
    feed.close()
    feed.close(account_id=FUTURES)
    feed.clock.advance(1)
    await subscribe(feed)
    for _ in range(3):
        await feed.poll()
    assert feed.posts() == []
    feed.clock.advance(1)
    feed.close(DealClose.STOP_LOSS)
    await feed.poll()
    assert len(feed.posts()) == 1 and "Stop-loss" in feed.posts()[0].plain


async def test_one_account_only_and_all_accounts_name_the_account(feed: Feed) -> None:
    await subscribe(feed, "12345678 deals")
    other = Chat(feed.sandbox.botapi, user_id=DEMO_USER_ID, chat_id=-100801, chat_type="group")
    answer = await other.reply("/subscribe all deals")
    assert "all accounts" in answer.plain
    feed.clock.advance(1)
    feed.close(account_id=FUTURES)
    await feed.poll()
    assert feed.posts() == []
    (post,) = feed.posts(-100801)
    assert "Binance Futures" in post.plain


async def test_a_hostile_bot_name_is_shown_literally(feed: Feed) -> None:
    book = feed.sandbox.threecommas.book(DEMO_API_KEY, BINANCE)
    bot = dca_bot(9_000_001, BINANCE, "My Binance US", "<b>Moon & Co</b>", ["USDT_BTC"])
    book.dca_bots[BINANCE].append(bot)
    deal = active_deal(9_000_002, bot, "USDT_BTC", START, Decimal("250"), 1)
    book.deals[BINANCE].append(deal)
    await subscribe(feed, "12345678 deals")
    feed.clock.advance(1)
    feed.sandbox.threecommas.close_deal(DEMO_API_KEY, deal["id"], DealClose.TAKE_PROFIT)
    await feed.poll()
    (post,) = feed.posts()
    assert "Bot: <b>Moon & Co</b>" in post.plain
    assert "&lt;b&gt;Moon &amp; Co&lt;/b&gt;" in post.text


# --------------------------------------------------------------------------- options


async def test_quiet_posts_without_sound_and_losses_posts_only_losing_closes(feed: Feed) -> None:
    answer = await subscribe(feed, "all deals quiet losses")
    assert "with a loss" in answer.plain and "without sound" in answer.plain
    listing = await feed.group.reply("/subscriptions")
    assert "deals as they close · losses only · quiet" in listing.plain
    assert "watching" in listing.plain
    feed.clock.advance(1)
    feed.close(DealClose.TAKE_PROFIT)
    feed.close(DealClose.STOP_LOSS)
    feed.close(DealClose.TAKE_PROFIT, account_id=FUTURES)
    await feed.poll()
    (post,) = feed.posts()
    assert "Stop-loss" in post.plain and post.disable_notification
    await feed.poll()
    assert len(feed.posts()) == 1


async def test_bad_feed_options_get_a_sentence_and_store_nothing(feed: Feed) -> None:
    answer = await feed.group.reply("/subscribe all deals loud")
    assert "only the words quiet" in answer.plain
    answer = await feed.group.reply("/subscribe all deals quiet quiet")
    assert "at most once" in answer.plain
    answer = await feed.group.reply("/subscribe all every 1h deals")
    assert "/subscribe all deals" in answer.plain
    assert db_rows(feed.sandbox, "SELECT COUNT(*) FROM subscriptions") == [(0,)]


async def test_the_same_feed_twice_is_a_duplicate_and_unsubscribe_ends_it(feed: Feed) -> None:
    await subscribe(feed)
    again = await feed.group.reply("/subscribe all deals quiet")
    assert "already" in again.plain, again.plain
    removed = await feed.group.reply("/unsubscribe 1")
    assert "Subscription #1 (all accounts) removed." in removed.plain
    assert db_rows(feed.sandbox, "SELECT COUNT(*) FROM deal_feeds") == [(0,)]
    feed.clock.advance(1)
    feed.close()
    calls = feed.deal_calls()
    await feed.poll()
    assert feed.posts() == [] and feed.deal_calls() == calls, "no key is polled any more"


async def test_feeds_count_toward_the_subscription_caps(sandbox: Sandbox) -> None:
    made = Feed.at_start(sandbox)
    async with running(made, max_subscriptions_per_chat=1):
        await Chat(sandbox.botapi, first_name="Alice").connect()
        await subscribe(made, "12345678 deals")
        refused = await made.group.reply("/subscribe all deals")
        assert "the most allowed" in refused.plain, refused.plain


async def test_a_feed_in_a_forum_topic_posts_into_that_topic(feed: Feed) -> None:
    forum = Chat(
        feed.sandbox.botapi,
        user_id=DEMO_USER_ID,
        chat_id=-1001000950,
        chat_type="supergroup",
        first_name="Alice",
    )
    feed.sandbox.botapi.send_text(
        "/subscribe all deals",
        user_id=DEMO_USER_ID,
        chat_id=forum.chat_id,
        chat_type="supergroup",
        first_name="Alice",
        message_thread_id=77,
    )
    await feed.sandbox.botapi.wait_for_text(forum.chat_id, "Deal feed")
    feed.clock.advance(1)
    feed.close()
    await feed.poll()
    (post,) = feed.posts(forum.chat_id)
    assert post.message_thread_id == 77


# --------------------------------------------------------------------------- exactly once


async def test_exactly_once_across_a_restart_with_late_deals_of_the_downtime(
    sandbox: Sandbox,
) -> None:
    made = Feed.at_start(sandbox)
    clock = made.clock
    async with running(made):
        await Chat(sandbox.botapi, first_name="Alice").connect()
        await subscribe(made)
        clock.advance(1)
        made.close()
        await made.poll()
        assert len(made.posts()) == 1
    # stopped: deals close meanwhile, one more than a day ago and two within the day
    made.open(count=3)
    clock.advance(3600)
    too_old = made.close(DealClose.STOP_LOSS)
    clock.advance(25 * 3600)
    made.close(DealClose.TAKE_PROFIT)
    clock.advance(600)
    made.close(DealClose.PANIC_SELL, account_id=FUTURES)
    clock.advance(60)
    async with running(made):
        await made.poll()
        posts = made.posts()
        assert len(posts) == 3, [p.plain for p in posts]
        late = posts[1:]
        assert all("Late: closed" in p.plain and "while I was stopped" in p.plain for p in late)
        assert "Take profit" in late[0].plain and "Panic sell" in late[1].plain
        assert not any(str(too_old["id"]) in p.plain or "Stop-loss" in p.plain for p in posts)
        for _ in range(2):
            await made.poll()
        assert len(made.posts()) == 3
        made.close()
        await made.poll()
        assert len(made.posts()) == 4 and "Late" not in made.posts()[-1].plain
    async with running(made):  # a restart with nothing new posts nothing
        await made.poll()
        assert len(made.posts()) == 4


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.RATE_LIMITED])
async def test_nothing_is_lost_while_3commas_fails_and_it_catches_up(
    feed: Feed, fault: Fault
) -> None:
    await subscribe(feed)
    feed.clock.advance(1)
    feed.sandbox.threecommas.inject(fault, times=10_000, path="/deals", retry_after=0.01)
    feed.close(DealClose.STOP_LOSS)
    for _ in range(3):
        await feed.poll()
    feed.close(DealClose.TAKE_PROFIT)
    await feed.poll()
    assert feed.posts() == [] and feed.deal_calls() >= 1
    feed.sandbox.threecommas.clear_faults()
    await feed.poll()
    posts = feed.posts()
    assert len(posts) == 2, [p.plain for p in posts]
    assert "Stop-loss" in posts[0].plain and "Take profit" in posts[1].plain
    assert not any("Late" in p.plain for p in posts)
    await feed.poll()
    assert len(feed.posts()) == 2


async def test_thirty_deals_closing_at_once_come_as_digests_each_listed_once(feed: Feed) -> None:
    await subscribe(feed)
    feed.open(count=30)
    feed.clock.advance(1)
    closed = [
        feed.close(DealClose.TAKE_PROFIT if i % 3 else DealClose.STOP_LOSS) for i in range(30)
    ]
    await feed.poll()
    posts = feed.posts()
    assert len(posts) == 2, "30 deals: two digests, not 30 posts (20 messages/min per group)"
    assert "20 deals closed" in posts[0].plain and "10 deals closed" in posts[1].plain
    lines = [line for p in posts for line in p.plain.splitlines() if " · " in line[:20]]
    assert len([line for line in lines if "Take profit" in line or "Stop-loss" in line]) == 30
    total = sum(Decimal(d["usd_final_profit"]) for d in closed[:20])
    assert f"Total: {'+' if total > 0 else '-'}${abs(total):,.2f}" in posts[0].plain
    await feed.poll()
    assert len(feed.posts()) == 2


# --------------------------------------------------------------------------- the chat's language


async def test_a_russian_groups_feed_reads_russian_with_the_same_numbers(feed: Feed) -> None:
    """The group's language, set by an administrator with /language ru after subscribing, is
    the one of each post when it is sent: the words Russian, every number as in English."""
    feed.sandbox.botapi.set_admins(GROUP, {ADMIN_USER})
    admin = Chat(feed.sandbox.botapi, user_id=ADMIN_USER, chat_id=GROUP, chat_type="group")
    await subscribe(feed, "12345678 deals")  # English until an admin chooses
    chosen = await admin.reply("/language ru")
    assert chosen.plain == "🌐 Теперь я отвечаю здесь по-русски."

    deal, percent = await close_a_stop_loss(feed)
    post = feed.sandbox.botapi.messages(GROUP)[-1]
    quote, base = deal["pair"].split("_")
    assert post.plain == (
        f"🛑 Стоп-лосс · {base}/{quote}\n"
        f"Бот: {deal['bot_name']}\n"
        f"Убыток: -$12.34 ({percent}%) · длилась 2 ч 15 мин"
    ), post.plain

    # several at once: a digest, its count in Russian's plural form, its total as in English
    feed.open(count=4)
    feed.clock.advance(1)
    closed = [feed.close() for _ in range(4)]
    await feed.poll()
    digest = feed.sandbox.botapi.messages(GROUP)[-1]
    assert digest.plain.startswith("Закрыто 4 сделки · My Binance US"), digest.plain
    assert digest.plain.count("✅ Тейк-профит · ") == 4
    total = sum(Decimal(d["usd_final_profit"]) for d in closed)
    assert digest.plain.endswith(f"Итого: +${total:,.2f}"), digest.plain
    for english in ("Take profit", "Stop-loss", "Bot:", "Loss", "Profit", "ran ", "Total"):
        assert english not in post.plain + digest.plain

    every = await feed.group.reply("/subscribe all deals losses")
    assert every.plain.startswith("✅ Лента сделок: все счета. "), every.plain
    assert "закрытую с убытком" in every.plain and "каждые 1 мин" in every.plain
    listing = await admin.reply("/subscriptions")
    assert "сделки по мере закрытия · только убыточные" in listing.plain, listing.plain
    assert "все счета" in listing.plain and "отслеживается" in listing.plain


# --------------------------------------------------------------------------- permission, key gone


async def test_a_key_without_bots_read_is_told_once_and_the_feed_pauses(feed: Feed) -> None:
    await subscribe(feed)
    feed.sandbox.threecommas.set_bots_read(DEMO_API_KEY, False)
    await feed.poll()
    told = [m for m in feed.sandbox.botapi.messages(GROUP) if "paused" in m.plain]
    assert len(told) == 1, feed.sandbox.botapi.describe()
    assert "Bots read" in told[0].plain and "/subscribe all deals" in told[0].plain
    private = [m for m in feed.sandbox.botapi.messages(DEMO_USER_ID) if "paused" in m.plain]
    assert len(private) == 1
    calls = feed.deal_calls()
    for _ in range(3):
        await feed.poll()
    assert feed.deal_calls() == calls, "a paused feed is not polled"
    assert len([m for m in feed.sandbox.botapi.messages(GROUP) if "paused" in m.plain]) == 1
    listing = await feed.group.reply("/subscriptions")
    assert "deals as they close" in listing.plain and "paused" in listing.plain
    # other commands are not affected
    refreshed = await Chat(feed.sandbox.botapi).reply("/refresh 12345678")
    assert "$31.21" in refreshed.plain
    # the permission is back: subscribing again resumes it from now
    feed.sandbox.threecommas.set_bots_read(DEMO_API_KEY, True)
    feed.clock.advance(1)
    feed.close()
    feed.clock.advance(1)
    await subscribe(feed)
    feed.clock.advance(1)
    feed.close(DealClose.STOP_LOSS)
    await feed.poll()
    (post,) = feed.posts()
    assert "Stop-loss" in post.plain
    assert db_rows(feed.sandbox, "SELECT COUNT(*) FROM subscriptions") == [(1,)]


async def test_disconnecting_ends_the_feed_and_tells_its_chat_once(feed: Feed) -> None:
    await subscribe(feed)
    await Chat(feed.sandbox.botapi).reply("/disconnect")
    told = [m for m in feed.sandbox.botapi.messages(GROUP) if "ended" in m.plain]
    assert len(told) == 1 and "disconnected" in told[0].plain
    calls = feed.deal_calls()
    feed.clock.advance(1)
    feed.close()
    for _ in range(2):
        await feed.poll()
    assert feed.deal_calls() == calls and feed.posts() == []


async def test_a_key_that_3commas_refuses_pauses_the_feed_once(feed: Feed) -> None:
    await subscribe(feed)
    feed.sandbox.threecommas.inject(Fault.INVALID_API_KEY, times=10_000, path="/deals")
    for _ in range(3):
        await feed.poll()
    told = [m for m in feed.sandbox.botapi.messages(GROUP) if "paused" in m.plain]
    assert len(told) == 1 and "refused the API key" in told[0].plain


# --------------------------------------------------------------------------- the poll budget


async def test_one_poll_per_key_per_period_however_many_feeds(feed: Feed) -> None:
    await subscribe(feed, "all deals")
    await subscribe(feed, "12345678 deals")
    await subscribe(feed, "23456789 deals losses")
    other = Chat(feed.sandbox.botapi, user_id=DEMO_USER_ID, chat_id=-100802, chat_type="group")
    await other.reply("/subscribe all deals")
    feed.sandbox.threecommas.clear_requests()
    for _ in range(5):
        await feed.poll()
    assert feed.deal_calls() == 5
    for request in feed.sandbox.threecommas.requests:
        assert "account_id" not in request.path_qs, "one call for every account of the key"
        assert "scope=finished" in request.path_qs and "order=closed_at" in request.path_qs
    feed.clock.advance(1)
    feed.close()
    await feed.poll()
    assert feed.deal_calls() == 6
    assert len(feed.posts()) == 2 and len(feed.posts(-100802)) == 1


def test_keys_are_spread_evenly_over_the_period() -> None:
    """Key n polls at frac(n * golden ratio) of the period: any number of keys, no burst."""
    for keys in (7, 1000, 10_000):
        offsets = sorted(next_poll(START, PERIOD, (n * GOLDEN) % 1.0 * PERIOD) for n in range(keys))
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(offsets)]
        assert max(gaps) <= 3 * PERIOD / keys, keys
        assert (offsets[-1] - offsets[0]).total_seconds() < PERIOD


@pytest.mark.realtime
async def test_the_sandbox_timer_closes_deals_and_the_feed_shows_them(sandbox: Sandbox) -> None:
    """As in `python -m bot sandbox`, on the real clock: the stand-in closes deals on a timer."""
    async with bot_running(sandbox, deals_poll_seconds=1):
        await Chat(sandbox.botapi, first_name="Alice").connect()
        group = Chat(sandbox.botapi, chat_id=GROUP, chat_type="group", first_name="Alice")
        answer = await group.reply("/subscribe all deals")
        assert "every 1 s" in answer.plain
        sandbox.threecommas.close_deals_every(0.2)
        post = await sandbox.botapi.wait_for_text(GROUP, "Take profit", timeout=10)
        if "deals closed" in post.plain:  # several closed between two polls: a digest of them
            assert "Total: " in post.plain and "+$" in post.plain, post.plain
        else:
            assert "Bot: " in post.plain and "Profit: +$" in post.plain, post.plain


async def test_a_deal_3commas_lists_late_is_posted_once(feed: Feed) -> None:
    """A deal that closed before one already posted, but listed only later (within minutes),
    is posted once; the next polls do not post either again."""
    await subscribe(feed, "12345678 deals")
    feed.clock.advance(120)
    feed.close(DealClose.TAKE_PROFIT)
    await feed.poll()
    assert len(feed.posts()) == 1
    book = feed.sandbox.threecommas.book(DEMO_API_KEY, BINANCE)
    bot = book.dca_bots[BINANCE][0]
    late = active_deal(9_000_010, bot, "USDT_BTC", START, Decimal("100"), 0)
    close(late, DealClose.STOP_LOSS, None, feed.clock.now() - timedelta(seconds=90))
    book.deals[BINANCE].append(late)
    await feed.poll()
    posts = feed.posts()
    assert len(posts) == 2 and "Stop-loss" in posts[1].plain
    for _ in range(2):
        await feed.poll()
    assert len(feed.posts()) == 2


async def test_feeds_count_toward_the_per_user_cap(sandbox: Sandbox) -> None:
    made = Feed.at_start(sandbox)
    async with running(made, max_subscriptions_per_user=2):
        await Chat(sandbox.botapi, first_name="Alice").connect()
        await subscribe(made, "12345678 deals")
        await subscribe(made, "23456789 deals")
        other = Chat(sandbox.botapi, user_id=DEMO_USER_ID, chat_id=-100803, chat_type="group")
        refused = await other.reply("/subscribe all deals")
        assert "the most allowed" in refused.plain, refused.plain
