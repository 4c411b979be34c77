"""What the stand-in knows of chats: users, chats, members and admins, forum topics, blocked and
migrated chats, the messages users wrote and the messages and files the bot sent (deleted ones
flagged), and how the Bot API shows them as JSON."""

from __future__ import annotations

import collections
import contextlib
import time
from dataclasses import dataclass, field

from standins.botapi.html import HtmlParseError, JSONDict, parse_telegram_html

GROUP_TYPES = frozenset({"group", "supergroup"})


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
    disable_notification: bool = False  # sent without sound
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


class ChatState:
    """Chats, users and messages of one bot, shared by the Bot API methods and the driver."""

    def __init__(self, bot_user: JSONDict) -> None:
        self.bot_user = bot_user
        self.chats: dict[int, JSONDict] = {}
        self.users: dict[int, JSONDict] = {}
        # user id -> the language_code their Telegram app sends (none: the field is absent)
        self.languages: dict[int, str] = {}
        # (chat id, message id) -> what a user wrote, and those the bot deleted
        self.incoming: dict[tuple[int, int], JSONDict] = {}
        self.deleted_incoming: set[tuple[int, int]] = set()
        # what the bot sent: by (chat id, message id), by chat and in send order
        self.sent: dict[tuple[int, int], SentMessage] = {}
        self.sent_by_chat: dict[int, list[SentMessage]] = collections.defaultdict(list)
        self.sent_order: list[SentMessage] = []
        # photos and documents the bot sent, with their bytes, and the file_ids they got
        self.files: list[SentFile] = []
        self.files_by_id: dict[str, UploadedFile] = {}
        self.next_message_id: dict[int, int] = collections.defaultdict(int)
        self.admins: dict[int, set[int]] = {}
        self.creators: dict[int, int] = {}
        self.bot_admin: dict[int, bool] = {}
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}  # old group id -> its supergroup's id
        self.topics: dict[int, set[int]] = {}  # forum chat id -> its topics' message_thread_id
        self.open_callbacks: set[str] = set()  # callback queries not answered yet

    @property
    def bot_id(self) -> int:
        return int(self.bot_user["id"])

    def new_message_id(self, chat_id: int) -> int:
        """Message ids count up per chat, over users' and the bot's messages alike."""
        self.next_message_id[chat_id] += 1
        return self.next_message_id[chat_id]

    def record_sent(self, message: SentMessage) -> None:
        self.sent[(message.chat_id, message.message_id)] = message
        self.sent_by_chat[message.chat_id].append(message)
        self.sent_order.append(message)

    def remember_user(self, user_id: int, first_name: str, username: str | None) -> JSONDict:
        user = self.user_json(user_id, first_name, username)
        if user_id in self.languages:
            user["language_code"] = self.languages[user_id]
        self.users[user_id] = user
        return user

    @staticmethod
    def user_json(user_id: int, first_name: str, username: str | None) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        return user

    def remember_chat(
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
        existing = self.chats.get(chat_id)
        if existing is not None and title is None and existing["type"] == chat_type:
            return existing
        chat = self.chat_json(chat_id, chat_type, title, user)
        self.chats[chat_id] = chat
        return chat

    @staticmethod
    def chat_json(
        chat_id: int, chat_type: str, title: str | None, user: JSONDict | None
    ) -> JSONDict:
        if chat_type == "private":
            assert user is not None
            chat: JSONDict = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
            return chat
        return {"id": chat_id, "type": chat_type, "title": title or "Test Group"}

    def new_incoming(self, chat: JSONDict, user: JSONDict) -> JSONDict:
        """A message a user writes in ``chat``, kept so replies, edits and deletions find it."""
        chat_id = int(chat["id"])
        message: JSONDict = {
            "message_id": self.new_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        self.incoming[(chat_id, message["message_id"])] = message
        return message

    def message_json(self, message: SentMessage) -> JSONDict:
        body: JSONDict = {
            "message_id": message.message_id,
            "from": self.bot_user,
            "chat": self.chats.get(message.chat_id)
            or self.chat_json(message.chat_id, "private", None, {"first_name": "User"}),
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
            if key in self.incoming:
                body["reply_to_message"] = self.incoming[key]
            elif key in self.sent:
                replied = self.sent[key]
                body["reply_to_message"] = {
                    "message_id": replied.message_id,
                    "from": self.bot_user,
                    "chat": body["chat"],
                    "date": replied.date,
                    "text": replied.plain,
                }
        return body

    def member_json(self, chat_id: int, user_id: int) -> JSONDict:
        if user_id == self.bot_id:
            user = self.bot_user
            is_admin = self.bot_admin.get(chat_id, False)
        else:
            user = self.users.get(user_id) or self.user_json(user_id, f"User{user_id}", None)
            is_admin = user_id in self.admins.get(chat_id, set())
        if self.creators.get(chat_id) == user_id:
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

    def open_topic(self, chat: JSONDict, message_thread_id: int) -> None:
        if chat["type"] != "supergroup":
            raise ValueError("forum topics exist only in supergroups")
        chat["is_forum"] = True
        self.topics.setdefault(int(chat["id"]), set()).add(message_thread_id)

    def migrate(self, old_chat_id: int, new_chat_id: int) -> tuple[JSONDict, JSONDict]:
        """The group becomes a supergroup, keeping its admins; returns (old chat, new chat)."""
        old_chat = self.chats.get(old_chat_id) or self.chat_json(old_chat_id, "group", None, None)
        new_chat = {
            "id": new_chat_id,
            "type": "supergroup",
            "title": old_chat.get("title", "Group"),
        }
        self.chats[new_chat_id] = new_chat
        self.migrated[old_chat_id] = new_chat_id
        if old_chat_id in self.admins:
            self.admins[new_chat_id] = set(self.admins[old_chat_id])
        if old_chat_id in self.bot_admin:
            self.bot_admin[new_chat_id] = self.bot_admin[old_chat_id]
        return old_chat, new_chat
