"""Inline keyboards. Button data is `action:user:target:option:place`, signed for its chat.

`target` is an account id or `all`; `option` a command's last word (`90d`), or empty; `place`
says whether pressing it answers in place (`e`, the pressed message is edited) or anew (`n`).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.services.records import ALL_ACCOUNTS, KnownAccount, Target
from bot.telegram.views import texts
from bot.telegram.views.callback_data import CallbackSigner
from bot.telegram.views.html import clean_name
from bot.telegram.views.translator import Translator

# Buttons' two letters, here when another view's buttons point to them; a per-account command
# that only its own answers point to writes its letters in its object (`action="bo"`).
# tests/test_command_list.py checks that no two are the same.
REFRESH = "rf"
HOLDINGS = "ho"
CHART = "ch"
PROFIT = "pr"
MAKE_KEY_PAIR = "kp"
HAVE_A_KEY = "hk"
LANGUAGE = "lg"
MAX_ACCOUNT_BUTTONS = 50
# `/start dashboard`: what the dashboard button of a group opens in the private chat.
DASHBOARD_START = "dashboard"


class Place(StrEnum):
    EDIT = "e"  # the answer replaces the message whose button was pressed
    NEW = "n"  # the answer is a new message under it


def command_button(
    signer: CallbackSigner,
    action: str,
    label: str,
    *,
    user_id: int,
    chat_id: int,
    target: Target,
    option: str | None = None,
    place: Place = Place.NEW,
) -> InlineKeyboardButton:
    data = signer.pack(action, user_id, target, option or "", place.value, chat_id=chat_id)
    return InlineKeyboardButton(label, callback_data=data)


def unpack_target(args: Sequence[str]) -> tuple[int, Target, str | None, Place]:
    """(user, target, option, place) of a command button's arguments; ValueError if malformed."""
    user_id, packed, option, place = args
    target: Target = ALL_ACCOUNTS if packed == ALL_ACCOUNTS else int(packed)
    return int(user_id), target, option or None, Place(place)


def summary_buttons(
    t: Translator, signer: CallbackSigner, user_id: int, target: Target, *, chat_id: int
) -> InlineKeyboardMarkup:
    """Under every summary: refresh it in place, or ask for its holdings or its chart."""

    def button(action: str, label: str, place: Place) -> InlineKeyboardButton:
        return command_button(
            signer, action, label, user_id=user_id, chat_id=chat_id, target=target, place=place
        )

    return InlineKeyboardMarkup(
        [
            [
                button(
                    REFRESH,
                    t(texts.BUTTON_REFRESH_ALL if target == ALL_ACCOUNTS else texts.BUTTON_REFRESH),
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
    user_id: int,
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
                user_id=user_id,
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
        rows.append(button(f"{icon} {t(texts.BUTTON_ALL)}", ALL_ACCOUNTS))
    return InlineKeyboardMarkup(rows)


def connect_choices(
    t: Translator, signer: CallbackSigner, user_id: int, *, chat_id: int
) -> InlineKeyboardMarkup:
    """The two ways to connect, the recommended one first."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(texts.BUTTON_MAKE_KEY_PAIR),
                    callback_data=signer.pack(MAKE_KEY_PAIR, user_id, chat_id=chat_id),
                )
            ],
            [
                InlineKeyboardButton(
                    t(texts.BUTTON_HAVE_A_KEY),
                    callback_data=signer.pack(HAVE_A_KEY, user_id, chat_id=chat_id),
                )
            ],
        ]
    )


def dashboard_button(
    t: Translator, miniapp_url: str, *, private: bool, bot_username: str
) -> InlineKeyboardButton:
    """The Mini App in a private chat; in a group, where Telegram refuses `web_app` buttons, a
    link that opens the private chat, whose /start then offers it."""
    if private:
        return InlineKeyboardButton(t(texts.DASHBOARD_BUTTON), web_app=WebAppInfo(miniapp_url))
    return InlineKeyboardButton(
        t(texts.DASHBOARD_BUTTON), url=f"https://t.me/{bot_username}?start={DASHBOARD_START}"
    )


def with_row(
    markup: InlineKeyboardMarkup | None, button: InlineKeyboardButton | None
) -> InlineKeyboardMarkup | None:
    """`markup` with `button` on a row of its own below it (None: unchanged)."""
    if button is None:
        return markup
    rows = [] if markup is None else [list(row) for row in markup.inline_keyboard]
    return InlineKeyboardMarkup([*rows, [button]])


def language_choices(
    signer: CallbackSigner, languages: dict[str, str], user_id: int, *, chat_id: int
) -> InlineKeyboardMarkup:
    """One button per language, named in its own words (`Русский`), two to a row."""
    buttons = [
        InlineKeyboardButton(
            name, callback_data=signer.pack(LANGUAGE, user_id, code, chat_id=chat_id)
        )
        for code, name in languages.items()
    ]
    return InlineKeyboardMarkup([buttons[index : index + 2] for index in range(0, len(buttons), 2)])
