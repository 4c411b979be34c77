"""Bot messages as plain text for the sandbox's terminal chat."""

from __future__ import annotations

import html
import re

from standins.botapi import HtmlParseError, SentMessage, parse_telegram_html

_TAG = re.compile(r"<[^>]*>")


def html_to_text(text: str) -> str:
    """The visible text of HTML-formatted message text: tags stripped, entities unescaped.

    Line breaks are kept. Text Telegram would refuse is still shown, stripped leniently.
    """
    try:
        return parse_telegram_html(text).plain
    except HtmlParseError:
        return html.unescape(_TAG.sub("", text))


def render_for_terminal(message: SentMessage) -> str:
    """The visible text, then the inline buttons on one line per keyboard row: `[ A ] [ B ]`."""
    if message.parse_mode and message.parse_mode.lower() == "html":
        body = html_to_text(message.text)
    else:
        body = message.text
    lines = [body]
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    for row in rows:
        labels = [f"[ {button.get('text', '')} ]" for button in row if isinstance(button, dict)]
        if labels:
            lines.append(" ".join(labels))
    if message.deleted:
        lines.insert(0, "(deleted)")
    return "\n".join(lines)
