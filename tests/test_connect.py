"""/connect: both forms, RSA keys, deletion of key material, validation, cancel and timeout."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from standins.demo import DEMO_API_KEY, DEMO_SECRET, DEMO_USER_ID, Sandbox, demo_accounts
from tests.support.answers import answer_to
from tests.support.bot import Chat, bot_running


async def test_connect_in_one_message_lists_accounts_and_deletes_the_message(chat: Chat) -> None:
    answer = await chat.connect()
    assert "Your key sees 3 accounts" in answer.plain
    assert "My Binance US" in answer.plain and "12345678" in answer.plain
    assert chat.incoming_deleted()
    assert ("🔄 My Binance US", answer.button_data("My Binance US")) in answer.buttons


async def test_connect_in_two_steps_deletes_both_key_messages(chat: Chat) -> None:
    ask = await chat.reply("/connect")
    assert "API key" in ask.plain
    ask_secret = await chat.reply("demo-key")
    key_message = chat.last_incoming_id
    assert "secret" in ask_secret.plain
    done = await chat.reply("demo-secret")
    assert "Connected" in done.plain
    assert chat.incoming_deleted(key_message) and chat.incoming_deleted()


async def test_wrong_secret_is_refused_deleted_and_nothing_saved(chat: Chat) -> None:
    answer = await chat.reply("/connect demo-key not-the-secret")
    assert "3Commas refused your API key" in answer.plain
    assert "Nothing was saved" in answer.plain
    assert chat.incoming_deleted()
    refresh = await chat.reply("/refresh 12345678")
    assert "You have not connected a 3Commas API key yet" in refresh.plain


async def test_rsa_private_key_connects_in_pkcs1_and_pkcs8(sandbox: Sandbox) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forms = [serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8]
    pems = [
        key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption()).decode()
        for form in forms
    ]
    assert "BEGIN RSA PRIVATE KEY" in pems[0] and "BEGIN PRIVATE KEY" in pems[1]
    for number, pem in enumerate(pems):
        sandbox.threecommas.add_key(f"rsa-key-{number}", pem, demo_accounts())
    async with bot_running(sandbox):
        for number, pem in enumerate(pems):
            chat = Chat(sandbox.botapi, user_id=2000 + number)
            await chat.reply("/connect")
            await chat.reply(f"rsa-key-{number}")
            done = await chat.reply(pem)
            assert "Connected" in done.plain, done.plain
            summary = await chat.reply("/refresh My Binance US")
            assert "Balance: $31.21" in summary.plain


async def test_rsa_key_pasted_with_the_command_keeps_its_line_breaks(sandbox: Sandbox) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    sandbox.threecommas.add_key("rsa-one-message", pem, demo_accounts())
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        answer = await chat.reply(f"/connect rsa-one-message\n{pem}")
        assert "Connected" in answer.plain
        assert chat.incoming_deleted()


async def test_malformed_private_key_is_explained_and_nothing_saved(chat: Chat) -> None:
    answer = await chat.reply(
        "/connect demo-key -----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----"
    )
    assert "neither a 3Commas API secret nor an RSA private key" in answer.plain
    assert answer.plain.count("Nothing was saved") == 1, answer.plain
    assert chat.incoming_deleted()


async def test_cancel_stops_connecting(chat: Chat) -> None:
    await chat.reply("/connect")
    assert "Cancelled" in (await chat.reply("/cancel")).plain
    hint = await chat.reply("hello")
    assert "/help" in hint.plain
    assert "Nothing to cancel" in (await chat.reply("/cancel")).plain


async def test_abandoned_connect_times_out(sandbox: Sandbox) -> None:
    async with bot_running(sandbox, connect_timeout_seconds=0.5):
        chat = Chat(sandbox.botapi)
        await chat.reply("/connect")
        await chat.reply("demo-key")
        timed_out = await sandbox.botapi.wait_for_text(DEMO_USER_ID, "timed out", timeout=5)
        assert "nothing was saved" in timed_out.plain
        hint = await chat.reply("demo-secret-typed-later")
        assert "/help" in hint.plain or "deleted" in hint.plain


async def test_a_pasted_key_outside_connect_is_deleted(chat: Chat) -> None:
    answer = await chat.reply("Abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH")
    assert "looked like a key" in answer.plain
    assert chat.incoming_deleted()


async def test_deep_link_start_begins_connecting(chat: Chat) -> None:
    answer = await chat.reply("/start connect")
    assert "API key" in answer.plain
    await chat.reply("demo-key")
    assert "Connected" in (await chat.reply("demo-secret")).plain


# A 3Commas-shaped key pair made up for these tests (64 and 128 hex characters).
PASTED_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
PASTED_SECRET = "a1b2c3d4e5f6" * 10 + "a1b2c3d4e5f60718"


@pytest.mark.parametrize(
    "pasted",
    [
        pytest.param(f"{PASTED_KEY} {PASTED_SECRET}", id="key-space-secret"),
        pytest.param(f"{PASTED_KEY}\n{PASTED_SECRET}", id="key-newline-secret"),
        pytest.param(f"api key: {PASTED_KEY}", id="labelled-key"),
    ],
)
async def test_keys_pasted_outside_connect_in_any_form_are_deleted(
    running: Sandbox, pasted: str
) -> None:
    botapi = running.botapi
    sent = botapi.send_text(pasted, user_id=DEMO_USER_ID)
    await answer_to(botapi, DEMO_USER_ID, sent, "looked like a key")
    assert (DEMO_USER_ID, sent) in botapi.deleted_incoming


@pytest.mark.parametrize("kind", ["photo", "document"])
async def test_a_key_in_a_caption_outside_connect_is_deleted(running: Sandbox, kind: str) -> None:
    botapi = running.botapi
    sent = botapi.send_media(kind, f"{PASTED_KEY} {PASTED_SECRET}", user_id=DEMO_USER_ID)
    await answer_to(botapi, DEMO_USER_ID, sent, "looked like a key")
    assert (DEMO_USER_ID, sent) in botapi.deleted_incoming


async def test_captions_are_taken_as_the_key_and_the_secret_during_connect(
    running: Sandbox,
) -> None:
    botapi = running.botapi
    await answer_to(
        botapi, DEMO_USER_ID, botapi.send_text("/connect", user_id=DEMO_USER_ID), "API key"
    )
    key_message = botapi.send_media("photo", DEMO_API_KEY, user_id=DEMO_USER_ID)
    await answer_to(botapi, DEMO_USER_ID, key_message, "Now send the secret")
    secret_message = botapi.send_media("document", DEMO_SECRET, user_id=DEMO_USER_ID)
    await answer_to(botapi, DEMO_USER_ID, secret_message, "Checking your keys")
    await botapi.wait_for_text(DEMO_USER_ID, "Connected")
    assert {(DEMO_USER_ID, key_message), (DEMO_USER_ID, secret_message)} <= botapi.deleted_incoming


async def test_connect_with_keys_in_a_caption_connects_and_deletes_it(running: Sandbox) -> None:
    botapi = running.botapi
    sent = botapi.send_media("photo", f"/connect {DEMO_API_KEY} {DEMO_SECRET}")
    await answer_to(botapi, DEMO_USER_ID, sent, "Checking your keys")
    await botapi.wait_for_text(DEMO_USER_ID, "Connected")
    assert (DEMO_USER_ID, sent) in botapi.deleted_incoming


async def test_an_edited_old_message_is_not_taken_as_the_key(running: Sandbox) -> None:
    botapi = running.botapi
    word = botapi.send_text("hello there", user_id=DEMO_USER_ID)
    await answer_to(botapi, DEMO_USER_ID, word, "/help")
    notes = botapi.send_text("my notes", user_id=DEMO_USER_ID)
    await answer_to(botapi, DEMO_USER_ID, notes, "/help")
    await answer_to(
        botapi, DEMO_USER_ID, botapi.send_text("/connect", user_id=DEMO_USER_ID), "API key"
    )
    botapi.edit_incoming(DEMO_USER_ID, word, "hello-again")  # one word, as a key would be
    botapi.edit_incoming(DEMO_USER_ID, notes, f"api key: {PASTED_KEY}")
    warned = await botapi.wait_for_text(DEMO_USER_ID, "only from new messages")
    assert "looked like a key" in warned.plain
    key_message = botapi.send_text(DEMO_API_KEY, user_id=DEMO_USER_ID)
    await answer_to(botapi, DEMO_USER_ID, key_message, "Now send the secret")
    secret_message = botapi.send_text(DEMO_SECRET, user_id=DEMO_USER_ID)
    await answer_to(botapi, DEMO_USER_ID, secret_message, "Checking your keys")
    connected = await botapi.wait_for_text(DEMO_USER_ID, "Connected")
    assert "Your key sees 3 accounts" in connected.plain
    assert (DEMO_USER_ID, word) not in botapi.deleted_incoming
    assert (DEMO_USER_ID, notes) in botapi.deleted_incoming


async def test_a_key_edited_into_an_old_message_outside_connect_is_deleted(
    running: Sandbox,
) -> None:
    botapi = running.botapi
    old = botapi.send_text("hello there", user_id=DEMO_USER_ID)
    await answer_to(botapi, DEMO_USER_ID, old, "/help")
    botapi.edit_incoming(DEMO_USER_ID, old, f"{PASTED_KEY} {PASTED_SECRET}")
    warned = await botapi.wait_for_text(DEMO_USER_ID, "looked like a key")
    assert "only from new messages" in warned.plain
    assert (DEMO_USER_ID, old) in botapi.deleted_incoming


@pytest.mark.parametrize("pasted", ["demo-key demo-secret", "demo-key", "demo-secret"])
async def test_a_key_sent_after_cancel_is_deleted(chat: Chat, pasted: str) -> None:
    await chat.reply("/connect")
    assert "Cancelled" in (await chat.reply("/cancel")).plain
    answer = await chat.reply(pasted)
    assert "looked like a key" in answer.plain, answer.plain
    assert chat.incoming_deleted()


@pytest.mark.parametrize("message", ["hello", "thanks!", "12345678", "what can you do?"])
async def test_ordinary_words_outside_connect_are_not_deleted(chat: Chat, message: str) -> None:
    answer = await chat.reply(message)
    assert "/help" in answer.plain and not chat.incoming_deleted()


async def test_more_words_after_the_secret_are_refused_and_deleted(
    running: Sandbox, chat: Chat
) -> None:
    answer = await chat.reply(f"/connect {DEMO_API_KEY} {DEMO_SECRET} extra")
    assert "A secret is one word, and there was more after it." in answer.plain, answer.plain
    assert "Nothing was saved" in answer.plain
    assert chat.incoming_deleted()
    assert running.threecommas.upstream_calls("/accounts") == 0
    refresh = await chat.reply("/refresh 12345678")
    assert "You have not connected a 3Commas API key yet" in refresh.plain


async def test_more_words_after_the_secret_in_two_steps_ask_for_it_again(chat: Chat) -> None:
    await chat.reply("/connect")
    await chat.reply(DEMO_API_KEY)
    again = await chat.reply(f"{DEMO_SECRET} extra")
    assert "A secret is one word" in again.plain and "Send it again" in again.plain
    assert chat.incoming_deleted()
    assert "Connected" in (await chat.reply(DEMO_SECRET)).plain
