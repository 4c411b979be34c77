"""/refresh, /accounts, /disconnect, cooldown, ALLOWED_USER_IDS, command menus, concurrency."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from standins.botapi import SentMessage
from standins.demo import DEMO_API_KEY, DEMO_SECRET, DEMO_USER_ID, Sandbox, demo_accounts
from standins.threecommas_standin import Fault, demo_account
from tests.support.bot import Chat, bot_running


def snapshot_rows(sandbox: Sandbox) -> int:
    path = sandbox.settings.database_path
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM snapshots").fetchone()
    return int(count)


async def test_refresh_by_id_shows_the_exact_figures_of_the_seed_account(chat: Chat) -> None:
    await chat.connect()
    summary = await chat.reply("/refresh 12345678")
    text = summary.plain
    assert "My Binance US" in text and "Binance US Spot" in text
    for figure in ("$31.21", "0.00048980 BTC", "+$2.63", "+9.21%", "-$0.68", "-2.12%"):
        assert figure in text, (figure, text)
    assert "Updated" in text
    assert "⚠️" not in text  # the seed's key state is ok: nothing shown


async def test_a_quick_answer_is_the_one_reply_with_no_progress_message(chat: Chat) -> None:
    await chat.connect()
    answer = await chat.say("/refresh 12345678")
    assert len(answer) == 1, [m.plain for m in answer]
    assert not answer[0].edits
    assert "$31.21" in answer[0].plain


async def refreshed_slowly(sandbox: Sandbox, *, refuse_progress: bool = False) -> SentMessage:
    """/refresh with 3Commas slower than the progress delay: a progress message is due."""
    sandbox.threecommas.latency = 0.3
    async with bot_running(sandbox, progress_delay_ms=100):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        if refuse_progress:
            sandbox.botapi.fail("sendMessage", times=1, status=400)
        return await chat.reply("/refresh 12345678")


async def test_a_slow_answer_shows_progress_first_then_edits_it_into_the_summary(
    sandbox: Sandbox,
) -> None:
    summary = await refreshed_slowly(sandbox)
    assert summary.edits, "the summary should be an edit of the progress message"
    assert "Refreshing" in summary.edits[0]
    assert "$31.21" in summary.plain


async def test_a_progress_message_telegram_refuses_still_leaves_the_summary_as_the_reply(
    sandbox: Sandbox,
) -> None:
    summary = await refreshed_slowly(sandbox, refuse_progress=True)
    assert "$31.21" in summary.plain
    assert not summary.edits
    assert sandbox.botapi.failed_calls == 1


async def test_refresh_by_exact_name(chat: Chat) -> None:
    await chat.connect()
    summary = await chat.reply("/refresh Kraken Main")
    assert "Kraken Main" in summary.plain and "€1,204.10" in summary.plain


async def test_refresh_by_unique_part_of_a_name_ignores_case(chat: Chat) -> None:
    await chat.connect()
    summary = await chat.reply("/refresh KRAK")
    assert "Kraken Main" in summary.plain and "€1,204.10" in summary.plain
    summary = await chat.reply("/refresh futures")
    assert "Binance Futures" in summary.plain and "$25,312.45" in summary.plain


async def test_exchange_key_state_is_shown_when_not_ok(chat: Chat) -> None:
    await chat.connect()
    summary = await chat.reply("/refresh 34567890")
    assert "expire soon" in summary.plain


async def test_ambiguous_name_offers_buttons_and_pressing_one_refreshes_it(chat: Chat) -> None:
    await chat.connect()
    choice = await chat.reply("/refresh binance")
    assert "Several accounts match" in choice.plain
    labels = [label for label, _ in choice.buttons]
    assert any("My Binance US" in label for label in labels)
    assert any("Binance Futures" in label for label in labels)
    assert not any("Kraken" in label for label in labels)
    changed = await chat.press(choice, "Binance Futures")
    assert any("$25,312.45" in m.plain for m in changed), [m.plain for m in changed]


async def test_unknown_account_answers_with_the_list_of_accounts(chat: Chat) -> None:
    await chat.connect()
    answer = await chat.reply("/refresh bitfinex")
    assert "No account matches" in answer.plain and "bitfinex" in answer.plain
    for name in ("My Binance US", "Binance Futures", "Kraken Main"):
        assert name in answer.plain
    assert "Tap one to refresh it" in answer.plain
    assert len(answer.buttons) == 4  # what "Tap one" promises: three accounts and "All"
    changed = await chat.press(answer, "Kraken Main")
    assert any("€1,204.10" in m.plain for m in changed), [m.plain for m in changed]


async def test_tap_one_is_never_said_without_buttons(chat: Chat) -> None:
    await chat.connect()
    for command in ("/accounts", "/refresh bitfinex", "/refresh 999", "/refresh"):
        await chat.reply(command)
    tapping = [m for m in chat.botapi.messages(chat.chat_id) if "Tap one" in m.plain]
    assert len(tapping) >= 3 and all(m.buttons for m in tapping), chat.botapi.describe()


async def test_no_argument_with_several_accounts_offers_buttons(chat: Chat) -> None:
    await chat.connect()
    choice = await chat.reply("/refresh")
    assert "Which account?" in choice.plain
    assert len(choice.buttons) == 4  # three accounts and "All"


async def test_no_argument_with_exactly_one_account_refreshes_it(sandbox: Sandbox) -> None:
    sandbox.threecommas.set_accounts(DEMO_API_KEY, [demo_account(12345678, "My Binance US")])
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        summary = await chat.reply("/refresh")
        assert "My Binance US" in summary.plain and "$31.21" in summary.plain


async def test_refresh_all_answers_in_one_message_with_a_total(chat: Chat) -> None:
    await chat.connect()
    changed = await chat.say("/refresh all")
    assert len(changed) == 1, [m.plain for m in changed]
    text = changed[0].plain
    for name in ("My Binance US", "Binance Futures", "Kraken Main"):
        assert name in text
    # USD: 31.210986... + 25312.4517 + 1301.63 = 26645.29...; BTC: 0.000489798... + 0.39721864
    # + 0.02042551 = 0.41813395
    assert "Total (3 accounts): $26,645.29 · 0.41813395 BTC" in text, text
    # the euro account shows the dollars the total counts, so the lines add up on screen
    assert "Balance: €1,204.10 (≈ $1,301.63) · 0.02042551 BTC" in text, text
    assert "Balance: $25,312.45 · 0.39721864 BTC" in text, text  # a USD account needs none


async def test_an_account_alone_shows_no_dollars_twice(chat: Chat) -> None:
    await chat.connect()
    summary = await chat.reply("/refresh Kraken Main")
    assert "Balance: €1,204.10 · 0.02042551 BTC" in summary.plain, summary.plain


async def test_the_total_names_how_many_accounts_it_counts(sandbox: Sandbox) -> None:
    sandbox.threecommas.set_accounts(DEMO_API_KEY, [demo_account(12345678, "My Binance US")])
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        summary = await chat.reply("/refresh all")
        assert "Total (1 account): $31.21" in summary.plain, summary.plain
        sandbox.threecommas.set_accounts(
            DEMO_API_KEY,
            [demo_account(12345678, "My Binance US"), demo_account(12345679, "Second")],
        )
        await chat.reply("/accounts")
        sandbox.threecommas.inject(Fault.NOT_FOUND, account_id=12345679)
        summary = await chat.reply("/refresh all")
        assert "Total (1 of 2 accounts): $31.21" in summary.plain, summary.plain


async def test_updated_is_shown_in_the_chats_time_zone(chat: Chat) -> None:
    await chat.connect()
    await chat.reply("/timezone Asia/Kathmandu")  # UTC+05:45 all year
    summary = await chat.reply("/refresh 12345678")
    (line,) = [line for line in summary.plain.splitlines() if line.startswith("Updated ")]
    assert line.endswith(" Asia/Kathmandu"), line
    wall = datetime.strptime(line[len("Updated ") : -len(" Asia/Kathmandu")], "%Y-%m-%d %H:%M")
    shown = wall.replace(tzinfo=ZoneInfo("Asia/Kathmandu"))
    # the stand-in stamps a refresh with the current time
    assert abs(datetime.now(UTC) - shown) < timedelta(minutes=2), line


def updated_line(summary: SentMessage) -> str:
    (line,) = [line for line in summary.plain.splitlines() if line.startswith("Updated ")]
    return line


async def test_a_time_zone_set_after_a_refresh_shows_in_the_next(chat: Chat) -> None:
    await chat.connect()
    assert updated_line(await chat.reply("/refresh 12345678")).endswith(" UTC")
    await chat.reply("/timezone Asia/Kathmandu")
    assert updated_line(await chat.reply("/refresh 12345678")).endswith(" Asia/Kathmandu")


async def test_an_account_renamed_on_3commas_shows_its_new_name_after_a_refresh(
    running: Sandbox,
) -> None:
    chat = Chat(running.botapi)
    await chat.connect()
    await chat.reply("/refresh 12345678")
    accounts = demo_accounts()
    accounts[0]["name"] = "A Binance renamed"  # was "My Binance US"
    running.threecommas.set_accounts(DEMO_API_KEY, accounts)
    summary = await chat.reply("/refresh 12345678")
    assert "A Binance renamed" in summary.plain
    # The account's new name is stored with the refresh's snapshot, after the reply.
    await running.botapi.wait_for(lambda: snapshot_rows(running) == 2)
    picker = await chat.reply("/refresh")
    assert [label for label, _ in picker.buttons][:3] == [
        "🔄 A Binance renamed",
        "🔄 Binance Futures",
        "🔄 Kraken Main",
    ]
    assert "My Binance US" not in (await chat.reply("/accounts")).plain


async def test_refresh_button_reruns_in_place(sandbox: Sandbox) -> None:
    sandbox.threecommas.latency = 0.3  # slower than the progress delay: progress shows
    async with bot_running(sandbox, progress_delay_ms=100):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        summary = await chat.reply("/refresh 12345678")
        edits_before = len(summary.edits)
        count_before = len(chat.botapi.messages(chat.chat_id))
        await chat.press(summary, "Refresh")
    # edited in place: no new message, the same message went through progress to the summary
    assert len(chat.botapi.messages(chat.chat_id)) == count_before
    again = next(
        m for m in chat.botapi.messages(chat.chat_id) if m.message_id == summary.message_id
    )
    assert len(again.edits) >= edits_before + 2
    assert "Refreshing" in again.edits[-1]
    assert "$31.21" in again.plain
    assert sum(1 for m in chat.botapi.messages(chat.chat_id) if "$31.21" in m.plain) == 1


async def test_accounts_lists_every_account_with_a_button(chat: Chat) -> None:
    await chat.connect()
    answer = await chat.reply("/accounts")
    for name, account_id in (
        ("My Binance US", "12345678"),
        ("Binance Futures", "23456789"),
        ("Kraken Main", "34567890"),
    ):
        assert name in answer.plain and account_id in answer.plain
        answer.button_data(name)
    changed = await chat.press(answer, "Kraken Main")
    assert any("€1,204.10" in m.plain for m in changed)


async def test_each_refresh_stores_a_snapshot(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    await chat.connect()
    assert snapshot_rows(running) == 0
    await chat.reply("/refresh 12345678")
    assert snapshot_rows(running) == 1
    await chat.reply("/refresh all")
    assert snapshot_rows(running) == 4


async def test_disconnect_forgets_the_keys_and_every_row(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    await chat.connect()
    await chat.reply("/refresh 12345678")
    answer = await chat.reply("/disconnect")
    assert "forgot your 3Commas keys" in answer.plain
    assert snapshot_rows(running) == 0
    refresh = await chat.reply("/refresh 12345678")
    assert "You have not connected a 3Commas API key yet" in refresh.plain
    again = await chat.reply("/disconnect")
    assert again.plain == "Nothing was stored for you. Send /connect to connect a 3Commas key."


async def test_a_refresh_within_the_cooldown_is_answered_from_the_one_just_made(
    sandbox: Sandbox,
) -> None:
    async with bot_running(sandbox, refresh_cooldown_seconds=30):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        first = await chat.reply("/refresh 12345678")
        assert "$31.21" in first.plain
        calls = sandbox.threecommas.upstream_calls("load_balances")
        second = await chat.reply("/refresh 12345678")
        assert second.plain == first.plain  # answered, not refused: "a moment ago" is gone
        assert sandbox.threecommas.upstream_calls("load_balances") == calls
        other = await chat.reply("/refresh 23456789")  # another account has its own cooldown
        assert "$25,312.45" in other.plain
        assert sandbox.threecommas.upstream_calls("load_balances") == calls + 1


async def test_a_refresh_that_failed_starts_no_cooldown(sandbox: Sandbox) -> None:
    async with bot_running(sandbox, refresh_cooldown_seconds=30):
        chat = Chat(sandbox.botapi)
        for _ in range(2):
            refused = await chat.reply("/refresh all")
            assert "You have not connected a 3Commas API key yet" in refused.plain
            assert refused.buttons == []  # no "Refresh all" under "not connected"
        await chat.connect()
        # 3Commas failing is not kept: asking again at once asks 3Commas again
        sandbox.threecommas.inject(Fault.NOT_FOUND, account_id=12345678)
        failed = await chat.reply("/refresh 12345678")
        assert "3Commas has no such account" in failed.plain, failed.plain
        calls = sandbox.threecommas.upstream_calls("12345678/load_balances")
        summary = await chat.reply("/refresh 12345678")
        assert "$31.21" in summary.plain, summary.plain
        assert sandbox.threecommas.upstream_calls("12345678/load_balances") == calls + 1
        again = await chat.reply("/refresh 12345678")  # a refresh that worked is kept
        assert again.plain == summary.plain
        everything = await chat.reply("/refresh all")  # ... for /refresh all too
        assert "Total (3 accounts)" in everything.plain, everything.plain
        assert sandbox.threecommas.upstream_calls("12345678/load_balances") == calls + 1


async def test_cooldown_zero_turns_it_off(sandbox: Sandbox) -> None:
    async with bot_running(sandbox, refresh_cooldown_seconds=0):
        chat = Chat(sandbox.botapi)
        await chat.connect()
        for _ in range(3):
            summary = await chat.reply("/refresh 12345678")
            assert "$31.21" in summary.plain


async def test_allowed_user_ids_tells_others_the_bot_is_private(sandbox: Sandbox) -> None:
    async with bot_running(sandbox, allowed_user_ids=frozenset({1001})):
        stranger = Chat(sandbox.botapi, user_id=1002)
        changed = await stranger.say("/connect demo-key demo-secret")
        assert [m.plain for m in changed] == ["This bot is private."]
        changed = await stranger.say("/refresh 12345678")
        assert [m.plain for m in changed] == ["This bot is private."]
        assert sandbox.threecommas.requests == []
        owner = Chat(sandbox.botapi, user_id=1001)
        await owner.connect()


async def test_command_menus_are_set_per_scope(running: Sandbox) -> None:
    commands = running.botapi.commands
    private = {c["command"] for c in commands["all_private_chats"]}
    groups = {c["command"] for c in commands["all_group_chats"]}
    assert {"connect", "refresh", "accounts", "disconnect", "help"} <= private
    assert "connect" not in groups
    assert {"refresh", "accounts"} <= groups


async def test_one_slow_refresh_never_delays_other_users(running: Sandbox) -> None:
    running.threecommas.latency = 2.0
    alice = Chat(running.botapi, user_id=1001)
    await alice.connect()
    running.botapi.send_text("/refresh 12345678", user_id=1001)
    await running.botapi.wait_for_text(1001, "Refreshing", timeout=5)
    started = time.monotonic()
    running.botapi.send_text("/help", user_id=1002)
    await running.botapi.wait_for_text(1002, "Commands", timeout=5)
    assert time.monotonic() - started < 0.5
    # Alice's refresh is still in flight, then finishes.
    assert not any("$31.21" in m.plain for m in running.botapi.messages(1001))
    await running.botapi.wait_for_text(1001, "$31.21", timeout=5)
    await asyncio.sleep(0)


def refresh_all_blocks(answer: SentMessage) -> dict[str, str]:
    """Each account block of a `/refresh all` answer by account name (the Total left out)."""
    blocks = answer.plain.split("\n\n")[:-1]
    return {block.split("\n")[0].split(" · ")[0]: block for block in blocks}


async def refresh_all_answer(sandbox: Sandbox, after: int) -> SentMessage:
    """`/refresh all`, and the settled answer (a message id later than `after`)."""
    botapi = sandbox.botapi
    sent = botapi.send_text("/refresh all", user_id=DEMO_USER_ID)
    assert sent > after

    def settled() -> bool:
        return any(
            m.message_id > sent and "Total" in m.plain for m in botapi.messages(DEMO_USER_ID)
        )

    await botapi.wait_for(settled, timeout=15)
    return [m for m in botapi.messages(DEMO_USER_ID) if m.message_id > sent][-1]


async def test_refresh_all_beyond_the_keys_requests_a_minute_names_the_accounts_left_out(
    sandbox: Sandbox,
) -> None:
    names = [f"Account {number:02d}" for number in range(1, 14)]
    accounts = [demo_account(70_000_000 + n, name) for n, name in enumerate(names)]
    sandbox.threecommas.set_accounts(DEMO_API_KEY, accounts)
    sandbox.threecommas.rate_limit_per_minute = 10  # like 3Commas' 100, scaled down
    botapi = sandbox.botapi
    async with bot_running(sandbox, threecommas_requests_per_minute=10):
        sent = botapi.send_text(f"/connect {DEMO_API_KEY} {DEMO_SECRET}", user_id=DEMO_USER_ID)
        await botapi.wait_for_text(DEMO_USER_ID, "Connected", timeout=10)  # 1 request
        first = refresh_all_blocks(await refresh_all_answer(sandbox, sent))
    assert sorted(first) == names
    left_out = [name for name, block in first.items() if "Not refreshed" in block]
    refreshed = [name for name, block in first.items() if "Balance: $31.21" in block]
    assert len(left_out) == 4 and len(refreshed) == 9, first
    sentence = "3Commas allows 10 requests a minute per API key"
    assert all(sentence in first[name] and "/refresh all again" in first[name] for name in left_out)
    assert sandbox.threecommas.upstream_calls("load_balances") == 9
    assert all(request.status != 429 for request in sandbox.threecommas.requests)

    # A restart starts a fresh minute here (not at 3Commas, so its limit is lifted for this):
    # the accounts left out go first.
    sandbox.threecommas.rate_limit_per_minute = None
    async with bot_running(sandbox, threecommas_requests_per_minute=10):
        last = max(m.message_id for m in botapi.messages(DEMO_USER_ID))
        second = refresh_all_blocks(await refresh_all_answer(sandbox, last))
    assert all("Balance: $31.21" in second[name] for name in left_out), second
    assert sum("Not refreshed" in block for block in second.values()) == 3


@pytest.mark.parametrize(
    "name", ['"My Binance US"', "“My Binance US”", "'my binance us'", "«My Binance US»"]
)
async def test_a_name_in_quotes_matches_the_account(chat: Chat, name: str) -> None:
    await chat.connect()
    summary = await chat.reply(f"/refresh {name}")
    assert "My Binance US" in summary.plain and "$31.21" in summary.plain, summary.plain


async def test_accounts_are_listed_in_one_order_after_connect_and_in_accounts(chat: Chat) -> None:
    connected = await chat.connect()
    listed = await chat.reply("/accounts")
    by_name = ["Binance Futures", "Kraken Main", "My Binance US"]
    for answer in (connected, listed):
        names = [label.removeprefix("🔄 ") for label, _ in answer.buttons][:-1]  # then "All"
        assert names == by_name, answer.buttons
        lines = [line for line in answer.plain.split("\n") if line.startswith("•")]
        assert [line.split(" · ")[0].removeprefix("• ") for line in lines] == by_name
