"""HTML for Telegram: escaping, cleaning untrusted names, plain-text fallback, splitting."""

from __future__ import annotations

import html
import re
import unicodedata

MESSAGE_LIMIT = 4096
NAME_LIMIT = 64

_TAG = re.compile(r"<[^>]*>")


def escape(value: object) -> str:
    """Escape any value for Telegram's HTML parse mode."""
    return html.escape(str(value), quote=True)


def clean_name(name: str | None, *, fallback: str = "(unnamed)", limit: int = NAME_LIMIT) -> str:
    """Remove bidi controls, zero-width and other invisible characters; shorten long names.

    The result is plain text: escape it before putting it into HTML.
    """
    if not name:
        return fallback
    visible = "".join(
        " " if char in "\n\r\t" else char
        for char in name
        if unicodedata.category(char) not in {"Cf", "Cc", "Cs", "Co", "Cn"} or char in "\n\r\t"
    )
    visible = " ".join(visible.split())
    if not visible:
        return fallback
    return visible if len(visible) <= limit else visible[: limit - 1].rstrip() + "…"


def echo(text: str) -> str:
    """What a user wrote, quoted back: cleaned and cut with an ellipsis (plain text)."""
    return clean_name(text, fallback="", limit=NAME_LIMIT)


def html_to_plain(text: str) -> str:
    """The visible text of an HTML message, for the plain-text fallback."""
    return html.unescape(_TAG.sub("", text))


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split on line boundaries into chunks of at most `limit` characters.

    Rendered messages keep every tag within one line, so a chunk never cuts a tag in two;
    a single line longer than the limit is cut hard (the plain-text fallback covers it).
    """
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return chunks or [text[:limit]]
