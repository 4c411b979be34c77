"""Inline keyboards. Button data is `action:owner:target:option:place`, signed for its chat.

`target` is an account id or `all`; `option` a command's last word (`90d`), or empty; `place`
says whether pressing it answers in place (`e`, the pressed message is edited) or anew (`n`).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.services.records import ALL_ACCOUNTS, KnownAccount, Target
from bot.telegram.views.callback_data import CallbackSigner
from bot.telegram.views.html import clean_name
from bot.telegram.views.texts import DASHBOARD_BUTTON

ALL: Final = ALL_ACCOUNTS
REFRESH = "rf"
HOLDINGS = "ho"
CHART = "ch"
PROFIT = "pr"
BOTS = "bo"
DEALS = "de"
MAKE_KEY_PAIR = "kp"
HAVE_A_KEY = "hk"
MAKE_KEY_PAIR_LABEL = "🔐 Make a key pair for me (recommended)"
HAVE_A_KEY_LABEL = "I already have a key"
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
    signer: CallbackSigner, owner_id: int, target: Target, *, chat_id: int
) -> InlineKeyboardMarkup:
    """Under every summary: refresh it in place, or ask for its holdings or its chart."""

    def button(action: str, label: str, place: Place) -> InlineKeyboardButton:
        return command_button(
            signer, action, label, owner_id=owner_id, chat_id=chat_id, target=target, place=place
        )

    return InlineKeyboardMarkup(
        [
            [
                button(REFRESH, "🔄 Refresh all" if target == ALL else "🔄 Refresh", Place.EDIT),
                button(HOLDINGS, "🪙 Holdings", Place.NEW),
                button(CHART, "📈 Chart", Place.NEW),
            ]
        ]
    )


def account_buttons(
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
        rows.append(button(f"{icon} All", ALL))
    return InlineKeyboardMarkup(rows)


def connect_choices(signer: CallbackSigner, owner_id: int, *, chat_id: int) -> InlineKeyboardMarkup:
    """The two ways to connect, the recommended one first."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    MAKE_KEY_PAIR_LABEL,
                    callback_data=signer.pack(MAKE_KEY_PAIR, owner_id, chat_id=chat_id),
                )
            ],
            [
                InlineKeyboardButton(
                    HAVE_A_KEY_LABEL,
                    callback_data=signer.pack(HAVE_A_KEY, owner_id, chat_id=chat_id),
                )
            ],
        ]
    )


def dashboard_button(miniapp_url: str, *, private: bool, bot_username: str) -> InlineKeyboardButton:
    """The Mini App in a private chat; in a group, where Telegram refuses `web_app` buttons, a
    link that opens the private chat, whose /start then offers it."""
    if private:
        return InlineKeyboardButton(DASHBOARD_BUTTON, web_app=WebAppInfo(miniapp_url))
    return InlineKeyboardButton(
        DASHBOARD_BUTTON, url=f"https://t.me/{bot_username}?start={DASHBOARD_START}"
    )


def with_row(
    markup: InlineKeyboardMarkup | None, button: InlineKeyboardButton | None
) -> InlineKeyboardMarkup | None:
    """`markup` with `button` on a row of its own below it (None: unchanged)."""
    if button is None:
        return markup
    rows = [] if markup is None else [list(row) for row in markup.inline_keyboard]
    return InlineKeyboardMarkup([*rows, [button]])
