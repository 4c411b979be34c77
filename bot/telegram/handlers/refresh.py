"""/refresh <account|all> and the Refresh buttons: a progress message edited into the summary."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.services.errors import NoAccounts, ServiceError
from bot.storage.records import KnownAccount
from bot.telegram.callback_data import TamperedCallback
from bot.telegram.context import Context
from bot.telegram.handlers.common import (
    Asker,
    argument_text,
    asker,
    progress_settles,
    reply_error,
)
from bot.telegram.html import escape
from bot.telegram.keyboards import (
    REFRESH,
    REFRESH_ALL,
    account_buttons,
    refresh_all_button,
    refresh_button,
)
from bot.telegram.render import (
    render_account_summary,
    render_error,
    render_no_match,
    render_no_match_in_group,
    render_progress,
    render_refresh_all,
)
from bot.telegram.replies import edit_html, send_html
from bot.telegram.texts import error_sentence
from bot.threecommas.errors import ThreeCommasError

logger = logging.getLogger(__name__)

FAILURES = (ServiceError, ThreeCommasError)
# For tampered data, and for data copied onto a message in another chat (callback_data).
BUTTON_NOT_VALID = "This button is not valid in this chat. Send /refresh instead."


Outcome = tuple[str, InlineKeyboardMarkup | None]


def _retry(error: Exception, button: InlineKeyboardMarkup) -> InlineKeyboardMarkup | None:
    """A Refresh button under an error only when 3Commas failed: trying again may help."""
    return button if isinstance(error, ThreeCommasError) else None


async def _timezone(context: Context, chat_id: int) -> str:
    return await context.bot_data.services.subscriptions.timezone_name(chat_id)


async def _account_outcome(
    context: Context, chat_id: int, owner_id: int, account: KnownAccount
) -> Outcome:
    """The account's fresh summary (or its error), with its Refresh button."""
    accounts = context.bot_data.services.accounts
    button = refresh_button(context.bot_data.signer, owner_id, account.account_id, chat_id=chat_id)
    try:
        summary = await accounts.refresh(owner_id, account.account_id)
    except FAILURES as error:
        accounts.release_refresh(owner_id, account.account_id)
        return render_error(account.name, error), _retry(error, button)
    timezone = await _timezone(context, chat_id)
    return render_account_summary(summary, timezone=timezone), button


async def _all_outcome(context: Context, chat_id: int, owner_id: int) -> Outcome:
    accounts = context.bot_data.services.accounts
    button = refresh_all_button(context.bot_data.signer, owner_id, chat_id=chat_id)
    try:
        results = await accounts.refresh_all(owner_id)
    except FAILURES as error:
        accounts.release_refresh(owner_id, "all")
        return f"❌ {escape(error_sentence(error))}", _retry(error, button)
    if all(result.summary is None for result in results):
        accounts.release_refresh(owner_id, "all")
    return render_refresh_all(results, timezone=await _timezone(context, chat_id)), button


async def _settle(
    context: Context,
    chat_id: int,
    show_progress: Awaitable[int],
    outcome: Coroutine[Any, Any, Outcome],
) -> None:
    """Run `outcome` while the progress message goes out, then edit it into the result.

    The 3Commas call starts first, so it never waits behind Telegram's flood limits.
    """
    work = asyncio.ensure_future(outcome)
    try:
        message_id = await show_progress
    except BaseException:
        work.cancel()
        raise
    async with progress_settles(context, chat_id, message_id):
        text, markup = await work
        await edit_html(context, chat_id, message_id, text, reply_markup=markup)


async def _post_progress(context: Context, who: Asker, name: str | None) -> int:
    progress = await send_html(
        context, who.chat_id, render_progress(name), reply_to=who.message.message_id
    )
    return progress.message_id


async def _edit_progress(context: Context, chat_id: int, message_id: int, name: str | None) -> int:
    await edit_html(context, chat_id, message_id, render_progress(name))
    return message_id


async def _claimed(context: Context, who: Asker, target: int | str) -> bool:
    """Start the user's cooldown for `target`; False (and the user told) when they cannot."""
    try:
        await context.bot_data.services.accounts.claim_refresh(who.user_id, target)
    except ServiceError as error:
        await reply_error(context, who, error)
        return False
    return True


async def _choose(context: Context, who: Asker, text: str, accounts: list[KnownAccount]) -> None:
    signer = context.bot_data.signer
    markup = (
        account_buttons(signer, who.user_id, accounts, chat_id=who.chat_id) if accounts else None
    )
    await send_html(
        context, who.chat_id, text, reply_markup=markup, reply_to=who.message.message_id
    )


async def _no_match(context: Context, who: Asker, query: str) -> None:
    """In a private chat the accounts to pick from; in a group they are not shown to all."""
    if not who.is_private:
        text = render_no_match_in_group(query, context.bot.username)
        await send_html(context, who.chat_id, text, reply_to=who.message.message_id)
        return
    known = await context.bot_data.services.accounts.accounts(who.user_id)
    await _choose(context, who, render_no_match(query, known), known)


async def refresh_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    query = " ".join(argument_text(who.message).split())
    accounts = context.bot_data.services.accounts
    try:
        if query.casefold() == "all":
            if await _claimed(context, who, "all"):
                await _settle(
                    context,
                    who.chat_id,
                    _post_progress(context, who, "all accounts"),
                    _all_outcome(context, who.chat_id, who.user_id),
                )
            return
        if not query:
            known = await accounts.accounts(who.user_id)
            if not known:
                raise NoAccounts
            if len(known) > 1:
                await _choose(context, who, "Which account?", known)
                return
            target = known[0]
        else:
            resolution = await accounts.resolve(who.user_id, query)
            if resolution.candidates:
                await _choose(
                    context, who, "Several accounts match. Which one?", resolution.candidates
                )
                return
            if resolution.match is None:
                await _no_match(context, who, query)
                return
            target = resolution.match
    except FAILURES as error:
        await reply_error(context, who, error)
        return
    if await _claimed(context, who, target.account_id):
        await _settle(
            context,
            who.chat_id,
            _post_progress(context, who, target.name),
            _account_outcome(context, who.chat_id, who.user_id, target),
        )


async def refresh_button_pressed(update: Update, context: Context) -> None:
    """A Refresh button: only its owner may press it; the message is refreshed in place."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    chat_id, message_id = query.message.chat.id, query.message.message_id
    try:
        action, args = context.bot_data.signer.unpack(query.data, chat_id=chat_id)
        owner_id = int(args[0])
    except (TamperedCallback, ValueError, IndexError):
        await query.answer(BUTTON_NOT_VALID, show_alert=True)
        return
    if query.from_user.id != owner_id:
        await query.answer(
            "This button belongs to someone else. Use /refresh with your own keys.",
            show_alert=True,
        )
        return
    target: int | str = int(args[1]) if action == REFRESH and len(args) > 1 else "all"
    accounts = context.bot_data.services.accounts
    try:
        await accounts.claim_refresh(owner_id, target)
    except ServiceError as error:
        await query.answer(error_sentence(error))
        return
    await query.answer("Refreshing…")
    if action == REFRESH_ALL or target == "all":
        await _settle(
            context,
            chat_id,
            _edit_progress(context, chat_id, message_id, "all accounts"),
            _all_outcome(context, chat_id, owner_id),
        )
        return
    assert isinstance(target, int)
    known = {a.account_id: a for a in await _known_or_empty(context, owner_id)}
    account = known.get(target) or KnownAccount(target, str(target), None, None)
    await _settle(
        context,
        chat_id,
        _edit_progress(context, chat_id, message_id, account.name),
        _account_outcome(context, chat_id, owner_id, account),
    )


async def _known_or_empty(context: Context, user_id: int) -> list[KnownAccount]:
    try:
        return await context.bot_data.services.accounts.accounts(user_id)
    except FAILURES:
        return []
