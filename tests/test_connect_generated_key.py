"""/connect new: the bot makes the RSA key pair, the user gives 3Commas only the public key and
sends back the API key. End to end through the stand-ins, with real SQLite and encryption."""

from __future__ import annotations

import base64
import io
import logging
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import ConfigError, load_settings
from bot.services.cooldown import Cooldown
from bot.services.keypairs import PENDING_LIFETIME, KeyPairService, make_key_pair
from bot.storage.database import Database
from bot.storage.encryption import MasterKeys, generate_key_text, load_master_keys
from bot.storage.errors import CredentialsUnreadable
from bot.storage.maintenance import backup
from standins.botapi import SentFile, SentMessage
from standins.demo import DEMO_USER_ID, Sandbox, demo_accounts
from standins.threecommas_standin import Fault
from tests.support.bot import Chat, bot_running
from tests.support.process import process_env
from tests.support.storage import keys_from, run_sql

PUBLIC_KEY = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)
MAKE_PAIR = "🔐 Make a key pair for me (recommended)"
HAVE_A_KEY = "I already have a key"
GROUP = -100900
# Shaped like 3Commas' API keys (64 hex characters); 3Commas gives them for a public key.
GENERATED_API_KEY = "5e1f" * 16
OTHER_API_KEY = "a7c3" * 16


class MovableClock:
    """Real time plus an offset a test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def public_key_in(message: SentMessage) -> str:
    found = PUBLIC_KEY.search(message.plain)
    assert found is not None, message.plain
    return found.group(0)


def public_key_file(sandbox: Sandbox, chat_id: int = DEMO_USER_ID) -> SentFile:
    files = sandbox.botapi.files_in(chat_id)
    assert files, sandbox.botapi.describe()
    return files[-1]


async def new_pair(chat: Chat) -> str:
    """`/connect new`; the public key as the message shows it (it matches the file's)."""
    changed = await chat.say("/connect new")
    key_message = next(m for m in changed if "BEGIN PUBLIC KEY" in m.plain)
    shown = public_key_in(key_message)
    sent = public_key_file_of(chat)
    assert sent.data.decode("ascii").strip() == shown
    return shown


def public_key_file_of(chat: Chat) -> SentFile:
    files = chat.botapi.files_in(chat.chat_id)
    assert files, chat.botapi.describe()
    return files[-1]


def register(sandbox: Sandbox, api_key: str, public_key: str) -> None:
    """What the user does in 3Commas: a self-generated key from the public key alone."""
    sandbox.threecommas.add_key(api_key, public_key, demo_accounts())


def master_keys(sandbox: Sandbox) -> MasterKeys:
    assert sandbox.settings.bot_encryption_key is not None
    return load_master_keys(sandbox.settings.bot_encryption_key.get_secret_value(), None)


def db_value(sandbox: Sandbox, query: str) -> str | None:
    """One value, read as an operator would: read-only, beside the running bot."""
    path = sandbox.settings.database_path
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute(query).fetchone()
    finally:
        connection.close()
    return None if row is None else row[0]


def pending_private_key(sandbox: Sandbox, user_id: int = DEMO_USER_ID) -> str:
    """The demo user's pending private key, decrypted with the operator's master key."""
    sealed = db_value(sandbox, f"SELECT private_key FROM pending_keys WHERE user_id = {user_id}")  # noqa: S608
    assert sealed is not None
    return master_keys(sandbox).decrypt(sealed, user_id=user_id, field="private_key")


def stored_secret(sandbox: Sandbox, user_id: int = DEMO_USER_ID) -> str:
    sealed = db_value(sandbox, f"SELECT secret FROM credentials WHERE user_id = {user_id}")  # noqa: S608
    assert sealed is not None
    return master_keys(sandbox).decrypt(sealed, user_id=user_id, field="secret")


def _encodings(private_pem: str) -> list[tuple[bytes, bytes]]:
    """(PEM, DER) of the private key in PKCS#1 and in PKCS#8."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    none = serialization.NoEncryption()
    return [
        (
            key.private_bytes(serialization.Encoding.PEM, private_format, none),
            key.private_bytes(serialization.Encoding.DER, private_format, none),
        )
        for private_format in (
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.PrivateFormat.PKCS8,
        )
    ]


def text_forms(private_pem: str) -> list[bytes]:
    """The private key as a log line could carry it: PEM, base64 DER, hex DER."""
    forms: list[bytes] = []
    for pem, der in _encodings(private_pem):
        forms += [pem, base64.b64encode(der), der.hex().encode(), der.hex().upper().encode()]
    return forms


def leak_forms(private_pem: str) -> list[bytes]:
    """Every form above, and raw DER, URL-safe base64 and a PEM's first line of base64 alone."""
    forms = text_forms(private_pem)
    for pem, der in _encodings(private_pem):
        forms += [der, base64.urlsafe_b64encode(der), pem.splitlines()[1]]
    return forms


def assert_absent(forms: list[bytes], content: bytes, where: str) -> None:
    for form in forms:
        assert form not in content, f"the private key is in {where}"


def database_bytes(sandbox: Sandbox) -> dict[str, bytes]:
    path = sandbox.settings.database_path
    files = {"database": path, "WAL": Path(f"{path}-wal")}
    return {name: file.read_bytes() for name, file in files.items() if file.exists()}


def what_the_user_saw(sandbox: Sandbox) -> bytes:
    texts = [m.text for m in sandbox.botapi.all_messages()]
    texts += [edit for m in sandbox.botapi.all_messages() for edit in m.edits]
    return "\n".join(texts).encode() + b"".join(f.data for f in sandbox.botapi.files)


# --------------------------------------------------------------------------- the full flow


@pytest.mark.parametrize("source", ["message", "document"])
async def test_connect_with_a_key_pair_the_bot_made(running: Sandbox, source: str) -> None:
    chat = Chat(running.botapi)
    changed = await chat.say("/connect new")
    key_message = next(m for m in changed if "BEGIN PUBLIC KEY" in m.plain)
    # One tap copies a <pre> block; the steps go with it.
    assert "<pre>-----BEGIN PUBLIC KEY-----" in key_message.text
    for step in (
        "New API access token",
        "Self-generated",
        "Accounts read",
        "Bots read",
        "24 hours",
    ):
        assert step in key_message.plain, key_message.plain
    sent = public_key_file(running)
    assert sent.method == "sendDocument"
    assert sent.file.filename == "3commas-public-key.pem"
    public_key = public_key_in(key_message) if source == "message" else sent.data.decode()
    loaded = serialization.load_pem_public_key(public_key.encode())
    assert isinstance(loaded, rsa.RSAPublicKey) and loaded.key_size == 2048

    register(running, GENERATED_API_KEY, public_key)
    done = await chat.reply(GENERATED_API_KEY)
    assert "Connected. Your key sees 3 accounts" in done.plain, done.plain
    assert chat.incoming_deleted()
    summary = await chat.reply("/refresh 12345678")
    assert "Balance: $31.21" in summary.plain
    # The stand-in checked every signature with the public key alone.
    calls = [r for r in running.threecommas.requests if r.api_key == GENERATED_API_KEY]
    assert calls and all(r.status in (200, 201) for r in calls), calls

    private_key = stored_secret(running)
    assert "BEGIN PRIVATE KEY" in private_key
    assert_absent(leak_forms(private_key), what_the_user_saw(running), "a message or file")
    assert db_value(running, "SELECT COUNT(*) FROM pending_keys") == 0


async def test_connect_offers_both_ways_and_the_buttons_start_them(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    offer = await chat.reply("/connect")
    assert [label for label, _ in offer.buttons] == [MAKE_PAIR, HAVE_A_KEY]
    assert "recommended" in offer.plain and "API key" in offer.plain
    made = await chat.press(offer, MAKE_PAIR)
    assert any("BEGIN PUBLIC KEY" in m.plain for m in made)
    assert public_key_file(running).file.filename == "3commas-public-key.pem"

    ask = await chat.press(await chat.reply("/connect"), HAVE_A_KEY)
    assert "Send me your 3Commas API key" in ask[-1].plain
    assert "whitelist" not in ask[-1].plain  # no BOT_PUBLIC_IP set
    assert "Now send the secret" in (await chat.reply("demo-key")).plain
    assert "Connected" in (await chat.reply("demo-secret")).plain


async def test_connect_with_a_pair_pending_takes_the_next_message_as_the_pairs_api_key(
    running: Sandbox,
) -> None:
    chat = Chat(running.botapi)
    register(running, GENERATED_API_KEY, await new_pair(chat))
    offer = await chat.reply("/connect")
    assert "The key pair I made for you is waiting" in offer.plain
    assert [label for label, _ in offer.buttons] == [MAKE_PAIR, HAVE_A_KEY]
    assert "Connected" in (await chat.reply(GENERATED_API_KEY)).plain
    # The other way still needs only its button.
    await chat.reply("/connect new")
    ask = await chat.press(await chat.reply("/connect"), HAVE_A_KEY)
    assert "Send me your 3Commas API key" in ask[-1].plain
    assert "Now send the secret" in (await chat.reply("demo-key")).plain
    assert "Connected" in (await chat.reply("demo-secret")).plain
    assert db_value(running, "SELECT COUNT(*) FROM pending_keys") == 0


def test_a_malformed_bot_public_ip_is_refused_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"^BOT_PUBLIC_IP: expected an IPv4 or IPv6 address"):
        load_settings(_env_file=None, bot_public_ip="my-server")
    assert load_settings(_env_file=None, bot_public_ip=" ").bot_public_ip is None
    assert load_settings(_env_file=None, bot_public_ip="2001:DB8::1").bot_public_ip == "2001:db8::1"


async def test_bot_public_ip_asks_keepers_of_a_system_key_to_whitelist_it(
    sandbox: Sandbox,
) -> None:
    async with bot_running(sandbox, bot_public_ip="203.0.113.7"):
        chat = Chat(sandbox.botapi)
        offer = await chat.reply("/connect")
        assert "whitelisted" in offer.plain and "203.0.113.7" in offer.plain
        ask = await chat.press(offer, HAVE_A_KEY)
        assert "203.0.113.7" in ask[-1].plain
        refused = await chat.reply("/connect demo-key wrong-secret")
        assert "3Commas refused your API key" in refused.plain
        assert "203.0.113.7" in refused.plain


# --------------------------------------------------------------------------- the pending pair


async def test_a_restart_between_the_two_steps_keeps_the_pending_pair(sandbox: Sandbox) -> None:
    async with bot_running(sandbox):
        public_key = await new_pair(Chat(sandbox.botapi))
    register(sandbox, GENERATED_API_KEY, public_key)
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        done = await chat.reply(GENERATED_API_KEY)
        assert "Connected" in done.plain, done.plain
        assert "Balance: $31.21" in (await chat.reply("/refresh 12345678")).plain


async def test_a_refused_api_key_keeps_the_pending_pair(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    register(running, GENERATED_API_KEY, await new_pair(chat))
    register(running, OTHER_API_KEY, make_key_pair().public_pem)  # made with another key

    for wrong in ("not-the-api-key", OTHER_API_KEY):
        refused = await chat.reply(wrong)
        assert "3Commas refused that API key" in refused.plain, refused.plain
        assert chat.incoming_deleted()
    too_long = await chat.reply("k" * 300)
    assert "not a 3Commas API key" in too_long.plain and "still waits" in too_long.plain
    assert "one word" in (await chat.reply("two words")).plain

    running.threecommas.inject(Fault.ACCESS_DENIED)
    denied = await chat.reply(GENERATED_API_KEY)
    assert "lacks a permission" in denied.plain and "Accounts read" in denied.plain
    assert "still waits" in denied.plain
    assert "Connected" in (await chat.reply(GENERATED_API_KEY)).plain


async def test_connect_new_again_replaces_the_pending_pair(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    register(running, OTHER_API_KEY, await new_pair(chat))
    register(running, GENERATED_API_KEY, await new_pair(chat))
    refused = await chat.reply(OTHER_API_KEY)  # signed with the new key: the old public key fails
    assert "3Commas refused that API key" in refused.plain
    assert "Connected" in (await chat.reply(GENERATED_API_KEY)).plain


async def test_connect_new_again_at_once_is_refused_with_the_time_left(sandbox: Sandbox) -> None:
    async with bot_running(sandbox, key_pair_cooldown_seconds=20):
        chat = Chat(sandbox.botapi)
        await new_pair(chat)
        again = await chat.reply("/connect new")
        assert "I made you a key pair a moment ago" in again.plain
        assert "20 s" in again.plain or "19 s" in again.plain
        assert len(sandbox.botapi.files_in(chat.chat_id)) == 1


async def test_cancel_drops_the_pending_pair(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    register(running, GENERATED_API_KEY, await new_pair(chat))
    cancelled = await chat.reply("/cancel")
    assert "deleted the key pair" in cancelled.plain
    assert db_value(running, "SELECT COUNT(*) FROM pending_keys") == 0
    late = await chat.reply(GENERATED_API_KEY)
    assert "send /connect first" in late.plain and chat.incoming_deleted()
    assert "not connected" in (await chat.reply("/refresh 12345678")).plain
    assert "Nothing to cancel" in (await chat.reply("/cancel")).plain


async def test_after_24_hours_the_pending_pair_is_gone(sandbox: Sandbox) -> None:
    clock = MovableClock()
    async with bot_running(sandbox, clock=clock):
        public_key = await new_pair(Chat(sandbox.botapi))
    register(sandbox, GENERATED_API_KEY, public_key)
    clock.offset = PENDING_LIFETIME + timedelta(seconds=1)
    async with bot_running(sandbox, clock=clock):
        chat = Chat(sandbox.botapi)
        expired = await chat.reply(GENERATED_API_KEY)
        assert "expired" in expired.plain and "/connect new" in expired.plain
        assert chat.incoming_deleted()
        assert "not connected" in (await chat.reply("/refresh 12345678")).plain
        assert "send /connect first" in (await chat.reply(GENERATED_API_KEY)).plain
    assert db_value(sandbox, "SELECT COUNT(*) FROM pending_keys") == 0


async def test_expired_private_keys_are_erased_from_the_database(tmp_path: Path) -> None:
    keys = keys_from(generate_key_text())
    clock = MovableClock()
    database = await Database.open(tmp_path / "bot.sqlite3", keys)
    try:
        service = KeyPairService(database, None, clock, Cooldown(0))  # type: ignore[arg-type]
        await service.make(DEMO_USER_ID)
        assert await service.expire() == 0
        clock.offset = PENDING_LIFETIME + timedelta(minutes=1)
        assert await service.expire() == 1
        pending = await database.pending_keys.load(DEMO_USER_ID)
        assert pending is not None and pending.private_key is None
    finally:
        await database.close()


async def test_disconnect_forgets_a_pending_pair(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    register(running, GENERATED_API_KEY, await new_pair(chat))
    assert "I forgot your 3Commas keys" in (await chat.reply("/disconnect")).plain
    assert db_value(running, "SELECT COUNT(*) FROM pending_keys") == 0
    assert "send /connect first" in (await chat.reply(GENERATED_API_KEY)).plain


async def test_pending_keys_rotate_with_the_master_key_and_stay_bound_to_their_field(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite3"
    old, new = generate_key_text(), generate_key_text()
    now = datetime.now(UTC)
    database = await Database.open(path, keys_from(old))
    await database.pending_keys.save(1, "pending-1", now)
    await database.pending_keys.save(2, "pending-2", now - PENDING_LIFETIME * 2)
    assert await database.pending_keys.expire(now - PENDING_LIFETIME, now - PENDING_LIFETIME * 3)
    await database.close()
    database = await Database.open(path, keys_from(new, old))
    assert await database.rotate_keys() == 1  # the expired one has nothing left to move
    await database.close()
    run_sql(
        path,
        "INSERT INTO credentials VALUES (1, 'key', (SELECT private_key FROM pending_keys "
        "WHERE user_id = 1), 'rsa', '2026-01-01', '2026-01-01', NULL)",
    )
    database = await Database.open(path, keys_from(new))  # no value needs the old key now
    try:
        pending, expired = await database.pending_keys.load(1), await database.pending_keys.load(2)
        assert pending is not None and pending.private_key == "pending-1"
        assert expired is not None and expired.private_key is None
        with pytest.raises(CredentialsUnreadable):  # sealed for its own field only
            await database.credentials.load(1)
    finally:
        await database.close()


# --------------------------------------------------------------------------- secrets


async def test_the_private_key_is_never_in_the_database_a_backup_or_the_debug_log(
    sandbox: Sandbox, tmp_path: Path, debug_log: io.StringIO
) -> None:
    async with bot_running(sandbox):
        chat = Chat(sandbox.botapi)
        public_key = await new_pair(chat)
        private_key = pending_private_key(sandbox)
        forms = leak_forms(private_key)
        for name, content in database_bytes(sandbox).items():
            assert_absent(forms, content, f"the {name} with the pair pending")
        await backup(sandbox.settings, tmp_path / "pending.sqlite3")
        assert_absent(forms, (tmp_path / "pending.sqlite3").read_bytes(), "a backup")

        register(sandbox, GENERATED_API_KEY, public_key)
        assert "Connected" in (await chat.reply(GENERATED_API_KEY)).plain
        assert "$31.21" in (await chat.reply("/refresh 12345678")).plain
        assert stored_secret(sandbox) == private_key.strip()
        for name, content in database_bytes(sandbox).items():
            assert_absent(forms, content, f"the {name} once connected")
        await backup(sandbox.settings, tmp_path / "connected.sqlite3")
        assert_absent(forms, (tmp_path / "connected.sqlite3").read_bytes(), "a backup")
    for name, content in database_bytes(sandbox).items():
        assert_absent(forms, content, f"the {name} after shutdown")
    log = debug_log.getvalue()
    assert "Processing update" in log and "sendDocument" in log  # DEBUG was on
    assert_absent(forms, log.encode(), "the DEBUG log")
    assert_absent(forms, what_the_user_saw(sandbox), "a message or file")


def test_the_log_filter_redacts_a_private_key_the_bot_made_in_every_form(
    debug_log: io.StringIO,
) -> None:
    pair = make_key_pair()
    forms = text_forms(pair.private_pem)
    ours, library = logging.getLogger("bot.tests"), logging.getLogger("telegram.tests")
    for form in (form.decode("ascii") for form in forms):
        ours.debug("a line with %s in it", form)
        library.warning("a library line with %s", form)
        ours.error("an exception", exc_info=ValueError(f"failed on {form}"))
    assert_absent(forms, debug_log.getvalue().encode(), "the log")
    assert debug_log.getvalue().count("[redacted") >= 3 * len(forms)


# --------------------------------------------------------------------------- reconnecting


@pytest.mark.parametrize("way", ["key pair", "one message"])
async def test_reconnecting_keeps_accounts_subscriptions_and_alerts(
    running: Sandbox, way: str
) -> None:
    chat = Chat(running.botapi)
    await chat.connect()
    assert "Balance: $31.21" in (await chat.reply("/refresh 12345678")).plain
    await chat.reply("/subscribe 12345678 every 1h")
    await chat.reply("/alert 12345678 balance < 10")
    before = (await chat.reply("/subscriptions")).plain
    refreshed_before = db_value(
        running, "SELECT refreshed_at FROM accounts WHERE account_id = 12345678"
    )
    assert refreshed_before is not None

    if way == "key pair":
        register(running, GENERATED_API_KEY, await new_pair(chat))
        assert "Connected" in (await chat.reply(GENERATED_API_KEY)).plain
        new_key = GENERATED_API_KEY
    else:
        running.threecommas.add_key(OTHER_API_KEY, "other-secret", demo_accounts())
        await chat.connect(OTHER_API_KEY, "other-secret")
        new_key = OTHER_API_KEY

    after = (await chat.reply("/subscriptions")).plain
    assert after == before and "#1" in after and "#2" in after, after
    assert (
        db_value(running, "SELECT refreshed_at FROM accounts WHERE account_id = 12345678")
        == refreshed_before
    )
    running.threecommas.clear_requests()
    assert "Balance: $31.21" in (await chat.reply("/refresh 12345678")).plain
    assert {r.api_key for r in running.threecommas.requests} == {new_key}


# --------------------------------------------------------------------------- errors and groups


@pytest.mark.parametrize("command", ["/start", "/help"])
async def test_start_and_help_recommend_the_key_pair_first(chat: Chat, command: str) -> None:
    text = (await chat.reply(command)).plain
    assert "Recommended: send /connect new" in text
    assert text.index("/connect new") < text.index("paste the API key")


async def test_a_refused_key_says_why_and_suggests_a_key_pair(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    await chat.connect()
    running.threecommas.inject(Fault.INVALID_API_KEY)
    refused = await chat.reply("/refresh 12345678")
    for part in ("wrong or expired", "signature", "not whitelisted", "/connect new"):
        assert part in refused.plain, refused.plain


async def test_connect_new_in_a_group_is_refused_with_a_link_to_the_private_chat(
    running: Sandbox,
) -> None:
    group = Chat(running.botapi, chat_id=GROUP, chat_type="group")
    answer = await group.reply("/connect new")
    assert "I only take API keys in a private chat" in answer.plain
    assert "https://t.me/threecommas_test_bot?start=connect" in answer.text
    assert "send /connect new" in answer.plain
    assert "deleted your message" not in answer.plain and not group.incoming_deleted()
    assert running.botapi.files == [] and "BEGIN PUBLIC KEY" not in answer.plain
    assert db_value(running, "SELECT COUNT(*) FROM pending_keys") == 0


# --------------------------------------------------------------------------- the sandbox


def test_the_piped_sandbox_connects_with_a_key_pair_and_prints_the_balance(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,  # no .env is read
        env=process_env(),
        input="/connect new\nsandbox-rsa-key\n/refresh 12345678\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    registered = "registered that public key as API key sandbox-rsa-key"
    assert out.count(registered) == 1, out
    assert out.find("BEGIN PUBLIC KEY") < out.find(registered) < out.find("Connected")
    assert out.find("Connected") < out.find("Balance: $31.21"), out
    assert "PRIVATE KEY" not in out and "Traceback" not in result.stderr


async def test_refresh_while_a_pair_waits_reminds_to_send_its_api_key(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    register(running, GENERATED_API_KEY, await new_pair(chat))
    for command in ("/refresh all", "/refresh", "/holdings all", "/accounts"):
        answer = await chat.reply(command)
        assert "key pair from /connect new still waits for its API key" in answer.plain, (
            command,
            answer.plain,
        )
        assert "not connected" not in answer.plain
    assert "Connected" in (await chat.reply(GENERATED_API_KEY)).plain
    assert "$31.21" in (await chat.reply("/refresh 12345678")).plain
