"""Logging set-up with a filter that keeps secrets out of every log line."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict

_PEM = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
)
_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
_MAX_SECRETS = 20_000
_MIN_SECRET_LENGTH = 6


class _SecretRegistry:
    """The secrets seen by this process (bounded), longest first when redacting."""

    def __init__(self) -> None:
        self._secrets: OrderedDict[str, None] = OrderedDict()

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < _MIN_SECRET_LENGTH:
            return
        self._secrets[secret] = None
        self._secrets.move_to_end(secret)
        while len(self._secrets) > _MAX_SECRETS:
            self._secrets.popitem(last=False)

    def redact(self, text: str) -> str:
        text = _PEM.sub("[redacted key]", text)
        text = _BOT_TOKEN.sub("[redacted token]", text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, "[redacted]")
        return text


secrets = _SecretRegistry()


def register_secret(*values: str | None) -> None:
    """Redact these values from every log line from now on."""
    for value in values:
        secrets.add(value)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = secrets.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = secrets.redact(record.exc_text)
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
