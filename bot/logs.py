"""Logging set-up with a filter that keeps secrets out of every log line."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Hashable, Mapping
from enum import Enum
from typing import Any

from bot.redaction import SecretRegistry

# Bounded quantifiers and anchored starts: each pattern costs time linear in the line, even on
# 64 KiB of digits that a malformed HTTP request can bring into an error line.
_PEM = re.compile(
    r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----.*?(?:-----END [A-Z ]{0,40}PRIVATE KEY-----|$)",
    re.S,
)
_BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,16}:[A-Za-z0-9_-]{30,100}")
# A log line, and an exception's text, are cut beyond this many characters.
MAX_LINE_LENGTH = 4_000
MAX_TRACEBACK_LENGTH = 20_000


class _Secrets(SecretRegistry):
    def redact(self, text: str, replacement: str = "[redacted]") -> str:
        text = _PEM.sub("[redacted key]", text)
        text = _BOT_TOKEN.sub("[redacted token]", text)
        return super().redact(text, replacement)


secrets = _Secrets()


class EveryInterval:
    """A line for an event that can repeat thousands of times a second (refused requests,
    failed accepts): the first is logged, then at most one line per `interval` with how many
    there were since the last line."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        message: str,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._level = level
        self._message = message
        self._interval = interval
        self._clock = clock
        self._logged_at: float | None = None
        self._unlogged = 0

    def note(self, detail: str = "") -> None:
        now = self._clock()
        self._unlogged += 1
        if self._logged_at is not None and now - self._logged_at < self._interval:
            return
        suffix = f" ({detail})" if detail else ""
        if self._logged_at is None:
            self._logger.log(self._level, "%s%s", self._message, suffix)
        else:
            seconds = now - self._logged_at
            self._logger.log(
                self._level,
                "%s%s: %d times in the last %.0f s",
                self._message,
                suffix,
                self._unlogged,
                seconds,
            )
        self._logged_at = now
        self._unlogged = 0


def register_secret(*values: str | None) -> None:
    """Redact these values from every log line for the life of the process (the bot's own)."""
    secrets.add_permanent(values)


def hold_secrets(owner: Hashable, *values: str | None) -> None:
    """Redact the secrets `owner` uses now (a user's stored key, their pending key pair, a key
    being tried), in place of those it held before, which stay redacted while there is room."""
    secrets.hold(owner, values)


def note_secrets(*values: str | None) -> None:
    """Redact these values while there is room: secrets no owner holds yet."""
    secrets.add_superseded(values)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters cut]"


_SCALARS = (int, float, bool, type(None), Enum)


def _is_ours(logger_name: str) -> bool:
    return logger_name == "bot" or logger_name.startswith("bot.")


def _shape(value: Any) -> str:
    """What a payload is, never what it says: an update's text may be a user's API key."""
    update_id = getattr(value, "update_id", None)
    if isinstance(update_id, int):
        return f"<Update {update_id}>"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    try:
        return f"<{type(value).__name__} of {len(value)} items>"
    except TypeError:
        return f"<{type(value).__name__}>"


def _payload_free(value: Any) -> Any:
    if isinstance(value, str):
        # A JSON body (a webhook's update, say) is a payload even when it comes as text.
        return f"<{len(value)} characters of JSON>" if value.lstrip()[:1] in "{[" else value
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, list | tuple) and all(isinstance(item, int) for item in value):
        return value  # update ids
    return _shape(value)


def _strip_library_payloads(record: logging.LogRecord) -> None:
    """Libraries log whole updates and request parameters at DEBUG (python-telegram-bot:
    "Processing update …", "… finished with return value …"), before the bot has seen them:
    keep their messages, replace every argument that is not a plain value by its shape."""
    if _is_ours(record.name):
        return
    if not isinstance(record.msg, str):
        record.msg = _shape(record.msg)
    if isinstance(record.args, Mapping):
        if "%(" in record.msg:
            record.args = {key: _payload_free(value) for key, value in record.args.items()}
        else:  # logging's form of a single dict argument: the dict is the payload
            record.args = (_shape(record.args),)
    elif record.args:
        record.args = tuple(_payload_free(value) for value in record.args)


class ClientErrorFilter(logging.Filter):
    """aiohttp's server logs a malformed request at ERROR with its bytes (up to about 8 KB):
    the client's fault, not the bot's. Keep one short line at DEBUG, without the bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None or type(error).__module__ != "aiohttp.http_exceptions":
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
        record.msg = "a malformed HTTP request from %s: %s"
        record.args = (str(remote)[:64], type(error).__name__)
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return True


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        _strip_library_payloads(record)
        message = record.getMessage()
        redacted = _cut(secrets.redact(message), MAX_LINE_LENGTH)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _cut(secrets.redact(record.exc_text), MAX_TRACEBACK_LENGTH)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: int) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # It logs a whole unparseable answer with a traceback; the TelegramError it then raises is
    # reported where it lands, in one line.
    logging.getLogger("telegram.request.BaseRequest").setLevel(logging.CRITICAL)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientErrorFilter) for f in server.filters):
        server.addFilter(ClientErrorFilter())
