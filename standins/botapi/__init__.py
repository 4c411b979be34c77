"""A local stand-in for the Telegram Bot API, served over HTTP with aiohttp (see driver.py).

Modules by concern: html (Telegram's HTML parse mode), state (chats and messages), updates
(the update queue), limits (flood limits and faults), routes (the HTTP server and the Bot API
methods), webhook (webhook delivery) and driver (``BotApiStandIn``, what tests call).
"""

from standins.botapi.driver import BotApiStandIn
from standins.botapi.html import HtmlParseError, ParsedText, parse_telegram_html
from standins.botapi.routes import MAX_TEXT_LENGTH, BotApiError
from standins.botapi.state import SentFile, SentMessage, UploadedFile
from standins.botapi.webhook import WEBHOOK_SECRET_HEADER, Webhook, WebhookDelivery

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
