"""The Telegram Bot API stand-in as tests, the sandbox and benchmarks use it.

python-telegram-bot's real ``Application`` runs against it unpatched through
``ApplicationBuilder().base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")``.
Tests, the sandbox terminal chat and benchmarks drive the user side (``send_text``,
``press_button``, ...) and read what the bot sent (``messages``, ``wait_for_text``, ...).
Tests can make it fail like a server in trouble (``fail``: 5xx answers or dropped connections)
and answer a share of sends with 429 at random (``set_random_429s``).
All state lives on the event loop that called ``start()``; call the input methods from it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import re
import time
from collections.abc import Awaitable, Callable

from standins.botapi.html import JSONDict, command_entities
from standins.botapi.limits import Faults, FloodLimits
from standins.botapi.routes import Routes
from standins.botapi.state import GROUP_TYPES, ChatState, SentFile, SentMessage
from standins.botapi.updates import UpdateQueue
from standins.botapi.webhook import Webhook, WebhookDelivery, WebhookSender


class BotApiStandIn:
    """A Telegram Bot API server for one bot, in process (the flood limits: limits.py)."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",  # noqa: S107 - a fake token for a fake server
        username: str = "threecommas_test_bot",
        bot_id: int = 123456,
        messages_per_second: float | None = None,
        group_messages_per_minute: int | None = None,
        per_chat_per_second: float | None = None,
        per_chat_burst: int = 1,
        reply_window: float = 30.0,
        privacy_mode: bool = False,
    ) -> None:
        self.token = token
        # Telegram's default for bots; off here so group tests see every message
        self.privacy_mode = privacy_mode
        self.username = username
        self.bot_id = bot_id
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "3Commas Test Bot",
            "username": username,
        }
        self.background_work: Callable[[], Awaitable[None]] | None = None
        self._callback_ids = itertools.count(4_000_000_000_001)
        self._state = ChatState(self.bot_user)
        self._updates = UpdateQueue()
        self._limits = FloodLimits(
            messages_per_second=messages_per_second,
            group_messages_per_minute=group_messages_per_minute,
            per_chat_per_second=per_chat_per_second,
            per_chat_burst=per_chat_burst,
            reply_window=reply_window,
        )
        self._faults = Faults()
        self._webhook = WebhookSender(self._updates)
        self._routes = Routes(
            token=token,
            privacy_mode=privacy_mode,
            state=self._state,
            updates=self._updates,
            limits=self._limits,
            faults=self._faults,
            webhook=self._webhook,
        )

    # ------------------------------------------------------------------ what tests read

    @property
    def root_url(self) -> str:
        return self._routes.root_url

    @property
    def calls(self) -> collections.Counter[str]:
        return self._routes.calls

    @property
    def refused(self) -> list[tuple[str, str]]:
        """(method, description) of every 400 answered."""
        return self._routes.refused

    @property
    def commands(self) -> dict[str, list[JSONDict]]:
        """setMyCommands by scope key (see routes._scope_key)."""
        return self._routes.commands

    @property
    def menu_buttons(self) -> dict[int | None, JSONDict]:
        """setChatMenuButton's buttons by chat id; None: the default of every private chat."""
        return self._routes.menu_buttons

    @property
    def answered_callbacks(self) -> dict[str, str | None]:
        return self._routes.answered_callbacks

    @property
    def deleted_incoming(self) -> set[tuple[int, int]]:
        """(chat id, message id) of users' messages the bot deleted."""
        return self._state.deleted_incoming

    @property
    def files(self) -> list[SentFile]:
        """Photos and documents the bot sent, with their bytes, in send order."""
        return self._state.files

    @property
    def flood_429s(self) -> int:
        """429s for a broken flood limit."""
        return self._limits.flood_429s

    @property
    def random_429s(self) -> int:
        """429s of set_random_429s."""
        return self._limits.random_429s

    @property
    def failed_calls(self) -> int:
        """Calls answered by a failure of ``fail``."""
        return self._faults.failed_calls

    @property
    def webhook(self) -> Webhook | None:
        """What the bot's last setWebhook asked for; None when no webhook is set."""
        return self._webhook.webhook

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        """Every POST of an update to the webhook."""
        return self._webhook.deliveries

    @property
    def last_update_id(self) -> int:
        return self._updates.last_update_id

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 = any free port); returns and sets ``root_url``."""
        return await self._routes.start(host, port)

    async def stop(self) -> None:
        """Answer pending long polls, then close the server."""
        await self._routes.stop()

    async def __aenter__(self) -> BotApiStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ input side

    def send_text(
        self,
        text: str,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Demo",
        username: str | None = None,
        chat_title: str | None = None,
        reply_to: SentMessage | None = None,
        message_thread_id: int | None = None,
    ) -> int:
        """A user writes ``text``; returns the incoming message_id.

        ``message_thread_id``: written in that topic of a forum supergroup (the chat becomes a
        forum and the topic exists from then on).
        """
        user = self._state.remember_user(user_id, first_name, username)
        chat = self._state.remember_chat(user, chat_id, chat_type, chat_title)
        message = self._state.new_incoming(chat, user)
        message["text"] = text
        if message_thread_id is not None:
            self._state.open_topic(chat, message_thread_id)
            message["message_thread_id"] = message_thread_id
            message["is_topic_message"] = True
        entities = command_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = self._state.message_json(reply_to)
        if self._bot_receives(chat["type"], text, reply_to):
            self._queue_update({"message": message})
        return int(message["message_id"])

    def send_media(
        self,
        kind: str,
        caption: str,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Demo",
    ) -> int:
        """A user sends a "photo" or a "document" with ``caption``; returns its message_id."""
        user = self._state.remember_user(user_id, first_name, None)
        chat = self._state.remember_chat(user, chat_id, chat_type, None)
        message = self._state.new_incoming(chat, user)
        file = {"file_id": f"file-{message['message_id']}", "file_unique_id": "u"}
        if kind == "photo":
            message["photo"] = [{**file, "width": 90, "height": 90}]
        elif kind == "document":
            message["document"] = {**file, "file_name": "notes.txt"}
        else:
            raise ValueError(f"unsupported media kind {kind!r}")
        message["caption"] = caption
        entities = command_entities(caption)
        if entities:
            message["caption_entities"] = entities
        if self._bot_receives(chat["type"], caption, None):
            self._queue_update({"message": message})
        return int(message["message_id"])

    def edit_incoming(self, chat_id: int, message_id: int, text: str) -> None:
        """The user edits an earlier text message of theirs: an edited_message update."""
        edited = {**self._state.incoming[(chat_id, message_id)], "text": text}
        edited["edit_date"] = int(time.time())
        edited.pop("entities", None)
        entities = command_entities(text)
        if entities:
            edited["entities"] = entities
        self._state.incoming[(chat_id, message_id)] = edited
        self._queue_update({"edited_message": edited})

    def _bot_receives(self, chat_type: str, text: str, reply_to: SentMessage | None) -> bool:
        """Privacy mode: in groups only commands for this bot, replies to it and mentions."""
        if not self.privacy_mode or chat_type not in GROUP_TYPES or reply_to is not None:
            return True
        mention = f"@{self.username}".lower()
        command = re.match(r"/[A-Za-z0-9_]+(@\w+)?", text)
        if command:
            return command.group(1) is None or command.group(1).lower() == mention
        return mention in text.lower()

    def press_button(
        self,
        message: SentMessage,
        callback_data: str,
        *,
        user_id: int = 1001,
        first_name: str = "Demo",
    ) -> str:
        """A user presses an inline button of a bot message; returns the callback query id."""
        user = self._state.remember_user(user_id, first_name, None)
        query_id = str(next(self._callback_ids))
        self._state.open_callbacks.add(query_id)
        self._queue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": self._state.message_json(message),
                    "chat_instance": str(abs(message.chat_id) * 7 + 1),
                    "data": callback_data,
                }
            }
        )
        return query_id

    def add_member_event(
        self,
        chat_id: int,
        *,
        user_id: int = 1001,
        first_name: str = "Demo",
        chat_type: str = "group",
        chat_title: str | None = None,
    ) -> int:
        """The user adds the bot to a group: a new_chat_members message and a my_chat_member update.

        A chat that had shut the bot out (block_chat) accepts its messages again.
        """
        self._state.blocked.discard(chat_id)
        user = self._state.remember_user(user_id, first_name, None)
        chat = self._state.remember_chat(user, chat_id, chat_type, chat_title)
        message = self._state.new_incoming(chat, user)
        message["new_chat_members"] = [self.bot_user]
        message["new_chat_member"] = self.bot_user
        self._queue_update({"message": message})
        self._queue_bot_membership(
            chat, user, {"status": "left"}, self._state.member_json(chat_id, self.bot_id)
        )
        return int(message["message_id"])

    def remove_member_event(
        self,
        chat_id: int,
        *,
        user_id: int = 1001,
        first_name: str = "Demo",
        chat_type: str = "group",
        chat_title: str | None = None,
    ) -> None:
        """The user removes the bot from a group: a my_chat_member update, and sends refused."""
        user = self._state.remember_user(user_id, first_name, None)
        chat = self._state.remember_chat(user, chat_id, chat_type, chat_title)
        self._state.blocked.add(chat_id)
        self._queue_bot_membership(chat, user, {"status": "member"}, {"status": "left"})

    def _queue_bot_membership(
        self, chat: JSONDict, user: JSONDict, old: JSONDict, new: JSONDict
    ) -> None:
        """A my_chat_member update: `user` changed the bot's membership in `chat`."""
        self._queue_update(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": user,
                    "date": int(time.time()),
                    "old_chat_member": {"user": self.bot_user, **old},
                    "new_chat_member": {"user": self.bot_user, **new},
                }
            }
        )

    def migrate_group(self, old_chat_id: int, new_chat_id: int) -> None:
        """The group becomes a supergroup: later sends to the old id answer ChatMigrated."""
        old_chat, new_chat = self._state.migrate(old_chat_id, new_chat_id)
        actor = next(iter(self._state.users.values()), self._state.user_json(1001, "Demo", None))
        old_message = self._state.new_incoming(old_chat, actor)
        old_message["migrate_to_chat_id"] = new_chat_id
        self._queue_update({"message": old_message})
        new_message = self._state.new_incoming(new_chat, actor)
        new_message["migrate_from_chat_id"] = old_chat_id
        self._queue_update({"message": new_message})

    def delete_topic(self, chat_id: int, message_thread_id: int) -> None:
        """An admin deletes a forum topic: later sends into it are refused."""
        self._state.topics.get(chat_id, set()).discard(message_thread_id)

    def block_chat(self, chat_id: int) -> None:
        """The user blocks the bot (private) or the bot is kicked (groups)."""
        self._state.blocked.add(chat_id)

    def set_admins(self, chat_id: int, user_ids: set[int], *, creator: int | None = None) -> None:
        """Who getChatMember/getChatAdministrators report as admins (creator: "creator")."""
        self._state.admins[chat_id] = set(user_ids)
        if creator is not None:
            self._state.admins[chat_id].add(creator)
            self._state.creators[chat_id] = creator

    def set_bot_admin(self, chat_id: int, is_admin: bool = True) -> None:
        """Whether the bot is an admin (may delete others' messages) in a group."""
        self._state.bot_admin[chat_id] = is_admin

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        method: str,
        *,
        times: int = 1,
        seconds: float | None = None,
        status: int | None = 502,
        chat_id: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (or every call for ``seconds``), to ``chat_id``
        if given, fail and do nothing: answered with HTTP ``status`` (python-telegram-bot raises
        NetworkError for a 5xx), or with the connection dropped unanswered when ``status`` is
        None. Counted in ``failed_calls``."""
        self._faults.add(method, times=times, seconds=seconds, status=status, chat_id=chat_id)

    def set_random_429s(self, fraction: float, seed: int = 0, retry_after: int = 1) -> None:
        """Answer ``fraction`` of sends and edits with 429 at random (seeded), as Telegram may
        whatever the pacing: nothing may be lost. Counted in ``random_429s``."""
        self._limits.set_random_429s(fraction, seed, retry_after)

    # ------------------------------------------------------------------ output side

    def messages(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to a chat, in send order, deleted ones included (flagged)."""
        return list(self._state.sent_by_chat.get(chat_id, []))

    def all_messages(self) -> list[SentMessage]:
        return list(self._state.sent_order)

    def last_message(self, chat_id: int) -> SentMessage | None:
        """The bot's latest message in a chat, without copying the chat's list (benchmarks)."""
        sent = self._state.sent_by_chat.get(chat_id)
        return sent[-1] if sent else None

    def pending_updates(self) -> int:
        """Queued updates the bot has not fetched yet."""
        return self._updates.pending()

    def long_polls_waiting(self) -> int:
        """getUpdates calls the stand-in holds open, waiting for an update."""
        return len(self._updates.polls)

    def unconfirmed_updates(self) -> list[JSONDict]:
        """Updates the bot has not confirmed (asked for updates past them): a new run gets them."""
        return list(self._updates.queued)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Wait until ``predicate()`` holds; it is checked after every bot call."""
        deadline = time.monotonic() + timeout
        while True:
            activity = self._updates.activity
            if predicate():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s\n{self.describe()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(activity.wait(), min(remaining, 0.1))

    async def next_message(
        self,
        chat_id: int,
        *,
        timeout: float = 20.0,  # noqa: ASYNC109
        after: int = 0,
    ) -> SentMessage:
        """The first bot message in the chat with message_id > ``after``."""
        found: list[SentMessage] = []

        def arrived() -> bool:
            found[:] = [
                m for m in self._state.sent_by_chat.get(chat_id, []) if m.message_id > after
            ]
            return bool(found)

        try:
            await self.wait_for(arrived, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no message in chat {chat_id} after id {after} within {timeout} s\n{self.describe()}"
            ) from None
        return found[0]

    async def wait_for_text(
        self,
        chat_id: int,
        contains: str,
        timeout: float = 20.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """The latest live bot message in the chat whose current text contains ``contains``."""
        found: list[SentMessage] = []

        def arrived() -> bool:
            found[:] = [
                m
                for m in self._state.sent_by_chat.get(chat_id, [])
                if not m.deleted and (contains in m.text or contains in m.plain)
            ]
            return bool(found)

        try:
            await self.wait_for(arrived, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no message containing {contains!r} in chat {chat_id} within {timeout} s\n"
                f"{self.describe()}"
            ) from None
        return found[-1]

    def report_handled(self, update_id: int) -> None:
        """The bot finished with an update (its update processor says so: standins/handled.py)."""
        self._updates.unhandled.discard(update_id)
        self._updates.note_activity()

    async def wait_handled(
        self,
        update_id: int | None = None,
        timeout: float = 15.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until the bot handled ``update_id`` (default: every update queued so far),
        then until the work it left running in the background is done."""
        started = time.monotonic()

        def handled() -> bool:
            return (
                update_id not in self._updates.unhandled
                if update_id
                else not self._updates.unhandled
            )

        try:
            await self.wait_for(handled, timeout)
        except TimeoutError:
            owed = update_id or sorted(self._updates.unhandled)
            raise TimeoutError(
                f"the bot did not finish update(s) {owed} within {timeout} s\n{self.describe()}"
            ) from None
        if self.background_work is not None:
            remaining = max(timeout - (time.monotonic() - started), 0.01)
            await asyncio.wait_for(self.background_work(), remaining)

    def describe(self, last: int = 10) -> str:
        """Recent bot messages and call counts, for failure messages."""
        lines = [f"calls: {dict(self._routes.calls)}", f"pending updates: {self.pending_updates()}"]
        recent = self._state.sent_order[-last:]
        lines.append(f"last {len(recent)} of {len(self._state.sent_order)} bot messages:")
        for m in recent:
            flag = " (deleted)" if m.deleted else ""
            flag += f" (topic {m.message_thread_id})" if m.message_thread_id is not None else ""
            text = m.plain if len(m.plain) <= 200 else m.plain[:200] + "..."
            lines.append(f"  chat {m.chat_id} #{m.message_id}{flag}: {text!r} {m.buttons or ''}")
        return "\n".join(lines)

    def files_in(self, chat_id: int) -> list[SentFile]:
        """Photos and documents the bot sent to a chat, in send order."""
        return [sent for sent in self._state.files if sent.chat_id == chat_id]

    async def wait_for_file(
        self,
        chat_id: int,
        *,
        timeout: float = 20.0,  # noqa: ASYNC109
        after: int = 0,
    ) -> SentFile:
        """The first photo or document in the chat with message_id > ``after``."""
        found: list[SentFile] = []

        def arrived() -> bool:
            found[:] = [f for f in self.files_in(chat_id) if f.message.message_id > after]
            return bool(found)

        try:
            await self.wait_for(arrived, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no photo or document in chat {chat_id} within {timeout} s\n{self.describe()}"
            ) from None
        return found[0]

    # ------------------------------------------------------------------ helpers

    def _queue_update(self, body: JSONDict) -> None:
        chat_id = _update_chat_id(body)
        if chat_id is not None:
            self._limits.note_update_from(chat_id)
        self._updates.queue(body)


def _update_chat_id(body: JSONDict) -> int | None:
    """The chat an update came from (a message, a button under a message, a membership)."""
    for value in body.values():
        if isinstance(value, dict):
            chat = value.get("chat") or (value.get("message") or {}).get("chat")
            if isinstance(chat, dict) and "id" in chat:
                return int(chat["id"])
    return None
