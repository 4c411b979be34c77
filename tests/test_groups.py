"""Groups: no keys taken, the sender's own keys only, buttons only for their owner."""

from __future__ import annotations

import pytest

from standins.botapi_standin import SentMessage
from standins.demo import DEMO_API_KEY, DEMO_SECRET, DEMO_USER_ID, Sandbox
from standins.threecommas_standin import SEED_ACCOUNT, demo_account
from tests.support.bot import Chat, bot_running

GROUP = -100500
OTHER_USER = 2002
OTHER_KEY, OTHER_SECRET = "other-key", "other-secret"
DEEP_LINK = "https://t.me/threecommas_test_bot?start=connect"


def in_group(sandbox: Sandbox, user_id: int = DEMO_USER_ID) -> Chat:
    return Chat(sandbox.botapi, user_id=user_id, chat_id=GROUP, chat_type="group")


@pytest.fixture
async def two_users(running: Sandbox) -> tuple[Chat, Chat]:
    """Alice (demo key) and Bob (another key with another account), both connected privately."""
    running.threecommas.add_key(
        OTHER_KEY,
        OTHER_SECRET,
        [
            demo_account(
                99990001,
                "Other Account",
                primary_display_currency_amount={"currency": "USD", "amount": "777.77"},
            )
        ],
    )
    await Chat(running.botapi).connect()
    await Chat(running.botapi, user_id=OTHER_USER).connect(OTHER_KEY, OTHER_SECRET)
    return in_group(running), in_group(running, OTHER_USER)


async def test_connect_with_keys_in_a_group_deletes_it_when_admin_and_stores_nothing(
    running: Sandbox,
) -> None:
    running.botapi.set_bot_admin(GROUP)
    group = in_group(running)
    answer = await group.reply(f"/connect {DEMO_API_KEY} {DEMO_SECRET}")
    assert group.incoming_deleted()
    assert "Nothing from this message was used or stored" in answer.plain
    assert "I deleted your message" in answer.plain and "revoke those keys" in answer.plain
    assert DEEP_LINK in answer.text
    assert running.threecommas.requests == []  # the keys were not even tried
    private = await Chat(running.botapi).reply("/refresh 12345678")
    assert "You have not connected a 3Commas API key yet" in private.plain


async def test_connect_with_keys_in_a_group_without_admin_rights_says_it_could_not_delete(
    running: Sandbox,
) -> None:
    group = in_group(running)
    answer = await group.reply(f"/connect {DEMO_API_KEY} {DEMO_SECRET}")
    assert not group.incoming_deleted()
    assert "I could not delete your message" in answer.plain
    assert "revoke those keys" in answer.plain
    assert DEEP_LINK in answer.text
    assert running.threecommas.requests == []


@pytest.mark.parametrize("kind", ["photo", "document"])
async def test_connect_with_keys_in_a_caption_in_a_group_is_deleted_and_warned(
    running: Sandbox, kind: str
) -> None:
    running.botapi.set_bot_admin(GROUP)
    sent = running.botapi.send_media(
        kind, f"/connect {DEMO_API_KEY} {DEMO_SECRET}", chat_id=GROUP, chat_type="group"
    )
    answer = await running.botapi.next_message(GROUP, after=sent, timeout=10)
    assert "I deleted your message" in answer.plain and "revoke those keys" in answer.plain
    assert (GROUP, sent) in running.botapi.deleted_incoming
    assert running.threecommas.requests == []


async def test_connect_without_arguments_in_a_group_points_to_the_private_chat(
    running: Sandbox,
) -> None:
    answer = await in_group(running).reply("/connect")
    assert "only take API keys in a private chat" in answer.plain
    assert "revoke" not in answer.plain
    assert DEEP_LINK in answer.text


async def test_refresh_in_a_group_uses_the_senders_own_keys(two_users: tuple[Chat, Chat]) -> None:
    alice, bob = two_users
    mine = await alice.reply("/refresh 12345678")
    assert "My Binance US" in mine.plain and "$31.21" in mine.plain
    for query in ("12345678", "My Binance US", "binance"):
        theirs = await bob.reply(f"/refresh {query}")
        shown = theirs.plain.replace(f"“{query}”", "")  # the query itself is echoed back
        assert "My Binance US" not in shown and "$31.21" not in shown, theirs.plain
        assert "12345678" not in shown, theirs.plain
        assert "No account of yours matches" in theirs.plain or "no such account" in theirs.plain
    own = await bob.reply("/refresh")
    assert "Other Account" in own.plain and "$777.77" in own.plain
    accounts = await bob.reply("/accounts")
    assert "Other Account" in accounts.plain and "My Binance US" not in accounts.plain


async def test_a_non_matching_refresh_in_a_group_lists_no_accounts_and_points_to_private(
    two_users: tuple[Chat, Chat],
) -> None:
    alice, _ = two_users
    answer = await alice.reply("/refresh bitfinex")
    assert answer.plain == (
        "No account of yours matches “bitfinex”. "
        "Send /accounts in a private chat with me to see yours."
    )
    assert 'href="https://t.me/threecommas_test_bot"' in answer.text
    assert answer.buttons == []


async def test_group_member_cannot_press_another_members_refresh_button(
    running: Sandbox, two_users: tuple[Chat, Chat]
) -> None:
    alice, _ = two_users
    summary = await alice.reply("/refresh 12345678")
    before = (summary.text, list(summary.edits))
    calls = running.threecommas.upstream_calls("load_balances")
    query_id = running.botapi.press_button(
        summary, summary.button_data("Refresh"), user_id=OTHER_USER, first_name="Bob"
    )
    await running.botapi.wait_handled()
    assert "belongs to someone else" in (running.botapi.answered_callbacks[query_id] or "")
    assert (summary.text, summary.edits) == before
    assert running.threecommas.upstream_calls("load_balances") == calls


async def test_group_member_cannot_press_another_members_account_list_button(
    running: Sandbox, two_users: tuple[Chat, Chat]
) -> None:
    alice, _ = two_users
    listing = await alice.reply("/accounts")
    messages_before = len(running.botapi.messages(GROUP))
    for label in ("My Binance US", "All"):
        query_id = running.botapi.press_button(
            listing, listing.button_data(label), user_id=OTHER_USER
        )
        await running.botapi.wait_handled()
        assert "belongs to someone else" in (running.botapi.answered_callbacks[query_id] or "")
    assert len(running.botapi.messages(GROUP)) == messages_before
    assert not listing.edits


async def test_button_data_replayed_on_a_message_in_another_chat_is_refused(
    running: Sandbox, two_users: tuple[Chat, Chat]
) -> None:
    _, bob = two_users
    alices = await Chat(running.botapi).reply("/refresh 12345678")  # her private chat
    bobs = await bob.reply("/refresh 99990001")
    before = (bobs.text, list(bobs.edits), bobs.buttons)
    calls = running.threecommas.upstream_calls("load_balances")
    # Alice is in the group too and presses Bob's summary with her own, validly signed data
    query_id = running.botapi.press_button(
        bobs, alices.button_data("Refresh"), user_id=DEMO_USER_ID
    )
    await running.botapi.wait_handled()
    answer = running.botapi.answered_callbacks[query_id]
    assert answer == "This button is not valid in this chat. Send /refresh instead."
    assert (bobs.text, bobs.edits, bobs.buttons) == before
    assert "Other Account" in bobs.plain and "My Binance US" not in bobs.plain
    assert running.threecommas.upstream_calls("load_balances") == calls
    # in its own chat the same data still works: the summary is refreshed again
    await Chat(running.botapi).press(alices, "Refresh")
    assert running.threecommas.upstream_calls("load_balances") == calls + 1
    assert "$31.21" in alices.plain


def tampered(data: str) -> list[str]:
    """Variants of `data` with one digit of the payload changed and the tag kept."""
    payload, _, tag = data.rpartition(":")
    variants = []
    for index, char in enumerate(payload):
        if char.isdigit():
            digit = str((int(char) + 1) % 10)
            variants.append(f"{payload[:index]}{digit}{payload[index + 1 :]}:{tag}")
    return variants


async def test_tampered_callback_data_is_refused(
    running: Sandbox, two_users: tuple[Chat, Chat]
) -> None:
    alice, _ = two_users
    summary = await alice.reply("/refresh 12345678")
    data = summary.button_data("Refresh")
    # Bob rewrites the owner id to his own; Alice points it at an account id of her choosing
    forged_owner = data.replace(str(DEMO_USER_ID), str(OTHER_USER), 1)
    attempts = [(OTHER_USER, forged_owner)] + [(DEMO_USER_ID, v) for v in tampered(data)]
    calls = running.threecommas.upstream_calls("load_balances")
    for user_id, forged in attempts:
        assert forged != data
        query_id = running.botapi.press_button(summary, forged, user_id=user_id)
        await running.botapi.wait_handled()
        answer = running.botapi.answered_callbacks[query_id] or ""
        assert "not valid" in answer or "belongs to someone else" in answer, (forged, answer)
    assert running.threecommas.upstream_calls("load_balances") == calls
    assert not any("Refreshing" in text for text in summary.edits[1:])


async def test_callback_data_never_carries_key_material(
    running: Sandbox, two_users: tuple[Chat, Chat]
) -> None:
    alice, bob = two_users
    await alice.reply("/accounts")
    await alice.reply("/refresh all")
    await alice.reply("/refresh binance")
    await bob.reply("/refresh 99990001")
    secrets = (DEMO_API_KEY, DEMO_SECRET, OTHER_KEY, OTHER_SECRET, SEED_ACCOUNT["api_key"])
    sent: list[SentMessage] = running.botapi.all_messages()
    datas = [data for message in sent for _, data in message.buttons]
    assert len(datas) > 5
    for data in datas:
        assert len(data.encode()) <= 64
        for secret in secrets:
            assert secret not in data, data


async def test_the_deep_link_starts_connecting_in_the_private_chat(running: Sandbox) -> None:
    answer = await in_group(running).reply("/connect")
    assert "?start=connect" in answer.text
    private = Chat(running.botapi)
    ask = await private.reply("/start connect")  # what Telegram sends when the link is opened
    assert "API key" in ask.plain
    await private.reply(DEMO_API_KEY)
    done = await private.reply(DEMO_SECRET)
    assert "Connected" in done.plain


async def test_a_user_outside_allowed_user_ids_cannot_press_a_button_in_a_group(
    sandbox: Sandbox,
) -> None:
    async with bot_running(sandbox, allowed_user_ids=frozenset({DEMO_USER_ID})):
        await Chat(sandbox.botapi).connect()
        summary = await in_group(sandbox).reply("/refresh 12345678")
        assert "$31.21" in summary.plain
        edits_before = len(summary.edits)
        stranger = in_group(sandbox, OTHER_USER)
        assert await stranger.say("/refresh 12345678") == []  # ignored in groups
        query_id = sandbox.botapi.press_button(
            summary, summary.button_data("Refresh"), user_id=OTHER_USER
        )
        await sandbox.botapi.wait_handled()
        assert sandbox.botapi.answered_callbacks[query_id] == "This bot is private."
        assert len(summary.edits) == edits_before  # the stranger's press changed nothing
