"""Telegram's HTML parse mode: what it accepts, the visible text and the entities it yields.

Offsets and lengths of entities are in UTF-16 code units, as Telegram counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]


class HtmlParseError(ValueError):
    """Text that Telegram refuses with "can't parse entities"."""


@dataclass(frozen=True)
class ParsedText:
    """The visible text of a message and its entities (offsets in UTF-16 code units)."""

    plain: str
    entities: list[JSONDict]


_SIMPLE_TAG_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_NAMED_CHARREFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[a-zA-Z0-9-]*")
_ATTRIBUTE = re.compile(
    r"""\s*([a-zA-Z0-9_-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""",
)
_CHARREF = re.compile(r"&(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[a-zA-Z][a-zA-Z0-9]*;?)")


def utf16_len(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _decode_charref(ref: str, position: int) -> str:
    body = ref[1:]
    if not body.endswith(";"):
        raise HtmlParseError(f"Unsupported entity &{body} at byte offset {position}")
    body = body[:-1]
    if body.startswith(("#x", "#X")):
        code = int(body[2:], 16)
    elif body.startswith("#"):
        code = int(body[1:])
    elif body in _NAMED_CHARREFS:
        return _NAMED_CHARREFS[body]
    else:
        raise HtmlParseError(f'Unsupported HTML entity "&{body};" at byte offset {position}')
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlParseError(f"Invalid character reference at byte offset {position}")
    return chr(code)


def _parse_attributes(text: str, tag: str, position: int) -> dict[str, str]:
    attributes: dict[str, str] = {}
    rest = text
    while rest.strip():
        match = _ATTRIBUTE.match(rest)
        if match is None or not match.group(0):
            raise HtmlParseError(
                f'Expected equal sign in declaration of attribute of tag "{tag}" at byte offset {position}'
            )
        name = match.group(1).lower()
        raw_value = next((g for g in match.groups()[1:] if g is not None), "")
        attributes[name] = _unescape_attribute(raw_value, position)
        rest = rest[match.end() :]
    return attributes


def _unescape_attribute(value: str, position: int) -> str:
    return _CHARREF.sub(lambda m: _decode_charref(m.group(0), position), value)


def parse_telegram_html(text: str) -> ParsedText:
    """Parse text sent with ``parse_mode=HTML`` the way Telegram does, or raise HtmlParseError.

    Stricter than Telegram in one respect: a bare ``&`` that starts no known entity is refused
    (Telegram shows it literally), because it almost always means text was not escaped.
    """
    plain: list[str] = []
    utf16_offset = 0
    entities: list[JSONDict] = []
    # open tags: (name, entity type, start offset in UTF-16 units, extra entity fields)
    stack: list[tuple[str, str, int, JSONDict]] = []
    i = 0
    length = len(text)
    while i < length:
        char = text[i]
        if char == "&":
            match = _CHARREF.match(text, i)
            if match is None:
                raise HtmlParseError(
                    f'Character "&" must be escaped as "&amp;" at byte offset {_byte_offset(text, i)}'
                )
            decoded = _decode_charref(match.group(0), _byte_offset(text, i))
            plain.append(decoded)
            utf16_offset += utf16_len(decoded)
            i = match.end()
            continue
        if char != "<":
            nxt = text.find("<", i)
            amp = text.find("&", i)
            stops = [p for p in (nxt, amp) if p != -1]
            end = min(stops) if stops else length
            chunk = text[i:end]
            plain.append(chunk)
            utf16_offset += utf16_len(chunk)
            i = end
            continue
        close = text.find(">", i)
        position = _byte_offset(text, i)
        if close == -1:
            raise HtmlParseError(f"Unclosed start tag at byte offset {position}")
        inside = text[i + 1 : close]
        if inside.startswith("/"):
            name = inside[1:].strip().lower()
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {position}")
            open_name, entity_type, start, extra = stack.pop()
            if name != open_name:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {position}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
            if utf16_offset > start:
                entity: JSONDict = {"type": entity_type, "offset": start}
                entity["length"] = utf16_offset - start
                entity.update(extra)
                entities.append(entity)
            i = close + 1
            continue
        name_match = _TAG_NAME.match(inside)
        assert name_match is not None
        name = name_match.group(0).lower()
        if not name or name not in _SIMPLE_TAG_ENTITIES:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {position}')
        attributes = _parse_attributes(inside[name_match.end() :], name, position)
        entity_type, extra = _entity_for_tag(name, attributes, stack, position)
        stack.append((name, entity_type, utf16_offset, extra))
        i = close + 1
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(plain), entities)


def _entity_for_tag(
    name: str,
    attributes: dict[str, str],
    stack: list[tuple[str, str, int, JSONDict]],
    position: int,
) -> tuple[str, JSONDict]:
    entity_type = _SIMPLE_TAG_ENTITIES[name]
    extra: JSONDict = {}
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {position}')
    if name == "a":
        href = attributes.get("href", "")
        if href.startswith("tg://user?id="):
            entity_type = "text_mention"
            extra["user"] = {
                "id": int(href.split("=", 1)[1] or 0),
                "is_bot": False,
                "first_name": "User",
            }
        else:
            extra["url"] = href
    if name == "tg-emoji":
        if "emoji-id" not in attributes:
            raise HtmlParseError(f"Expected custom emoji identifier at byte offset {position}")
        extra["custom_emoji_id"] = attributes["emoji-id"]
    if name == "blockquote" and "expandable" in attributes:
        entity_type = "expandable_blockquote"
    if name == "code" and stack and stack[-1][0] == "pre":
        language = attributes.get("class", "")
        if language.startswith("language-"):
            stack[-1][3]["language"] = language.removeprefix("language-")
    return entity_type, extra


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def command_entities(text: str) -> list[JSONDict]:
    """The bot_command entity of a text or caption that starts with a command."""
    command = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,64})?", text)
    if command is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}]
