"""/disconnect and reconnecting while 3Commas is still answering: nothing written afterwards by
a command that began before, and nothing of the old key left in the database or its WAL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.telegram.context import BotApplication
from standins.demo import DEMO_API_KEY, Sandbox, demo_accounts
from standins.threecommas_standin import demo_account
from tests.support.bot import Chat, bot_running

NEW_KEY, NEW_SECRET = "second-demo-key", "second-demo-secret"


def rows(sandbox: Sandbox, table: str) -> int:
    path = sandbox.settings.database_path
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (count,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # noqa: S608
    finally:
        connection.close()
    return int(count)


def account_ids(sandbox: Sandbox) -> set[int]:
    path = sandbox.settings.database_path
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in connection.execute("SELECT account_id FROM accounts")}
    finally:
        connection.close()


async def arrived(sandbox: Sandbox, path_part: str, api_key: str, count: int = 1) -> None:
    """Wait until 3Commas holds `count` requests of `api_key` to `path_part`."""

    def held() -> bool:
        requests = sandbox.threecommas.requests
        return sum(r.api_key == api_key and path_part in r.path_qs for r in requests) >= count

    await sandbox.botapi.wait_for(held, timeout=15)


async def progress_shown(chat: Chat) -> None:
    """Wait for the held refresh's progress message: shown after the next command's answer, it
    would be the last message `Chat.reply` returns for that command."""

    def shown() -> bool:
        return any("Refreshing" in m.plain for m in chat.botapi.messages(chat.chat_id))

    await chat.botapi.wait_for(shown, timeout=15)


async def settled(application: BotApplication, chat: Chat, text: str) -> str:
    """Wait until a bot message in the chat contains `text`, then for its background writes."""

    def shown() -> bool:
        return any(text in m.plain for m in chat.botapi.messages(chat.chat_id))

    await chat.botapi.wait_for(shown, timeout=15)
    await application.bot_data.services.accounts.drain()
    return next(m.plain for m in chat.botapi.messages(chat.chat_id) if text in m.plain)


async def test_a_refresh_answered_after_disconnect_stores_no_account_or_snapshot(
    sandbox: Sandbox,
) -> None:
    async with bot_running(sandbox, progress_delay_ms=0) as application:
        chat = Chat(sandbox.botapi)
        await chat.connect()
        gate = sandbox.threecommas.hold(DEMO_API_KEY)
        chat.send("/refresh all")
        await arrived(sandbox, "load_balances", DEMO_API_KEY, count=len(demo_accounts()))
        await progress_shown(chat)
        assert "forgot your 3Commas keys" in (await chat.reply("/disconnect")).plain
        gate.set()
        await settled(application, chat, "$31.21")
        assert (rows(sandbox, "accounts"), rows(sandbox, "snapshots")) == (0, 0)
        assert rows(sandbox, "credentials") == 0


async def test_a_connect_answered_after_disconnect_stores_nothing_and_says_so(
    sandbox: Sandbox,
) -> None:
    sandbox.threecommas.add_key(NEW_KEY, NEW_SECRET, demo_accounts())
    async with bot_running(sandbox) as application:
        chat = Chat(sandbox.botapi)
        gate = sandbox.threecommas.hold(NEW_KEY)
        chat.send(f"/connect {NEW_KEY} {NEW_SECRET}")
        await arrived(sandbox, "/accounts", NEW_KEY)
        nothing = await chat.reply("/disconnect")
        assert "Nothing was stored" in nothing.plain
        gate.set()
        answer = await settled(application, chat, "while I was checking this one")
        assert "Connected" not in answer
        assert rows(sandbox, "credentials") == 0
        assert rows(sandbox, "accounts") == 0
        refresh = await chat.reply("/refresh 12345678")
        assert "not connected a 3Commas API key" in refresh.plain


async def test_reconnecting_during_an_old_key_refresh_keeps_only_the_new_accounts(
    sandbox: Sandbox,
) -> None:
    sandbox.threecommas.add_key(NEW_KEY, NEW_SECRET, [demo_account(777, "New Exchange")])
    async with bot_running(sandbox, progress_delay_ms=0) as application:
        chat = Chat(sandbox.botapi)
        await chat.connect()
        gate = sandbox.threecommas.hold(DEMO_API_KEY)
        chat.send("/refresh 12345678")
        await arrived(sandbox, "load_balances", DEMO_API_KEY)
        await progress_shown(chat)
        assert "New Exchange" in (await chat.connect(NEW_KEY, NEW_SECRET)).plain
        gate.set()
        await settled(application, chat, "$31.21")
        assert account_ids(sandbox) == {777}
        assert rows(sandbox, "snapshots") == 0


def database_files(sandbox: Sandbox) -> dict[str, bytes]:
    path = sandbox.settings.database_path
    files = {"database": path, "WAL": Path(f"{path}-wal")}
    return {name: file.read_bytes() for name, file in files.items() if file.exists()}


def sealed_values(sandbox: Sandbox) -> list[bytes]:
    path = sandbox.settings.database_path
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT api_key, secret FROM credentials").fetchone()
    finally:
        connection.close()
    return [str(value).encode() for value in row]


async def test_after_disconnect_the_encrypted_keys_are_in_neither_the_database_nor_its_wal(
    running: Sandbox,
) -> None:
    chat = Chat(running.botapi)
    await chat.connect()
    await chat.reply("/refresh 12345678")
    sealed = sealed_values(running)
    assert any(value in b"".join(database_files(running).values()) for value in sealed)
    assert "forgot your 3Commas keys" in (await chat.reply("/disconnect")).plain
    for name, content in database_files(running).items():
        for value in sealed:
            assert value not in content, f"an encrypted key is still in the {name}"
