"""Inline keyboards. Button data is `action:owner:target:option:place`, signed for its chat.

`target` is an account id or `all`; `option` a command's last word (`90d`), or empty; `place`
says whether pressing it answers in place (`e`, the pressed message is edited) or anew (`n`).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.services.records import ALL_ACCOUNTS, KnownAccount, Target
from bot.telegram.views import texts
from bot.telegram.views.callback_data import CallbackSigner
from bot.telegram.views.html import clean_name
from bot.telegram.views.translator import Translator

ALL: Final = ALL_ACCOUNTS
REFRESH = "rf"
HOLDINGS = "ho"
CHART = "ch"
PROFIT = "pr"
MAKE_KEY_PAIR = "kp"
HAVE_A_KEY = "hk"
LANGUAGE = "lg"
MAX_ACCOUNT_BUTTONS = 50


class Place(StrEnum):
    EDIT = "e"  # the answer replaces the message whose button was pressed
    NEW = "n"  # the answer is a new message under it


def command_button(
    signer: CallbackSigner,
    action: str,
    label: str,
    *,
    owner_id: int,
    chat_id: int,
    target: Target,
    option: str | None = None,
    place: Place = Place.NEW,
) -> InlineKeyboardButton:
    data = signer.pack(action, owner_id, target, option or "", place.value, chat_id=chat_id)
    return InlineKeyboardButton(label, callback_data=data)


def unpack_target(args: Sequence[str]) -> tuple[int, Target, str | None, Place]:
    """(owner, target, option, place) of a command button's arguments; ValueError if malformed."""
    owner, target, option, place = args
    return int(owner), ALL if target == ALL else int(target), option or None, Place(place)


def summary_buttons(
    t: Translator, signer: CallbackSigner, owner_id: int, target: Target, *, chat_id: int
) -> InlineKeyboardMarkup:
    """Under every summary: refresh it in place, or ask for its holdings or its chart."""

    def button(action: str, label: str, place: Place) -> InlineKeyboardButton:
        return command_button(
            signer, action, label, owner_id=owner_id, chat_id=chat_id, target=target, place=place
        )

    return InlineKeyboardMarkup(
        [
            [
                button(
                    REFRESH,
                    t(texts.BUTTON_REFRESH_ALL if target == ALL else texts.BUTTON_REFRESH),
                    Place.EDIT,
                ),
                button(HOLDINGS, t(texts.BUTTON_HOLDINGS), Place.NEW),
                button(CHART, t(texts.BUTTON_CHART), Place.NEW),
            ]
        ]
    )


def account_buttons(
    t: Translator,
    signer: CallbackSigner,
    action: str,
    owner_id: int,
    accounts: Sequence[KnownAccount],
    *,
    chat_id: int,
    option: str | None = None,
    with_all: bool = True,
) -> InlineKeyboardMarkup:
    """One button per account (the first 50), then one for all of them; each answers in place."""

    def button(label: str, target: Target) -> list[InlineKeyboardButton]:
        return [
            command_button(
                signer,
                action,
                label,
                owner_id=owner_id,
                chat_id=chat_id,
                target=target,
                option=option,
                place=Place.EDIT,
            )
        ]

    icon = "🔄" if action == REFRESH else "▫️"
    rows = [
        button(f"{icon} {clean_name(account.name, limit=40)}", account.account_id)
        for account in accounts[:MAX_ACCOUNT_BUTTONS]
    ]
    if with_all and len(accounts) > 1:
        rows.append(button(f"{icon} {t(texts.BUTTON_ALL)}", ALL))
    return InlineKeyboardMarkup(rows)


def connect_choices(
    t: Translator, signer: CallbackSigner, owner_id: int, *, chat_id: int
) -> InlineKeyboardMarkup:
    """The two ways to connect, the recommended one first."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(texts.BUTTON_MAKE_KEY_PAIR),
                    callback_data=signer.pack(MAKE_KEY_PAIR, owner_id, chat_id=chat_id),
                )
            ],
            [
                InlineKeyboardButton(
                    t(texts.BUTTON_HAVE_A_KEY),
                    callback_data=signer.pack(HAVE_A_KEY, owner_id, chat_id=chat_id),
                )
            ],
        ]
    )


def language_choices(
    signer: CallbackSigner, languages: dict[str, str], owner_id: int, *, chat_id: int
) -> InlineKeyboardMarkup:
    """One button per language, named in its own words (`Русский`), two to a row."""
    buttons = [
        InlineKeyboardButton(
            name, callback_data=signer.pack(LANGUAGE, owner_id, code, chat_id=chat_id)
        )
        for code, name in languages.items()
    ]
    return InlineKeyboardMarkup([buttons[index : index + 2] for index in range(0, len(buttons), 2)])
