"""A local stand-in for the Telegram Bot API, served over HTTP with aiohttp (see routes.py)."""

from standins.botapi.routes import (
    MAX_TEXT_LENGTH,
    WEBHOOK_SECRET_HEADER,
    BotApiError,
    BotApiStandIn,
    HtmlParseError,
    ParsedText,
    SentFile,
    SentMessage,
    UploadedFile,
    Webhook,
    WebhookDelivery,
    parse_telegram_html,
)

__all__ = [
    "MAX_TEXT_LENGTH",
    "WEBHOOK_SECRET_HEADER",
    "BotApiError",
    "BotApiStandIn",
    "HtmlParseError",
    "ParsedText",
    "SentFile",
    "SentMessage",
    "UploadedFile",
    "Webhook",
    "WebhookDelivery",
    "parse_telegram_html",
]
