"""The catalogs: every sentence of texts.py translated in every language, with the same
placeholders and HTML, every plural form, compiled .mo files matching their .po files, and
every message within Telegram's limits in every language."""

from __future__ import annotations

import gettext
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bot.services.languages import DEFAULT_LANGUAGE, LANGUAGES
from bot.telegram.commands import help_text
from bot.telegram.views import texts
from bot.telegram.views.html import MESSAGE_LIMIT, html_to_plain
from bot.telegram.views.render_history import CAPTION_LIMIT, chart_caption
from bot.telegram.views.translator import DOMAIN, LOCALES, Translator, translator
from tests.test_chart import history_of

TEXTS = Path(texts.__file__)
TRANSLATED = [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"<(/?)([a-zA-Z]+)[^>]*>")

Template = dict[str, tuple[str, ...]]  # msgid -> (msgid,) or (singular, plural)


def template() -> Template:
    """The sentences texts.py marks, extracted now (not from a committed .pot): a sentence added
    without running `make translations` is missing from the catalogs."""
    found: Template = {}
    for _, message, _, _ in extract_from_file(
        "python", TEXTS, keywords={"N_": None, "NP_": (1, 2)}
    ):
        forms = message if isinstance(message, tuple) else (message,)
        found[forms[0]] = forms
    return found


def catalog(code: str) -> Catalog:
    with (LOCALES / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=code)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def tag_problem(text: str) -> str | None:
    """Why the HTML tags of `text` do not nest, or None."""
    open_tags: list[str] = []
    for closing, name in TAG.findall(text):
        if not closing:
            open_tags.append(name)
        elif not open_tags or open_tags.pop() != name:
            return f"</{name}> closes nothing open"
    return f"<{open_tags[-1]}> is never closed" if open_tags else None


def problems(expected: Template, translated: Catalog) -> list[str]:
    """Everything wrong with one language's catalog against the sentences of texts.py."""
    found: list[str] = []
    for msgid, forms in expected.items():
        entry = translated.get(msgid)
        if entry is None:
            found.append(f"missing: {msgid!r}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(strings):
            found.append(f"not translated: {msgid!r}")
            continue
        if len(forms) == 2 and len(strings) != translated.num_plurals:
            found.append(f"{len(strings)} of {translated.num_plurals} plural forms: {msgid!r}")
        wanted = set().union(*(placeholders(form) for form in forms))
        for string in strings:
            got = placeholders(string)
            # a singular may say "one" instead of {count}; a translation's form may not
            if got != wanted and not (len(forms) == 2 and got == wanted - {"count"}):
                found.append(f"placeholders {sorted(got)} != {sorted(wanted)}: {string!r}")
            tags = Counter(name for _, name in TAG.findall(string))
            if tags != Counter(name for _, name in TAG.findall(forms[-1])):
                found.append(f"other HTML tags than the original: {string!r}")
            elif (why := tag_problem(string)) is not None:
                found.append(f"{why}: {string!r}")
    return found


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_sentence_is_translated_with_the_same_placeholders_forms_and_tags(
    code: str,
) -> None:
    assert problems(template(), catalog(code)) == []


def test_a_missing_or_untranslated_entry_or_a_wrong_placeholder_is_found() -> None:
    expected = template()
    russian = catalog("ru")
    russian.delete(texts.WHICH_ACCOUNT)
    russian[texts.BALANCE].string = ""
    russian[texts.TODAY].string = "Сегодня: {changes}"
    russian[texts.YOUR_ACCOUNTS].string = "<b>Ваши счета"
    plural = russian[texts.COINS_COUNTED.singular]
    plural.string = plural.string[:2]
    found = problems(expected, russian)
    assert len(found) == 5, found
    assert any("missing" in problem and "Which account?" in problem for problem in found)


def test_russian_has_three_plural_forms_and_uses_them() -> None:
    assert catalog("ru").num_plurals == 3
    t = translator("ru")
    shown = [t.plural(texts.ACCOUNTS_COUNTED, n) for n in (1, 2, 5, 21, 11)]
    assert shown == ["1 счёт", "2 счёта", "5 счетов", "21 счёт", "11 счетов"]


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_compiled_catalog_matches_its_source(code: str) -> None:
    """The committed .mo is what `make translations` makes of the .po (run it after editing)."""
    with (LOCALES / code / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    source = catalog(code)
    for entry in source:
        if not entry.id:
            continue
        if isinstance(entry.id, tuple):
            for number in range(200):
                index = eval_plural(source, number)
                assert compiled.ngettext(entry.id[0], entry.id[1], number) == entry.string[index]
        else:
            assert compiled.gettext(entry.id) == entry.string, entry.id


def eval_plural(source: Catalog, number: int) -> int:
    """The index of the plural form `number` takes, by the catalog's own Plural-Forms."""
    return int(gettext.c2py(source.plural_expr)(number))


def test_every_language_has_one_catalog_and_a_glossary() -> None:
    on_disk = {path.name for path in LOCALES.iterdir() if path.is_dir()}
    assert on_disk == set(TRANSLATED)
    for code in TRANSLATED:
        glossary = (LOCALES / code / "GLOSSARY.md").read_text()
        for term in ("balance", "profit", "deposit", "deal", "stop-loss", "key pair"):
            assert f"| {term} " in glossary, (code, term)


# --------------------------------------------------------------------------- message sizes

LONG_NAME = "W" * 64  # the longest account or exchange name shown (NAME_LIMIT)
LONGEST_FIELDS = {
    "account": f"<b>{LONG_NAME}</b> · {LONG_NAME}",
    "name": LONG_NAME,
    "query": LONG_NAME,
    "names": ", ".join(["W" * 40] * 5),
    "when": "2026-12-31 23:59 America/Argentina/ComodRivadavia",
    "zone": "America/Argentina/ComodRivadavia",
    "reason": "W" * 400,
    "schedule": "W" * 60,
}


def filled(t: Translator, msgid: str) -> str:
    """The sentence in `t`'s language with every field at its longest."""
    fields = {name: LONGEST_FIELDS.get(name, "9" * 20) for name in placeholders(msgid)}
    return t(msgid, **fields)


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_no_sentence_is_longer_than_a_message_in_any_language(code: str) -> None:
    """Each language in turn, the longest (by characters) among them included."""
    t = translator(code)
    for msgid in template():
        assert len(html_to_plain(filled(t, msgid))) <= MESSAGE_LIMIT, msgid
    help_text_length = len(html_to_plain(help_text(t)))
    assert help_text_length <= MESSAGE_LIMIT  # /help is one message


def test_the_longest_language_is_among_those_checked() -> None:
    lengths = {
        code: sum(len(filled(translator(code), msgid)) for msgid in template())
        for code in LANGUAGES
    }
    longest = max(lengths, key=lengths.__getitem__)
    assert longest != DEFAULT_LANGUAGE, lengths  # translations run longer than English
    assert longest in LANGUAGES


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_captions_fit_in_every_language(code: str) -> None:
    """The chart's caption (titles shortened when needed), after "Working again", and the
    public key's caption stay within Telegram's 1024 characters."""
    t = translator(code)
    history = history_of(["1000000000", "2", "999999999"], {1: "-123456789", 2: "987654321"})
    caption = chart_caption(t, history, LONG_NAME, LONG_NAME)
    assert len(html_to_plain(t(texts.WORKING_AGAIN) + "\n\n" + caption)) <= CAPTION_LIMIT
    assert len(t(texts.PUBLIC_KEY_CAPTION)) <= CAPTION_LIMIT
