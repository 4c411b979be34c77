"""A local stand-in for the Telegram Bot API, served over HTTP with aiohttp.

python-telegram-bot's real ``Application`` runs against it unpatched through
``ApplicationBuilder().base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")``.
Tests, the sandbox terminal chat and benchmarks drive the user side (``send_text``,
``press_button``, ...) and read what the bot sent (``messages``, ``wait_for_text``, ...).

It answers like Telegram where the bot could get it wrong: HTML that Telegram would refuse,
text over 4096 characters, oversized callback data, flood limits (429 with ``retry_after``),
blocked users, kicked bots, migrated groups, deletions without admin rights, and forum topics
(a send into a topic that does not exist is refused; a reply lands in its message's topic).
Tests can make it fail like a server in trouble (``fail``: 5xx answers or dropped connections)
and answer a share of sends with 429 at random (``set_random_429s``).
All state lives on the event loop that called ``start()``; call the input methods from it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

JSONDict = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
GROUP_TYPES = frozenset({"group", "supergroup"})


class BotApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(detail: str, parameters: JSONDict | None = None) -> BotApiError:
    return BotApiError(400, f"Bad Request: {detail}", parameters)


# --------------------------------------------------------------------------- HTML parse mode


class HtmlParseError(ValueError):
    """Text that Telegram refuses with "can't parse entities"."""


@dataclass(frozen=True)
class ParsedText:
    """The visible text of a message and its entities (offsets in UTF-16 code units)."""

    plain: str
    entities: list[JSONDict]


_SIMPLE_TAG_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_NAMED_CHARREFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[a-zA-Z0-9-]*")
_ATTRIBUTE = re.compile(
    r"""\s*([a-zA-Z0-9_-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""",
)
_CHARREF = re.compile(r"&(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[a-zA-Z][a-zA-Z0-9]*;?)")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_charref(ref: str, position: int) -> str:
    body = ref[1:]
    if not body.endswith(";"):
        raise HtmlParseError(f"Unsupported entity &{body} at byte offset {position}")
    body = body[:-1]
    if body.startswith(("#x", "#X")):
        code = int(body[2:], 16)
    elif body.startswith("#"):
        code = int(body[1:])
    elif body in _NAMED_CHARREFS:
        return _NAMED_CHARREFS[body]
    else:
        raise HtmlParseError(f'Unsupported HTML entity "&{body};" at byte offset {position}')
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlParseError(f"Invalid character reference at byte offset {position}")
    return chr(code)


def _parse_attributes(text: str, tag: str, position: int) -> dict[str, str]:
    attributes: dict[str, str] = {}
    rest = text
    while rest.strip():
        match = _ATTRIBUTE.match(rest)
        if match is None or not match.group(0):
            raise HtmlParseError(
                f'Expected equal sign in declaration of attribute of tag "{tag}" at byte offset {position}'
            )
        name = match.group(1).lower()
        raw_value = next((g for g in match.groups()[1:] if g is not None), "")
        attributes[name] = _unescape_attribute(raw_value, position)
        rest = rest[match.end() :]
    return attributes


def _unescape_attribute(value: str, position: int) -> str:
    return _CHARREF.sub(lambda m: _decode_charref(m.group(0), position), value)


def parse_telegram_html(text: str) -> ParsedText:
    """Parse text sent with ``parse_mode=HTML`` the way Telegram does, or raise HtmlParseError.

    Stricter than Telegram in one respect: a bare ``&`` that starts no known entity is refused
    (Telegram shows it literally), because it almost always means text was not escaped.
    """
    plain: list[str] = []
    utf16_offset = 0
    entities: list[JSONDict] = []
    # open tags: (name, entity type, start offset in UTF-16 units, extra entity fields)
    stack: list[tuple[str, str, int, JSONDict]] = []
    i = 0
    length = len(text)
    while i < length:
        char = text[i]
        if char == "&":
            match = _CHARREF.match(text, i)
            if match is None:
                raise HtmlParseError(
                    f'Character "&" must be escaped as "&amp;" at byte offset {_byte_offset(text, i)}'
                )
            decoded = _decode_charref(match.group(0), _byte_offset(text, i))
            plain.append(decoded)
            utf16_offset += _utf16_len(decoded)
            i = match.end()
            continue
        if char != "<":
            nxt = text.find("<", i)
            amp = text.find("&", i)
            stops = [p for p in (nxt, amp) if p != -1]
            end = min(stops) if stops else length
            chunk = text[i:end]
            plain.append(chunk)
            utf16_offset += _utf16_len(chunk)
            i = end
            continue
        close = text.find(">", i)
        position = _byte_offset(text, i)
        if close == -1:
            raise HtmlParseError(f"Unclosed start tag at byte offset {position}")
        inside = text[i + 1 : close]
        if inside.startswith("/"):
            name = inside[1:].strip().lower()
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {position}")
            open_name, entity_type, start, extra = stack.pop()
            if name != open_name:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {position}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            if utf16_offset > start:
                entity: JSONDict = {"type": entity_type, "offset": start}
                entity["length"] = utf16_offset - start
                entity.update(extra)
                entities.append(entity)
            i = close + 1
            continue
        name_match = _TAG_NAME.match(inside)
        assert name_match is not None
        name = name_match.group(0).lower()
        if not name or name not in _SIMPLE_TAG_ENTITIES:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {position}')
        attributes = _parse_attributes(inside[name_match.end() :], name, position)
        entity_type, extra = _entity_for_tag(name, attributes, stack, position)
        stack.append((name, entity_type, utf16_offset, extra))
        i = close + 1
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(plain), entities)


def _entity_for_tag(
    name: str,
    attributes: dict[str, str],
    stack: list[tuple[str, str, int, JSONDict]],
    position: int,
) -> tuple[str, JSONDict]:
    entity_type = _SIMPLE_TAG_ENTITIES[name]
    extra: JSONDict = {}
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {position}')
    if name == "a":
        href = attributes.get("href", "")
        if href.startswith("tg://user?id="):
            entity_type = "text_mention"
            extra["user"] = {
                "id": int(href.split("=", 1)[1] or 0),
                "is_bot": False,
                "first_name": "User",
            }
        else:
            extra["url"] = href
    if name == "tg-emoji":
        if "emoji-id" not in attributes:
            raise HtmlParseError(f"Expected custom emoji identifier at byte offset {position}")
        extra["custom_emoji_id"] = attributes["emoji-id"]
    if name == "blockquote" and "expandable" in attributes:
        entity_type = "expandable_blockquote"
    if name == "code" and stack and stack[-1][0] == "pre":
        language = attributes.get("class", "")
        if language.startswith("language-"):
            stack[-1][3]["language"] = language.removeprefix("language-")
    return entity_type, extra


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


# --------------------------------------------------------------------------- what the bot sent


@dataclass
class SentMessage:
    """A message the bot sent, as the stand-in keeps it."""

    chat_id: int
    message_id: int
    text: str  # as sent, with HTML markup if any
    parse_mode: str | None
    reply_markup: JSONDict | None
    edits: list[str] = field(default_factory=list)  # previous texts, oldest first
    deleted: bool = False
    reply_to_message_id: int | None = None
    entities: list[JSONDict] = field(default_factory=list)
    date: int = 0
    edit_date: int | None = None
    message_thread_id: int | None = None  # the forum topic it was posted in; None: General
    sent_at: float = 0.0  # time.monotonic() when the stand-in accepted it
    edited_at: float | None = None  # time.monotonic() of its last edit
    _plain: str = ""

    def __post_init__(self) -> None:
        if self._plain or not self.text:
            return
        self._plain = self.text
        if self.parse_mode and self.parse_mode.lower() == "html":
            with contextlib.suppress(HtmlParseError):
                self._plain = parse_telegram_html(self.text).plain

    @property
    def plain(self) -> str:
        """The visible text: tags removed and entities unescaped."""
        return self._plain

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data) of every callback button of the inline keyboard, row by row."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or []
        return [
            (str(button.get("text", "")), str(button["callback_data"]))
            for row in rows
            for button in row
            if "callback_data" in button
        ]

    def button_data(self, text: str) -> str:
        """The callback_data of the button labelled ``text`` (exact, else first containing it)."""
        for label, data in self.buttons:
            if label == text:
                return data
        for label, data in self.buttons:
            if text in label:
                return data
        raise KeyError(f"no button {text!r} on message {self.message_id}: {self.buttons}")


# --------------------------------------------------------------------------- flood limits


class _SlidingWindow:
    """At most ``limit`` events per ``window`` seconds, per key."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[object, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )

    @classmethod
    def per_second(cls, rate: float) -> _SlidingWindow:
        window = max(1.0, 1.0 / rate)
        return cls(max(1, round(rate * window)), window)

    def retry_after(self, key: object, now: float) -> int:
        """Seconds to wait before one more event is allowed; 0 when allowed now."""
        events = self._events[key]
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) < self.limit:
            return 0
        return max(1, math.ceil(events[0] + self.window - now))

    def record(self, key: object, now: float) -> None:
        self._events[key].append(now)


# --------------------------------------------------------------------------- the server

Handler = Callable[[JSONDict], Awaitable[Any]]


@dataclass
class _PendingPoll:
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    conflicted: bool = False


WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_TIMEOUT_SECONDS = 10.0
WEBHOOK_RETRY_SECONDS = 0.2


@dataclass
class Webhook:
    """What the bot's last setWebhook asked for, and the last failed delivery."""

    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the webhook: the bot's HTTP status, None if unreachable."""

    update_id: int
    status: int | None


@dataclass
class _Failure:
    """Calls of one method that fail: the next `times`, or every one until `until`."""

    status: int | None  # None: the connection is dropped without an answer
    times: int
    until: float | None
    chat_id: int | None  # only calls for this chat; None: any

    def applies(self, params: JSONDict, now: float) -> bool:
        if self.chat_id is not None and str(params.get("chat_id")) != str(self.chat_id):
            return False
        return now < self.until if self.until is not None else self.times > 0

    def spent(self, now: float) -> bool:
        return now >= self.until if self.until is not None else self.times <= 0


class BotApiStandIn:
    """A Telegram Bot API server for one bot, in process.

    Flood limits, each off unless given, each a sliding window (at most N messages in any
    window), counted over sendMessage and editMessageText:
    - ``per_chat_per_second``: per chat, in bursts of up to ``per_chat_burst`` messages
      (``per_chat_burst`` messages in any ``per_chat_burst / per_chat_per_second`` seconds);
    - ``group_messages_per_minute``: per group;
    - ``messages_per_second``: over all chats, counting only the bot's unsolicited messages,
      as Telegram's limit on bulk notifications: a message is unsolicited when no update came
      from its chat in the last ``reply_window`` seconds. Answers to people do not count.
    """

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
        self.root_url = ""
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "3Commas Test Bot",
            "username": username,
        }
        # output side, read by tests
        self.deleted_incoming: set[tuple[int, int]] = set()
        self.answered_callbacks: dict[str, str | None] = {}
        self.commands: dict[str, list[JSONDict]] = {}
        self.flood_429s = 0  # 429s for a broken flood limit
        self.random_429s = 0  # 429s of set_random_429s
        self.failed_calls = 0  # calls answered by a failure of ``fail``
        self.refused: list[tuple[str, str]] = []  # (method, description) of every 400 answered
        self.calls: collections.Counter[str] = collections.Counter()
        # flood limits
        self._global_limit = (
            _SlidingWindow.per_second(messages_per_second) if messages_per_second else None
        )
        self._group_limit = (
            _SlidingWindow(group_messages_per_minute, 60.0) if group_messages_per_minute else None
        )
        self._chat_limit = (
            _SlidingWindow(per_chat_burst, per_chat_burst / per_chat_per_second)
            if per_chat_per_second
            else None
        )
        self.reply_window = reply_window
        self._last_update_from: dict[int, float] = {}  # chat id -> time.monotonic()
        self._random_429_rate = 0.0
        self._random_429_retry_after = 1
        self._random = random.Random(0)
        self._failures: dict[str, list[_Failure]] = collections.defaultdict(list)
        # chats and messages
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._sent: dict[tuple[int, int], SentMessage] = {}
        self._sent_by_chat: dict[int, list[SentMessage]] = collections.defaultdict(list)
        self._sent_order: list[SentMessage] = []
        self._incoming: dict[tuple[int, int], JSONDict] = {}
        self._next_message_id: dict[int, int] = collections.defaultdict(int)
        self._admins: dict[int, set[int]] = {}
        self._creators: dict[int, int] = {}
        self._bot_admin: dict[int, bool] = {}
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._topics: dict[int, set[int]] = {}  # forum chat id -> its topics' message_thread_id
        self._open_callbacks: set[str] = set()
        self._callback_ids = itertools.count(4_000_000_000_001)
        # updates and long polling
        self._updates: collections.deque[JSONDict] = collections.deque()
        self._next_update_id = 1
        self._delivered_up_to = 0
        self._polls: list[_PendingPoll] = []
        self._stopping = False
        # webhook: what setWebhook set, and every delivery attempt (see "webhook" below)
        self.webhook: Webhook | None = None
        self.deliveries: list[WebhookDelivery] = []
        self._webhook_wake = asyncio.Event()
        self._delivery: asyncio.Task[None] | None = None
        # activity, for wait_for; updates the bot has not reported handled, for wait_handled
        self._activity = asyncio.Event()
        self._unhandled: set[int] = set()
        self.last_update_id = 0
        self.background_work: Callable[[], Awaitable[None]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._true,
                "close": self._true,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "getUpdates": self._get_updates,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getMyCommands": self._get_my_commands,
                "getChatMember": self._get_chat_member,
                "getChatAdministrators": self._get_chat_administrators,
                "getChat": self._get_chat,
                "sendChatAction": self._send_chat_action,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
            }.items()
        }
        # photos and documents the bot sent, with their bytes (see "files" below)
        self.files: list[SentFile] = []
        self._files_by_id: dict[str, UploadedFile] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 = any free port); returns and sets ``root_url``."""
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.root_url = f"http://{host}:{bound_port}"
        return self.root_url

    async def stop(self) -> None:
        """Answer pending long polls, then close the server."""
        self._stopping = True
        for poll in self._polls:
            poll.wake.set()
        await self._stop_delivery()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

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
        user = self._remember_user(user_id, first_name, username)
        chat = self._remember_chat(user, chat_id, chat_type, chat_title)
        message = self._new_incoming(chat, user)
        message["text"] = text
        if message_thread_id is not None:
            self._open_topic(chat, message_thread_id)
            message["message_thread_id"] = message_thread_id
            message["is_topic_message"] = True
        command = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,64})?", text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))}
            ]
        if reply_to is not None:
            message["reply_to_message"] = self._message_json(reply_to)
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
        user = self._remember_user(user_id, first_name, None)
        chat = self._remember_chat(user, chat_id, chat_type, None)
        message = self._new_incoming(chat, user)
        file = {"file_id": f"file-{message['message_id']}", "file_unique_id": "u"}
        if kind == "photo":
            message["photo"] = [{**file, "width": 90, "height": 90}]
        elif kind == "document":
            message["document"] = {**file, "file_name": "notes.txt"}
        else:
            raise ValueError(f"unsupported media kind {kind!r}")
        message["caption"] = caption
        entities = _command_entities(caption)
        if entities:
            message["caption_entities"] = entities
        if self._bot_receives(chat["type"], caption, None):
            self._queue_update({"message": message})
        return int(message["message_id"])

    def edit_incoming(self, chat_id: int, message_id: int, text: str) -> None:
        """The user edits an earlier text message of theirs: an edited_message update."""
        edited = {**self._incoming[(chat_id, message_id)], "text": text}
        edited["edit_date"] = int(time.time())
        edited.pop("entities", None)
        entities = _command_entities(text)
        if entities:
            edited["entities"] = entities
        self._incoming[(chat_id, message_id)] = edited
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
        user = self._remember_user(user_id, first_name, None)
        query_id = str(next(self._callback_ids))
        self._open_callbacks.add(query_id)
        self._queue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": self._message_json(message),
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
        self._blocked.discard(chat_id)
        user = self._remember_user(user_id, first_name, None)
        chat = self._remember_chat(user, chat_id, chat_type, chat_title)
        message = self._new_incoming(chat, user)
        message["new_chat_members"] = [self.bot_user]
        message["new_chat_member"] = self.bot_user
        self._queue_update({"message": message})
        self._queue_bot_membership(
            chat, user, {"status": "left"}, self._member_json(chat_id, self.bot_id)
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
        user = self._remember_user(user_id, first_name, None)
        chat = self._remember_chat(user, chat_id, chat_type, chat_title)
        self._blocked.add(chat_id)
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
        old_chat = self._chats.get(old_chat_id) or self._chat_json(old_chat_id, "group", None, None)
        new_chat = {
            "id": new_chat_id,
            "type": "supergroup",
            "title": old_chat.get("title", "Group"),
        }
        self._chats[new_chat_id] = new_chat
        self._migrated[old_chat_id] = new_chat_id
        if old_chat_id in self._admins:
            self._admins[new_chat_id] = set(self._admins[old_chat_id])
        if old_chat_id in self._bot_admin:
            self._bot_admin[new_chat_id] = self._bot_admin[old_chat_id]
        actor = next(iter(self._users.values()), self._user_json(1001, "Demo", None))
        old_message = self._new_incoming(old_chat, actor)
        old_message["migrate_to_chat_id"] = new_chat_id
        self._queue_update({"message": old_message})
        new_message = self._new_incoming(new_chat, actor)
        new_message["migrate_from_chat_id"] = old_chat_id
        self._queue_update({"message": new_message})

    def _open_topic(self, chat: JSONDict, message_thread_id: int) -> None:
        if chat["type"] != "supergroup":
            raise ValueError("forum topics exist only in supergroups")
        chat["is_forum"] = True
        self._topics.setdefault(int(chat["id"]), set()).add(message_thread_id)

    def delete_topic(self, chat_id: int, message_thread_id: int) -> None:
        """An admin deletes a forum topic: later sends into it are refused."""
        self._topics.get(chat_id, set()).discard(message_thread_id)

    def block_chat(self, chat_id: int) -> None:
        """The user blocks the bot (private) or the bot is kicked (groups)."""
        self._blocked.add(chat_id)

    def set_admins(self, chat_id: int, user_ids: set[int], *, creator: int | None = None) -> None:
        """Who getChatMember/getChatAdministrators report as admins (creator: "creator")."""
        self._admins[chat_id] = set(user_ids)
        if creator is not None:
            self._admins[chat_id].add(creator)
            self._creators[chat_id] = creator

    def set_bot_admin(self, chat_id: int, is_admin: bool = True) -> None:
        """Whether the bot is an admin (may delete others' messages) in a group."""
        self._bot_admin[chat_id] = is_admin

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
        until = time.monotonic() + seconds if seconds is not None else None
        self._failures[method.lower()].append(_Failure(status, times, until, chat_id))

    def set_random_429s(self, fraction: float, seed: int = 0, retry_after: int = 1) -> None:
        """Answer ``fraction`` of sends and edits with 429 at random (seeded), as Telegram may
        whatever the pacing: nothing may be lost. Counted in ``random_429s``."""
        self._random_429_rate = fraction
        self._random = random.Random(seed)
        self._random_429_retry_after = retry_after

    def _take_failure(self, method: str, params: JSONDict) -> _Failure | None:
        now = time.monotonic()
        failures = self._failures.get(method.lower(), [])
        failures[:] = [f for f in failures if not f.spent(now)]
        for failure in failures:
            if failure.applies(params, now):
                failure.times -= 1
                return failure
        return None

    # ------------------------------------------------------------------ output side

    def messages(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to a chat, in send order, deleted ones included (flagged)."""
        return list(self._sent_by_chat.get(chat_id, []))

    def all_messages(self) -> list[SentMessage]:
        return list(self._sent_order)

    def last_message(self, chat_id: int) -> SentMessage | None:
        """The bot's latest message in a chat, without copying the chat's list (benchmarks)."""
        sent = self._sent_by_chat.get(chat_id)
        return sent[-1] if sent else None

    def pending_updates(self) -> int:
        """Queued updates the bot has not fetched yet."""
        return sum(1 for u in self._updates if u["update_id"] > self._delivered_up_to)

    def unconfirmed_updates(self) -> list[JSONDict]:
        """Updates the bot has not confirmed (asked for updates past them): a new run gets them."""
        return list(self._updates)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``predicate()`` holds; it is checked after every bot call."""
        deadline = time.monotonic() + timeout
        while True:
            activity = self._activity
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
        timeout: float = 5.0,  # noqa: ASYNC109
        after: int = 0,
    ) -> SentMessage:
        """The first bot message in the chat with message_id > ``after``."""
        found: list[SentMessage] = []

        def arrived() -> bool:
            found[:] = [m for m in self._sent_by_chat.get(chat_id, []) if m.message_id > after]
            return bool(found)

        try:
            await self.wait_for(arrived, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no message in chat {chat_id} after id {after} within {timeout} s\n{self.describe()}"
            ) from None
        return found[0]

    async def wait_for_text(self, chat_id: int, contains: str, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """The latest live bot message in the chat whose current text contains ``contains``."""
        found: list[SentMessage] = []

        def arrived() -> bool:
            found[:] = [
                m
                for m in self._sent_by_chat.get(chat_id, [])
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
        self._unhandled.discard(update_id)
        self._note_activity()

    async def wait_handled(
        self,
        update_id: int | None = None,
        timeout: float = 15.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until the bot handled ``update_id`` (default: every update queued so far),
        then until the work it left running in the background is done."""
        started = time.monotonic()

        def handled() -> bool:
            return update_id not in self._unhandled if update_id else not self._unhandled

        try:
            await self.wait_for(handled, timeout)
        except TimeoutError:
            owed = update_id or sorted(self._unhandled)
            raise TimeoutError(
                f"the bot did not finish update(s) {owed} within {timeout} s\n{self.describe()}"
            ) from None
        if self.background_work is not None:
            remaining = max(timeout - (time.monotonic() - started), 0.01)
            await asyncio.wait_for(self.background_work(), remaining)

    def describe(self, last: int = 10) -> str:
        """Recent bot messages and call counts, for failure messages."""
        lines = [f"calls: {dict(self.calls)}", f"pending updates: {self.pending_updates()}"]
        recent = self._sent_order[-last:]
        lines.append(f"last {len(recent)} of {len(self._sent_order)} bot messages:")
        for m in recent:
            flag = " (deleted)" if m.deleted else ""
            flag += f" (topic {m.message_thread_id})" if m.message_thread_id is not None else ""
            text = m.plain if len(m.plain) <= 200 else m.plain[:200] + "..."
            lines.append(f"  chat {m.chat_id} #{m.message_id}{flag}: {text!r} {m.buttons or ''}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        if not path.startswith("/bot") or path.count("/") != 2:
            return _json_response(BotApiError(404, "Not Found").to_json(), 404)
        token, _, method = path[len("/bot") :].partition("/")
        if token != self.token:
            return _json_response(BotApiError(401, "Unauthorized").to_json(), 401)
        entry = self._methods.get(method.lower())
        if entry is None:
            self.calls[method] += 1
            self._note_activity()
            error = BotApiError(404, "Not Found: method not found")
            return _json_response(error.to_json(), 404)
        name, handler = entry
        self.calls[name] += 1
        try:
            params = await _read_params(request)
            failure = self._take_failure(name, params)
            if failure is not None:
                return self._failed(request, failure)
            result = await handler(params)
        except BotApiError as error:
            if error.code == 400:
                self.refused.append((name, error.description))
            if name != "getUpdates":
                self._note_activity()
            return _json_response(error.to_json(), error.code)
        if name != "getUpdates" or result:
            self._note_activity()
        return _json_response({"ok": True, "result": result}, 200)

    def _failed(self, request: web.Request, failure: _Failure) -> web.Response:
        self.failed_calls += 1
        self._note_activity()
        if failure.status is None:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the client
        error = BotApiError(failure.status, HTTPStatus(failure.status).phrase)
        return _json_response(error.to_json(), failure.status)

    def _note_activity(self) -> None:
        self._activity.set()
        self._activity = asyncio.Event()

    # ------------------------------------------------------------------ methods

    async def _true(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        self._refuse_polling_while_webhook_set()
        offset = _int(params, "offset")
        limit = min(max(_int(params, "limit") or 100, 1), 100)
        timeout = max(_float(params, "timeout") or 0.0, 0.0)
        allowed = _json(params, "allowed_updates")
        if offset is not None:
            if offset < 0:
                while len(self._updates) > -offset:
                    self._updates.popleft()
            else:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
        # a new getUpdates terminates the one pending, as Telegram does
        for poll in self._polls:
            poll.conflicted = True
            poll.wake.set()
        deadline = time.monotonic() + timeout
        poll = _PendingPoll()
        while True:
            if allowed:
                self._drop_unwanted(set(allowed))
            batch = list(itertools.islice(self._updates, limit))
            if batch or self._stopping:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._polls.append(poll)
            try:
                await asyncio.wait_for(poll.wake.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                self._polls.remove(poll)
            if poll.conflicted:
                raise BotApiError(409, "Conflict: terminated by other getUpdates request")
            poll.wake.clear()
        if batch:
            self._delivered_up_to = max(self._delivered_up_to, batch[-1]["update_id"])
        return batch

    def _drop_unwanted(self, allowed: set[str]) -> None:
        kept = [u for u in self._updates if not (set(u) - {"update_id"}).isdisjoint(allowed)]
        if len(kept) != len(self._updates):
            self._unhandled.difference_update(u["update_id"] for u in self._updates)
            self._unhandled.update(u["update_id"] for u in kept)
            self._updates = collections.deque(kept)

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        text = _str(params, "text")
        parse_mode = _str_or_none(params, "parse_mode")
        parsed = _parse_text(text, parse_mode)
        markup = _reply_markup(params)
        reply_to = _reply_to_message_id(params)
        if reply_to is not None and not self._reply_target_exists(chat_id, reply_to, params):
            raise _bad_request("message to be replied not found")
        thread = self._thread_of_send(chat_id, _int(params, "message_thread_id"), reply_to)
        self._check_flood(chat_id)
        self._next_message_id[chat_id] += 1
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._next_message_id[chat_id],
            text=text,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            entities=parsed.entities,
            date=int(time.time()),
            message_thread_id=thread,
            sent_at=time.monotonic(),
            _plain=parsed.plain,
        )
        self._sent[(chat_id, message.message_id)] = message
        self._sent_by_chat[chat_id].append(message)
        self._sent_order.append(message)
        return self._message_json(message)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._message_to_edit(params)
        if any(sent.message is message for sent in self.files):
            raise _bad_request("there is no text in the message to edit")
        text = _str(params, "text")
        parse_mode = _str_or_none(params, "parse_mode")
        parsed = _parse_text(text, parse_mode)
        markup = _reply_markup(params)
        if (
            parsed.plain == message.plain
            and parsed.entities == message.entities
            and markup == message.reply_markup
        ):
            raise _not_modified()
        self._check_flood(message.chat_id)
        message.edits.append(message.text)
        message.text = text
        message.parse_mode = parse_mode
        message._plain = parsed.plain
        message.entities = parsed.entities
        message.reply_markup = markup
        message.edit_date = int(time.time())
        message.edited_at = time.monotonic()
        return self._message_json(message)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._message_to_edit(params)
        markup = _reply_markup(params)
        if markup == message.reply_markup:
            raise _not_modified()
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return self._message_json(message)

    async def _delete_message(self, params: JSONDict) -> bool:
        chat_id = self._target_chat(params)
        message_id = _required_int(params, "message_id")
        key = (chat_id, message_id)
        sent = self._sent.get(key)
        if sent is not None and not sent.deleted:
            sent.deleted = True
            return True
        if key in self._incoming and key not in self.deleted_incoming:
            chat_type = self._chats.get(chat_id, {}).get("type", "private")
            if chat_type in GROUP_TYPES and not self._bot_admin.get(chat_id, False):
                raise _bad_request("message can't be deleted")
            self.deleted_incoming.add(key)
            return True
        raise _bad_request("message to delete not found")

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = _str(params, "callback_query_id")
        if query_id not in self._open_callbacks:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._open_callbacks.discard(query_id)
        self.answered_callbacks[query_id] = _str_or_none(params, "text")
        return True

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = _json(params, "commands")
        if not isinstance(commands, list):
            raise _bad_request('parameter "commands" is required')
        for command in commands:
            name = str(command.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[_scope_key(params)] = list(commands)
        return True

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self.commands.pop(_scope_key(params), None)
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(_scope_key(params), [])

    async def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat_id = self._known_chat(params)
        return self._member_json(chat_id, _required_int(params, "user_id"))

    async def _get_chat_administrators(self, params: JSONDict) -> list[JSONDict]:
        chat_id = self._known_chat(params)
        if self._chats[chat_id]["type"] not in GROUP_TYPES:
            raise _bad_request("there are no administrators in the private chat")
        ids = sorted(self._admins.get(chat_id, set()))
        if self._bot_admin.get(chat_id, False):
            ids.append(self.bot_id)
        return [self._member_json(chat_id, user_id) for user_id in ids]

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        chat_id = self._known_chat(params)
        return {
            **self._chats[chat_id],
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _send_chat_action(self, params: JSONDict) -> bool:
        self._target_chat(params)
        _str(params, "action")
        return True

    # ------------------------------------------------------------------ webhook
    # setWebhook, deleteWebhook and getWebhookInfo; while a webhook is set, queued updates are
    # POSTed to its URL with the secret header (getUpdates answers 409), as Telegram does.
    # Unlike Telegram, http:// URLs and any port are accepted, so a local bot can be called.

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = _str(params, "url")
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        await self._resolve_webhook_host(url)
        secret = _str_or_none(params, "secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad_request("secret token contains unallowed characters")
        allowed = _json(params, "allowed_updates")
        if _bool(params, "drop_pending_updates"):
            self._drop_pending()
        self.webhook = Webhook(
            url=url,
            secret_token=secret,
            allowed_updates=list(allowed) if isinstance(allowed, list) else None,
            max_connections=_int(params, "max_connections") or 40,
        )
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.create_task(self._deliver_updates())
        self._webhook_wake.set()
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        if _bool(params, "drop_pending_updates"):
            self._drop_pending()
        self.webhook = None
        self._webhook_wake.set()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": self.pending_updates(),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = self.webhook.allowed_updates
            if self.webhook.last_error_message is not None:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        return info

    @staticmethod
    async def _resolve_webhook_host(url: str) -> None:
        """Telegram resolves the webhook's host when it is set, and refuses one it cannot."""
        try:
            await asyncio.get_running_loop().getaddrinfo(urlsplit(url).hostname, None)
        except OSError:
            raise _bad_request(
                "bad webhook: Failed to resolve host: Name or service not known"
            ) from None

    def _refuse_polling_while_webhook_set(self) -> None:
        if self.webhook is not None:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )

    def _drop_pending(self) -> None:
        self._unhandled.difference_update(u["update_id"] for u in self._updates)
        self._updates.clear()
        self._delivered_up_to = self._next_update_id - 1

    async def _deliver_updates(self) -> None:
        """One update at a time, in order; the next only after a 2xx answer, else it is sent
        again after a pause (Telegram retries too)."""
        timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self._stopping and self.webhook is not None:
                self._webhook_wake.clear()
                update = self._next_for_webhook(self.webhook)
                if update is None:
                    await self._webhook_wake.wait()
                    continue
                if await self._post_update(session, self.webhook, update):
                    self._updates.popleft()
                    self._delivered_up_to = update["update_id"]
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._webhook_wake.wait(), WEBHOOK_RETRY_SECONDS)

    def _next_for_webhook(self, webhook: Webhook) -> JSONDict | None:
        while self._updates and self._updates[0]["update_id"] <= self._delivered_up_to:
            self._updates.popleft()  # fetched by getUpdates before the webhook was set
        if webhook.allowed_updates:
            self._drop_unwanted(set(webhook.allowed_updates))
        return self._updates[0] if self._updates else None

    async def _post_update(
        self, session: aiohttp.ClientSession, webhook: Webhook, update: JSONDict
    ) -> bool:
        headers = {WEBHOOK_SECRET_HEADER: webhook.secret_token} if webhook.secret_token else {}
        status: int | None = None
        failure: str | None = None
        try:
            async with session.post(webhook.url, json=update, headers=headers) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            failure = f"Connection failed: {error.__class__.__name__}"
        if status is not None and not 200 <= status < 300:
            failure = f"Wrong response from the webhook: {status}"
        if failure is not None:
            webhook.last_error_date, webhook.last_error_message = int(time.time()), failure
        self.deliveries.append(WebhookDelivery(update_id=update["update_id"], status=status))
        self._note_activity()
        return failure is None

    async def _stop_delivery(self) -> None:
        task, self._delivery = self._delivery, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ------------------------------------------------------------------ helpers

    def _queue_update(self, body: JSONDict) -> None:
        chat_id = _update_chat_id(body)
        if chat_id is not None:
            self._last_update_from[chat_id] = time.monotonic()
        self.last_update_id = self._next_update_id
        self._updates.append({"update_id": self.last_update_id, **body})
        self._unhandled.add(self.last_update_id)
        self._next_update_id += 1
        self._wake_polls()

    def _wake_polls(self) -> None:
        def wake() -> None:
            for poll in self._polls:
                poll.wake.set()
            self._webhook_wake.set()

        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake()
        else:
            loop.call_soon_threadsafe(wake)

    def _remember_user(self, user_id: int, first_name: str, username: str | None) -> JSONDict:
        user = self._user_json(user_id, first_name, username)
        self._users[user_id] = user
        return user

    @staticmethod
    def _user_json(user_id: int, first_name: str, username: str | None) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        return user

    def _remember_chat(
        self, user: JSONDict, chat_id: int | None, chat_type: str, title: str | None
    ) -> JSONDict:
        if chat_type == "private":
            chat_id = user["id"] if chat_id is None else chat_id
        elif chat_type in GROUP_TYPES:
            if chat_id is None:
                chat_id = -int(user["id"]) if chat_type == "group" else -(10**12) - int(user["id"])
            if chat_id >= 0:
                raise ValueError(f"group chat ids are negative, got {chat_id}")
        else:
            raise ValueError(f"unsupported chat type {chat_type!r}")
        existing = self._chats.get(chat_id)
        if existing is not None and title is None and existing["type"] == chat_type:
            return existing
        chat = self._chat_json(chat_id, chat_type, title, user)
        self._chats[chat_id] = chat
        return chat

    @staticmethod
    def _chat_json(
        chat_id: int, chat_type: str, title: str | None, user: JSONDict | None
    ) -> JSONDict:
        if chat_type == "private":
            assert user is not None
            chat: JSONDict = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
            return chat
        return {"id": chat_id, "type": chat_type, "title": title or "Test Group"}

    def _new_incoming(self, chat: JSONDict, user: JSONDict) -> JSONDict:
        chat_id = int(chat["id"])
        self._next_message_id[chat_id] += 1
        message: JSONDict = {
            "message_id": self._next_message_id[chat_id],
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        self._incoming[(chat_id, message["message_id"])] = message
        return message

    def _message_json(self, message: SentMessage) -> JSONDict:
        body: JSONDict = {
            "message_id": message.message_id,
            "from": self.bot_user,
            "chat": self._chats.get(message.chat_id)
            or self._chat_json(message.chat_id, "private", None, {"first_name": "User"}),
            "date": message.date,
            "text": message.plain,
        }
        if message.entities:
            body["entities"] = message.entities
        if message.message_thread_id is not None:
            body["message_thread_id"] = message.message_thread_id
            body["is_topic_message"] = True
        if message.reply_markup:
            body["reply_markup"] = message.reply_markup
        if message.edit_date is not None:
            body["edit_date"] = message.edit_date
        if message.reply_to_message_id is not None:
            key = (message.chat_id, message.reply_to_message_id)
            if key in self._incoming:
                body["reply_to_message"] = self._incoming[key]
            elif key in self._sent:
                replied = self._sent[key]
                body["reply_to_message"] = {
                    "message_id": replied.message_id,
                    "from": self.bot_user,
                    "chat": body["chat"],
                    "date": replied.date,
                    "text": replied.plain,
                }
        return body

    def _member_json(self, chat_id: int, user_id: int) -> JSONDict:
        if user_id == self.bot_id:
            user = self.bot_user
            is_admin = self._bot_admin.get(chat_id, False)
        else:
            user = self._users.get(user_id) or self._user_json(user_id, f"User{user_id}", None)
            is_admin = user_id in self._admins.get(chat_id, set())
        if self._creators.get(chat_id) == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if not is_admin:
            return {"status": "member", "user": user}
        rights = [
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
            "can_pin_messages",
        ]
        member: JSONDict = {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_promote_members": False,
        }
        member.update(dict.fromkeys(rights, True))
        return member

    def _chat_id_param(self, params: JSONDict) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad_request("chat_id is empty")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise _bad_request("chat not found") from None

    def _target_chat(self, params: JSONDict) -> int:
        """The chat of a send/edit/delete, refused like Telegram when migrated or blocked."""
        chat_id = self._chat_id_param(params)
        if chat_id in self._migrated:
            raise _bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id in self._blocked:
            chat_type = self._chats.get(chat_id, {}).get(
                "type", "private" if chat_id > 0 else "group"
            )
            if chat_type == "private":
                raise BotApiError(403, "Forbidden: bot was blocked by the user")
            raise BotApiError(403, f"Forbidden: bot was kicked from the {chat_type} chat")
        if chat_id not in self._chats:
            # sends to a chat nobody wrote in yet still work, so scheduled jobs can run in tests
            chat_type = "private" if chat_id > 0 else "group"
            self._chats[chat_id] = self._chat_json(chat_id, chat_type, None, {"first_name": "User"})
        return chat_id

    def _known_chat(self, params: JSONDict) -> int:
        chat_id = self._chat_id_param(params)
        if chat_id in self._migrated:
            raise _bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id not in self._chats:
            raise _bad_request("chat not found")
        return chat_id

    def _reply_target_exists(self, chat_id: int, message_id: int, params: JSONDict) -> bool:
        reply = _json(params, "reply_parameters")
        allow_without = _bool(params, "allow_sending_without_reply") or (
            isinstance(reply, dict) and reply.get("allow_sending_without_reply") is True
        )
        key = (chat_id, message_id)
        return allow_without or key in self._incoming or key in self._sent

    def _thread_of_send(
        self, chat_id: int, message_thread_id: int | None, reply_to: int | None
    ) -> int | None:
        """The topic a sent message lands in: the one given, else the replied message's."""
        if message_thread_id is not None:
            if message_thread_id not in self._topics.get(chat_id, set()):
                raise _bad_request("message thread not found")
            return message_thread_id
        if reply_to is None:
            return None
        replied = self._incoming.get((chat_id, reply_to))
        if replied is not None:
            thread = replied.get("message_thread_id")
            return int(thread) if thread is not None else None
        sent = self._sent.get((chat_id, reply_to))
        return sent.message_thread_id if sent is not None else None

    def _message_to_edit(self, params: JSONDict) -> SentMessage:
        if params.get("inline_message_id"):
            raise _bad_request("inline messages are not supported by the stand-in")
        chat_id = self._target_chat(params)
        key = (chat_id, _required_int(params, "message_id"))
        message = self._sent.get(key)
        if message is None or message.deleted:
            if key in self._incoming:
                raise _bad_request("message can't be edited")
            raise _bad_request("message to edit not found")
        return message

    def _unsolicited(self, chat_id: int, now: float) -> bool:
        """No update came from the chat lately: the message is not an answer to anyone."""
        last = self._last_update_from.get(chat_id)
        return last is None or now - last > self.reply_window

    def _check_flood(self, chat_id: int) -> None:
        now = time.monotonic()
        if self._random_429_rate and self._random.random() < self._random_429_rate:
            self.random_429s += 1
            raise _too_many_requests(self._random_429_retry_after)
        checks: list[tuple[_SlidingWindow, object]] = []
        if self._global_limit is not None and self._unsolicited(chat_id, now):
            checks.append((self._global_limit, None))
        if self._group_limit is not None and chat_id < 0:
            checks.append((self._group_limit, chat_id))
        if self._chat_limit is not None:
            checks.append((self._chat_limit, chat_id))
        retry_after = max((limit.retry_after(key, now) for limit, key in checks), default=0)
        if retry_after:
            self.flood_429s += 1
            raise _too_many_requests(retry_after)
        for limit, key in checks:
            limit.record(key, now)

    # ------------------------------------------------------------------ files

    def files_in(self, chat_id: int) -> list[SentFile]:
        """Photos and documents the bot sent to a chat, in send order."""
        return [sent for sent in self.files if sent.chat_id == chat_id]

    async def wait_for_file(
        self,
        chat_id: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
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

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        return await self._send_file(params, "sendPhoto", "photo")

    async def _send_document(self, params: JSONDict) -> JSONDict:
        return await self._send_file(params, "sendDocument", "document")

    async def _send_file(self, params: JSONDict, method: str, kind: str) -> JSONDict:
        chat_id = self._target_chat(params)
        upload = self._upload(params, kind)
        width = height = 0
        if kind == "photo":
            width, height = _photo_size(upload)
        caption = _str_or_none(params, "caption") or ""
        parse_mode = _str_or_none(params, "parse_mode")
        parsed = _parse_caption(caption, parse_mode)
        markup = _reply_markup(params)
        reply_to = _reply_to_message_id(params)
        if reply_to is not None and not self._reply_target_exists(chat_id, reply_to, params):
            raise _bad_request("message to be replied not found")
        self._check_flood(chat_id)
        self._next_message_id[chat_id] += 1
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._next_message_id[chat_id],
            text=caption,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            entities=parsed.entities,
            date=int(time.time()),
            _plain=parsed.plain,
        )
        self._sent[(chat_id, message.message_id)] = message
        self._sent_by_chat[chat_id].append(message)
        self._sent_order.append(message)
        file_id = f"{kind}-{len(self._files_by_id) + 1}"
        self._files_by_id[file_id] = upload
        sent = SentFile(method, message, upload, file_id, width, height)
        self.files.append(sent)
        return self._file_message_json(sent, kind)

    def _upload(self, params: JSONDict, kind: str) -> UploadedFile:
        """The file in the ``kind`` field, behind an attach:// name, or an earlier file_id."""
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://") :])
        if isinstance(value, str) and value in self._files_by_id:
            return self._files_by_id[value]
        if isinstance(value, UploadedFile):
            if not value.data:
                raise _bad_request("file must be non-empty")
            return value
        if value is None or value == "":
            raise _bad_request(f'parameter "{kind}" is required')
        raise _bad_request("wrong remote file identifier specified: wrong padding in the string")

    def _file_message_json(self, sent: SentFile, kind: str) -> JSONDict:
        body = self._message_json(sent.message)
        body.pop("text", None)
        body.pop("entities", None)
        if sent.message.plain:
            body["caption"] = sent.message.plain
        if sent.message.entities:
            body["caption_entities"] = sent.message.entities
        size = len(sent.data)
        unique = sent.file_id.upper()
        if kind == "photo":
            body["photo"] = [
                {
                    "file_id": sent.file_id,
                    "file_unique_id": unique,
                    "width": sent.width,
                    "height": sent.height,
                    "file_size": size,
                }
            ]
        else:
            body["document"] = {
                "file_id": sent.file_id,
                "file_unique_id": unique,
                "file_name": sent.file.filename or "file",
                "mime_type": sent.file.content_type or "application/octet-stream",
                "file_size": size,
            }
        return body


# --------------------------------------------------------------------------- files
# sendPhoto and sendDocument: multipart uploads kept with their bytes, so tests can check them.

MAX_CAPTION_LENGTH = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_SIDES = 10_000  # width + height, as Telegram allows
MAX_PHOTO_RATIO = 20


@dataclass
class UploadedFile:
    """One file of a multipart request."""

    name: str  # the form field
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)


@dataclass
class SentFile:
    """A photo or document the bot sent: its bytes, and the message that carries it."""

    method: str  # "sendPhoto" or "sendDocument"
    message: SentMessage  # chat, id, caption (as ``text``), parse mode, buttons
    file: UploadedFile
    file_id: str
    width: int = 0  # photos only
    height: int = 0

    @property
    def chat_id(self) -> int:
        return self.message.chat_id

    @property
    def data(self) -> bytes:
        return self.file.data

    @property
    def caption(self) -> str:
        """As sent, with HTML markup if any."""
        return self.message.text

    @property
    def caption_plain(self) -> str:
        return self.message.plain


def _uploaded(name: str, field_value: web.FileField) -> UploadedFile:
    return UploadedFile(
        name=name,
        filename=field_value.filename,
        content_type=field_value.content_type,
        data=field_value.file.read(),
    )


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG, from its header; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data) and data[index] == 0xFF:
            marker = data[index + 1]
            length = int.from_bytes(data[index + 2 : index + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):  # start of frame: height, then width
                height = int.from_bytes(data[index + 5 : index + 7], "big")
                return int.from_bytes(data[index + 7 : index + 9], "big"), height
            index += 2 + length
    return None


def _photo_size(upload: UploadedFile) -> tuple[int, int]:
    """Refuse what Telegram refuses as a photo; return its width and height."""
    if len(upload.data) > MAX_PHOTO_BYTES:
        raise _bad_request("PHOTO_INVALID_DIMENSIONS: photo is larger than 10 MB")
    size = image_size(upload.data)
    if size is None:
        raise _bad_request("IMAGE_PROCESS_FAILED")
    width, height = size
    if width <= 0 or height <= 0 or width + height > MAX_PHOTO_SIDES:
        raise _bad_request("PHOTO_INVALID_DIMENSIONS")
    if max(width, height) > MAX_PHOTO_RATIO * min(width, height):
        raise _bad_request("PHOTO_INVALID_DIMENSIONS")
    return width, height


def _parse_caption(caption: str, parse_mode: str | None) -> ParsedText:
    """Like a text, but optional and at most 1024 characters once entities are parsed."""
    if not caption:
        return ParsedText("", [])
    if parse_mode is not None and parse_mode.lower() == "html":
        try:
            parsed = parse_telegram_html(caption)
        except HtmlParseError as error:
            raise _bad_request(f"can't parse entities: {error}") from None
    else:
        parsed = ParsedText(caption, [])
    if len(parsed.plain) > MAX_CAPTION_LENGTH:
        raise _bad_request("message caption is too long")
    return parsed


def _too_many_requests(retry_after: int) -> BotApiError:
    return BotApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _update_chat_id(body: JSONDict) -> int | None:
    """The chat an update came from (a message, a button under a message, a membership)."""
    for value in body.values():
        if isinstance(value, dict):
            chat = value.get("chat") or (value.get("message") or {}).get("chat")
            if isinstance(chat, dict) and "id" in chat:
                return int(chat["id"])
    return None


# --------------------------------------------------------------------------- parameters


async def _read_params(request: web.Request) -> JSONDict:
    params: JSONDict = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad_request("can't parse JSON") from None
            if isinstance(body, dict):
                params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
            params.update(
                {k: _uploaded(k, v) for k, v in form.items() if isinstance(v, web.FileField)}
            )
    return params


def _str(params: JSONDict, name: str) -> str:
    value = params.get(name)
    if value is None:
        raise _bad_request(f'parameter "{name}" is required')
    return str(value)


def _str_or_none(params: JSONDict, name: str) -> str | None:
    value = params.get(name)
    return None if value is None or value == "" else str(value)


N = TypeVar("N", int, float)


def _number(params: JSONDict, name: str, convert: Callable[[Any], N]) -> N | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return convert(value)
    except (TypeError, ValueError):
        raise _bad_request(f"invalid {name} specified") from None


def _int(params: JSONDict, name: str) -> int | None:
    return _number(params, name, int)


def _required_int(params: JSONDict, name: str) -> int:
    value = _int(params, name)
    if value is None:
        raise _bad_request(
            f"{name} is empty" if name != "message_id" else "message identifier is not specified"
        )
    return value


def _float(params: JSONDict, name: str) -> float | None:
    return _number(params, name, float)


def _bool(params: JSONDict, name: str) -> bool:
    value = params.get(name)
    return value is True or value in ("true", "True", "1")


def _json(params: JSONDict, name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(f"can't parse {name} JSON object") from None
    return value


def _parse_text(text: str, parse_mode: str | None) -> ParsedText:
    if not text.strip():
        raise _bad_request("message text is empty")
    if parse_mode is not None and parse_mode.lower() == "html":
        try:
            parsed = parse_telegram_html(text)
        except HtmlParseError as error:
            raise _bad_request(f"can't parse entities: {error}") from None
    else:
        parsed = ParsedText(text, [])
    if not parsed.plain.strip():
        raise _bad_request("message text is empty")
    if len(parsed.plain) > MAX_TEXT_LENGTH:
        raise _bad_request("message is too long")
    return parsed


def _command_entities(text: str) -> list[JSONDict]:
    """The bot_command entity of a text or caption that starts with a command."""
    command = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,64})?", text)
    if command is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))}]


def _reply_markup(params: JSONDict) -> JSONDict | None:
    markup = _json(params, "reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    for row in _rows(markup.get("inline_keyboard")):
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if (
                data is not None
                and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise _bad_request("BUTTON_DATA_INVALID")
    return markup


def _rows(keyboard: object) -> Iterable[list[Any]]:
    if keyboard is None:
        return []
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    return keyboard


def _reply_to_message_id(params: JSONDict) -> int | None:
    reply = _json(params, "reply_parameters")
    if isinstance(reply, dict) and reply.get("message_id") is not None:
        return int(reply["message_id"])
    return _int(params, "reply_to_message_id")


def _scope_key(params: JSONDict) -> str:
    """commands key: scope type, plus chat/user ids for chat scopes, plus @language if any."""
    scope = _json(params, "scope") or {"type": "default"}
    key = str(scope.get("type", "default"))
    if "chat_id" in scope:
        key += f":{scope['chat_id']}"
    if "user_id" in scope:
        key += f":{scope['user_id']}"
    language = _str_or_none(params, "language_code")
    return f"{key}@{language}" if language else key


def _not_modified() -> BotApiError:
    return _bad_request(
        "message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )


def _json_response(body: JSONDict, status: int) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status=status,
        content_type="application/json",
    )
