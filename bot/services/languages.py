"""The languages the bot speaks, and which one a chat gets.

Adding a language is one line here (its code and its own name) plus its catalog,
bot/locales/<code>/LC_MESSAGES/bot.po (see the README).
"""

from __future__ import annotations

import re

from bot.services.errors import ServiceError

# code -> the language's own name, as its speakers write it (the /language buttons show it)
LANGUAGES: dict[str, str] = {
    "en": "English",
    "ru": "Русский",
    "es": "Español",
    "pt": "Português",
    "tr": "Türkçe",
}
DEFAULT_LANGUAGE = "en"  # the catalogs' source language, and the fallback
# An IETF language tag as Telegram sends it (`en`, `pt-br`, `zh-hans`); the first part counts.
_TAG = re.compile(r"([a-z]{2,3})(?:[-_][a-z0-9]{1,8}){0,3}", re.ASCII)


class BadLanguage(ServiceError):
    """`/language <code>` with a code the bot does not speak."""

    def __init__(self, given: str) -> None:
        super().__init__(given)
        self.given = given


def supported(code: str | None) -> str | None:
    """The supported language a Telegram `language_code` or a typed code names (`pt-br` ->
    `pt`, `RU` -> `ru`), or None."""
    tag = _TAG.fullmatch((code or "").strip().casefold())
    return None if tag is None or tag[1] not in LANGUAGES else tag[1]


def parse_language(given: str) -> str:
    """The language `/language <given>` asks for: its code, or its own name."""
    code = supported(given)
    if code is None:
        by_name = {name.casefold(): code for code, name in LANGUAGES.items()}
        code = by_name.get(given.strip().casefold())
    if code is None:
        raise BadLanguage(given)
    return code
