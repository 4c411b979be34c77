"""The HTTP side of the Bot API stand-in: the server, the Bot API methods it answers (getMe,
getUpdates, sendMessage, editMessageText, sendPhoto, setWebhook, ...), its error answers and
the parsing of their parameters.

It answers like Telegram where the bot could get it wrong: HTML that Telegram would refuse,
text over 4096 characters, oversized callback data, flood limits (429 with ``retry_after``),
blocked users, kicked bots, migrated groups, deletions without admin rights, and forum topics
(a send into a topic that does not exist is refused; a reply lands in its message's topic).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from standins.botapi.html import HtmlParseError, JSONDict, ParsedText, parse_telegram_html
from standins.botapi.limits import Failure, Faults, FloodLimits
from standins.botapi.state import GROUP_TYPES, ChatState, SentFile, SentMessage, UploadedFile
from standins.botapi.updates import PendingPoll, UpdateQueue
from standins.botapi.webhook import Webhook, WebhookSender

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CAPTION_LENGTH = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_SIDES = 10_000  # width + height, as Telegram allows
MAX_PHOTO_RATIO = 20

Handler = Callable[[JSONDict], Awaitable[Any]]


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


class Routes:
    """The Bot API methods of one bot, served over HTTP; they read and change the shared state."""

    def __init__(
        self,
        *,
        token: str,
        privacy_mode: bool,
        state: ChatState,
        updates: UpdateQueue,
        limits: FloodLimits,
        faults: Faults,
        webhook: WebhookSender,
    ) -> None:
        self.token = token
        self.privacy_mode = privacy_mode
        self.root_url = ""
        self.answered_callbacks: dict[str, str | None] = {}
        self.commands: dict[str, list[JSONDict]] = {}
        # setChatMenuButton: by chat id, None for the default of every private chat
        self.menu_buttons: dict[int | None, JSONDict] = {}
        self.refused: list[tuple[str, str]] = []  # (method, description) of every 400 answered
        self.calls: collections.Counter[str] = collections.Counter()
        self._state = state
        self._updates = updates
        self._limits = limits
        self._faults = faults
        self._webhook = webhook
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
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
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

    async def start(self, host: str, port: int) -> str:
        """Serve on host:port (0 = any free port); returns and sets ``root_url``."""
        self._updates.loop = asyncio.get_running_loop()
        self._updates.stopping = False
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
        self._updates.stopping = True
        for poll in self._updates.polls:
            poll.wake.set()
        await self._webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

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
            self._updates.note_activity()
            error = BotApiError(404, "Not Found: method not found")
            return _json_response(error.to_json(), 404)
        name, handler = entry
        self.calls[name] += 1
        try:
            params = await _read_params(request)
            failure = self._faults.take(name, params)
            if failure is not None:
                return self._failed(request, failure)
            result = await handler(params)
        except BotApiError as error:
            if error.code == 400:
                self.refused.append((name, error.description))
            if name != "getUpdates":
                self._updates.note_activity()
            return _json_response(error.to_json(), error.code)
        if name != "getUpdates" or result:
            self._updates.note_activity()
        return _json_response({"ok": True, "result": result}, 200)

    def _failed(self, request: web.Request, failure: Failure) -> web.Response:
        self._updates.note_activity()
        if failure.status is None:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the client
        error = BotApiError(failure.status, HTTPStatus(failure.status).phrase)
        return _json_response(error.to_json(), failure.status)

    # ------------------------------------------------------------------ methods

    async def _true(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._state.bot_user,
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
        updates = self._updates
        if offset is not None:
            updates.confirm(offset)
        # a new getUpdates terminates the one pending, as Telegram does
        for poll in updates.polls:
            poll.conflicted = True
            poll.wake.set()
        deadline = time.monotonic() + timeout
        poll = PendingPoll()
        while True:
            if allowed:
                updates.drop_unwanted(set(allowed))
            batch = list(itertools.islice(updates.queued, limit))
            if batch or updates.stopping:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            updates.polls.append(poll)
            try:
                await asyncio.wait_for(poll.wake.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                updates.polls.remove(poll)
            if poll.conflicted:
                raise BotApiError(409, "Conflict: terminated by other getUpdates request")
            poll.wake.clear()
        if batch:
            updates.delivered_up_to = max(updates.delivered_up_to, batch[-1]["update_id"])
        return batch

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        text = _str(params, "text")
        parse_mode = _str_or_none(params, "parse_mode")
        parsed = _parse_text(text, parse_mode)
        markup = _reply_markup(params, self._chat_type(chat_id))
        reply_to = _reply_to_message_id(params)
        if reply_to is not None and not self._reply_target_exists(chat_id, reply_to, params):
            raise _bad_request("message to be replied not found")
        thread = self._thread_of_send(chat_id, _int(params, "message_thread_id"), reply_to)
        self._check_flood(chat_id)
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._state.new_message_id(chat_id),
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
        self._state.record_sent(message)
        return self._state.message_json(message)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._message_to_edit(params)
        if any(sent.message is message for sent in self._state.files):
            raise _bad_request("there is no text in the message to edit")
        text = _str(params, "text")
        parse_mode = _str_or_none(params, "parse_mode")
        parsed = _parse_text(text, parse_mode)
        markup = _reply_markup(params, self._chat_type(message.chat_id))
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
        return self._state.message_json(message)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._message_to_edit(params)
        markup = _reply_markup(params, self._chat_type(message.chat_id))
        if markup == message.reply_markup:
            raise _not_modified()
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return self._state.message_json(message)

    async def _delete_message(self, params: JSONDict) -> bool:
        chat_id = self._target_chat(params)
        message_id = _required_int(params, "message_id")
        key = (chat_id, message_id)
        sent = self._state.sent.get(key)
        if sent is not None and not sent.deleted:
            sent.deleted = True
            return True
        if key in self._state.incoming and key not in self._state.deleted_incoming:
            chat_type = self._state.chats.get(chat_id, {}).get("type", "private")
            if chat_type in GROUP_TYPES and not self._state.bot_admin.get(chat_id, False):
                raise _bad_request("message can't be deleted")
            self._state.deleted_incoming.add(key)
            return True
        raise _bad_request("message to delete not found")

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = _str(params, "callback_query_id")
        if query_id not in self._state.open_callbacks:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._state.open_callbacks.discard(query_id)
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

    async def _set_chat_menu_button(self, params: JSONDict) -> bool:
        button = _json(params, "menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise _bad_request("can't parse menu button")
        if button["type"] == "web_app":
            web_app = button.get("web_app")
            if not isinstance(web_app, dict) or not button.get("text"):
                raise _bad_request("can't parse menu button")
            _check_web_app_url(web_app.get("url"))
        chat_id = _int(params, "chat_id")
        if chat_id is not None and self._chat_type(chat_id) != "private":
            raise _bad_request("chat not found")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, params: JSONDict) -> JSONDict:
        chat_id = _int(params, "chat_id")
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "commands"}))

    def _chat_type(self, chat_id: int) -> str | None:
        chat = self._state.chats.get(chat_id)
        return None if chat is None else str(chat["type"])

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self.commands.pop(_scope_key(params), None)
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(_scope_key(params), [])

    async def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat_id = self._known_chat(params)
        return self._state.member_json(chat_id, _required_int(params, "user_id"))

    async def _get_chat_administrators(self, params: JSONDict) -> list[JSONDict]:
        chat_id = self._known_chat(params)
        if self._state.chats[chat_id]["type"] not in GROUP_TYPES:
            raise _bad_request("there are no administrators in the private chat")
        ids = sorted(self._state.admins.get(chat_id, set()))
        if self._state.bot_admin.get(chat_id, False):
            ids.append(self._state.bot_id)
        return [self._state.member_json(chat_id, user_id) for user_id in ids]

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        chat_id = self._known_chat(params)
        return {
            **self._state.chats[chat_id],
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
    # setWebhook, deleteWebhook and getWebhookInfo; webhook.py POSTs the updates.

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
            self._updates.drop_pending()
        self._webhook.set(
            Webhook(
                url=url,
                secret_token=secret,
                allowed_updates=list(allowed) if isinstance(allowed, list) else None,
                max_connections=_int(params, "max_connections") or 40,
            )
        )
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        if _bool(params, "drop_pending_updates"):
            self._updates.drop_pending()
        self._webhook.delete()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        webhook = self._webhook.webhook
        info: JSONDict = {
            "url": webhook.url if webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": self._updates.pending(),
        }
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = webhook.allowed_updates
            if webhook.last_error_message is not None:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
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
        if self._webhook.webhook is not None:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )

    # ------------------------------------------------------------------ chats and messages

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
        if chat_id in self._state.migrated:
            raise _bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._state.migrated[chat_id]},
            )
        if chat_id in self._state.blocked:
            chat_type = self._state.chats.get(chat_id, {}).get(
                "type", "private" if chat_id > 0 else "group"
            )
            if chat_type == "private":
                raise BotApiError(403, "Forbidden: bot was blocked by the user")
            raise BotApiError(403, f"Forbidden: bot was kicked from the {chat_type} chat")
        if chat_id not in self._state.chats:
            # sends to a chat nobody wrote in yet still work, so scheduled jobs can run in tests
            chat_type = "private" if chat_id > 0 else "group"
            self._state.chats[chat_id] = self._state.chat_json(
                chat_id, chat_type, None, {"first_name": "User"}
            )
        return chat_id

    def _known_chat(self, params: JSONDict) -> int:
        chat_id = self._chat_id_param(params)
        if chat_id in self._state.migrated:
            raise _bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._state.migrated[chat_id]},
            )
        if chat_id not in self._state.chats:
            raise _bad_request("chat not found")
        return chat_id

    def _reply_target_exists(self, chat_id: int, message_id: int, params: JSONDict) -> bool:
        reply = _json(params, "reply_parameters")
        allow_without = _bool(params, "allow_sending_without_reply") or (
            isinstance(reply, dict) and reply.get("allow_sending_without_reply") is True
        )
        key = (chat_id, message_id)
        return allow_without or key in self._state.incoming or key in self._state.sent

    def _thread_of_send(
        self, chat_id: int, message_thread_id: int | None, reply_to: int | None
    ) -> int | None:
        """The topic a sent message lands in: the one given, else the replied message's."""
        if message_thread_id is not None:
            if message_thread_id not in self._state.topics.get(chat_id, set()):
                raise _bad_request("message thread not found")
            return message_thread_id
        if reply_to is None:
            return None
        replied = self._state.incoming.get((chat_id, reply_to))
        if replied is not None:
            thread = replied.get("message_thread_id")
            return int(thread) if thread is not None else None
        sent = self._state.sent.get((chat_id, reply_to))
        return sent.message_thread_id if sent is not None else None

    def _message_to_edit(self, params: JSONDict) -> SentMessage:
        if params.get("inline_message_id"):
            raise _bad_request("inline messages are not supported by the stand-in")
        chat_id = self._target_chat(params)
        key = (chat_id, _required_int(params, "message_id"))
        message = self._state.sent.get(key)
        if message is None or message.deleted:
            if key in self._state.incoming:
                raise _bad_request("message can't be edited")
            raise _bad_request("message to edit not found")
        return message

    def _check_flood(self, chat_id: int) -> None:
        retry_after = self._limits.retry_after(chat_id)
        if retry_after:
            raise _too_many_requests(retry_after)

    # ------------------------------------------------------------------ files

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
        markup = _reply_markup(params, self._chat_type(chat_id))
        reply_to = _reply_to_message_id(params)
        if reply_to is not None and not self._reply_target_exists(chat_id, reply_to, params):
            raise _bad_request("message to be replied not found")
        self._check_flood(chat_id)
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._state.new_message_id(chat_id),
            text=caption,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            entities=parsed.entities,
            date=int(time.time()),
            _plain=parsed.plain,
        )
        self._state.record_sent(message)
        file_id = f"{kind}-{len(self._state.files_by_id) + 1}"
        self._state.files_by_id[file_id] = upload
        sent = SentFile(method, message, upload, file_id, width, height)
        self._state.files.append(sent)
        return self._file_message_json(sent, kind)

    def _upload(self, params: JSONDict, kind: str) -> UploadedFile:
        """The file in the ``kind`` field, behind an attach:// name, or an earlier file_id."""
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://") :])
        if isinstance(value, str) and value in self._state.files_by_id:
            return self._state.files_by_id[value]
        if isinstance(value, UploadedFile):
            if not value.data:
                raise _bad_request("file must be non-empty")
            return value
        if value is None or value == "":
            raise _bad_request(f'parameter "{kind}" is required')
        raise _bad_request("wrong remote file identifier specified: wrong padding in the string")

    def _file_message_json(self, sent: SentFile, kind: str) -> JSONDict:
        body = self._state.message_json(sent.message)
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


def _check_web_app_url(url: object) -> None:
    """Telegram opens Mini Apps only over https."""
    if not isinstance(url, str) or not url.startswith("https://"):
        raise _bad_request(
            f"inline keyboard button Web App URL '{url}' is invalid: Only HTTPS links are allowed"
        )


def _reply_markup(params: JSONDict, chat_type: str | None = None) -> JSONDict | None:
    """The inline keyboard, refused as Telegram refuses it: `web_app` buttons only in private
    chats and only to https addresses."""
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
            if "web_app" in button:
                if chat_type != "private":
                    raise _bad_request("BUTTON_TYPE_INVALID")
                web_app = button["web_app"]
                _check_web_app_url(web_app.get("url") if isinstance(web_app, dict) else None)
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
