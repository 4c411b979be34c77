"""Inline keyboards. Button data is namespaced `action:...` and signed (see callback_data)."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.storage.records import KnownAccount
from bot.telegram.callback_data import CallbackSigner
from bot.telegram.html import clean_name

REFRESH = "rf"
REFRESH_ALL = "ra"
MAKE_KEY_PAIR = "kp"
HAVE_A_KEY = "hk"
MAKE_KEY_PAIR_LABEL = "🔐 Make a key pair for me (recommended)"
HAVE_A_KEY_LABEL = "I already have a key"
MAX_ACCOUNT_BUTTONS = 50


def refresh_button(
    signer: CallbackSigner, owner_id: int, account_id: int, *, chat_id: int
) -> InlineKeyboardMarkup:
    data = signer.pack(REFRESH, owner_id, account_id, chat_id=chat_id)
    return InlineKeyboardMarkup([[InlineKeyboardButton("🔄 Refresh", callback_data=data)]])


def refresh_all_button(
    signer: CallbackSigner, owner_id: int, *, chat_id: int
) -> InlineKeyboardMarkup:
    data = signer.pack(REFRESH_ALL, owner_id, chat_id=chat_id)
    return InlineKeyboardMarkup([[InlineKeyboardButton("🔄 Refresh all", callback_data=data)]])


def account_buttons(
    signer: CallbackSigner, owner_id: int, accounts: Sequence[KnownAccount], *, chat_id: int
) -> InlineKeyboardMarkup:
    """One refresh button per account (the first 50), then one for all of them."""
    rows = [
        [
            InlineKeyboardButton(
                f"🔄 {clean_name(account.name, limit=40)}",
                callback_data=signer.pack(REFRESH, owner_id, account.account_id, chat_id=chat_id),
            )
        ]
        for account in accounts[:MAX_ACCOUNT_BUTTONS]
    ]
    if len(accounts) > 1:
        rows.append(
            [
                InlineKeyboardButton(
                    "🔄 All", callback_data=signer.pack(REFRESH_ALL, owner_id, chat_id=chat_id)
                )
            ]
        )
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
