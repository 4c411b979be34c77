"""The bot's sentences in a chat's language: gettext catalogs, read once per language.

texts.py marks each sentence with `N_` (or `NP_` for one with plural forms): it stays the
English original and the catalogs' key. A `Translator` for the chat's language, resolved once
per update, turns it into the chat's language and fills its named fields (`{name}`).
The catalogs are bot/locales/<code>/LC_MESSAGES/bot.po, compiled to bot.mo (`make
translations`); English needs none.
"""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass
from pathlib import Path

from bot.services.languages import DEFAULT_LANGUAGE, LANGUAGES

LOCALES = Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "bot"


def N_(message: str) -> str:
    """Marks a sentence for the catalogs; translated where it is used (`t(message)`)."""
    return message


@dataclass(frozen=True)
class Plural:
    """A sentence with plural forms: English's two, each catalog its language's own."""

    singular: str
    plural: str


def NP_(singular: str, plural: str) -> Plural:
    """Marks a sentence with plural forms for the catalogs (`t.plural(message, count)`)."""
    return Plural(singular, plural)


class Translator:
    """The sentences of texts.py in one language."""

    def __init__(self, language: str, catalog: gettext.NullTranslations) -> None:
        self.language = language
        self._catalog = catalog

    def __call__(self, message: str, **fields: object) -> str:
        """`message` (a sentence of texts.py) in this language, its `{fields}` filled."""
        text = self._catalog.gettext(message)
        return text.format(**fields) if fields else text

    def plural(self, message: Plural, count: int, **fields: object) -> str:
        """The form for `count`; `{count}` is filled with it."""
        text = self._catalog.ngettext(message.singular, message.plural, count)
        return text.format(count=count, **fields)

    def __repr__(self) -> str:
        return f"Translator({self.language!r})"


@functools.cache
def translator(language: str) -> Translator:
    """The translator of a supported language; English for any other."""
    if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
        return Translator(DEFAULT_LANGUAGE, gettext.NullTranslations())
    with (LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as compiled:
        return Translator(language, gettext.GNUTranslations(compiled))


ENGLISH = translator(DEFAULT_LANGUAGE)
