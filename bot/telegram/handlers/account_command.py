"""The one shape of every per-account command: `/<name> <account|all> [option]` and its buttons.

A command says what it does for one account, or for all of them (`AccountCommand.run`), and
how the answer looks. Everything else is done here once, for every such command:
- picking the account: by id, by name or a unique part of one; none given: the only account,
  or buttons; several match: buttons; none match: the accounts to choose from (in a group only
  a pointer to the private chat, so nobody's accounts are listed to everyone);
- `all`, for commands that take it, and an optional last word (`/chart binance 90d`): a last
  word after an account that names no option is told so (`/chart all 90`), not taken as part
  of the account's name;
- the progress message, sent only when the answer takes longer than PROGRESS_DELAY_MS;
- error sentences, and a button to try again when 3Commas failed;
- its buttons: signed for their owner and chat, pressed only by the owner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.services.chat_settings import ChatSettings
from bot.services.errors import (
    FAILURES,
    NoAccounts,
    PerAccountOnly,
    ServiceError,
    ThreeCommasError,
)
from bot.services.records import ALL_ACCOUNTS, KnownAccount, Target
from bot.services.resolve import resolve_account
from bot.telegram.context import Context, OpenProgress
from bot.telegram.handlers.common import (
    Asker,
    argument_text,
    asker,
    progress_settles,
    reply_error,
)
from bot.telegram.transport.replies import delete_message, edit_html, send_html, send_reply
from bot.telegram.views import texts
from bot.telegram.views.callback_data import TamperedCallback
from bot.telegram.views.html import clean_name
from bot.telegram.views.keyboards import Place, account_buttons, command_button, unpack_target
from bot.telegram.views.render import (
    render_error,
    render_no_match,
    render_no_match_in_group,
    render_progress,
)
from bot.telegram.views.reply import PhotoReply, Reply, TextReply
from bot.telegram.views.texts import error_sentence
from bot.telegram.views.translator import Translator

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """One run of a command: whose keys, in which chat, for which account, with which option
    (typed, pressed, or run by the clock for a subscription)."""

    context: Context
    command: AccountCommand
    user_id: int
    chat_id: int
    account: KnownAccount | None  # None: every account
    option: str | None = None
    scheduled: bool = False  # run by the clock for a subscription, not typed or pressed

    @property
    def target(self) -> Target:
        return ALL_ACCOUNTS if self.account is None else self.account.account_id

    @property
    def t(self) -> Translator:
        """The chat's language."""
        return self.context.t

    @property
    def settings(self) -> ChatSettings:
        """The chat's settings, resolved once for the update (or the scheduled run)."""
        return self.context.settings

    @property
    def name(self) -> str:
        return self.t(texts.ALL_ACCOUNTS_NAME) if self.account is None else self.account.name

    @property
    def exchange(self) -> str | None:
        """The account's exchange; None for all accounts."""
        return None if self.account is None else self.account.exchange

    @property
    def title(self) -> str:
        """The title of an error about this request."""
        return self.t(texts.ALL_ACCOUNTS_TITLE) if self.account is None else self.account.name

    def button(
        self, action: str, label: str, *, option: str | None = None, place: Place = Place.NEW
    ) -> InlineKeyboardMarkup:
        """One button row: `action` for this request's owner, chat and account."""
        return InlineKeyboardMarkup([[self.button_of(action, label, option=option, place=place)]])

    def button_of(
        self, action: str, label: str, *, option: str | None = None, place: Place = Place.NEW
    ) -> InlineKeyboardButton:
        return command_button(
            self.context.bot_data.signer,
            action,
            label,
            user_id=self.user_id,
            chat_id=self.chat_id,
            target=self.target,
            option=option,
            place=place,
        )


@dataclass(frozen=True)
class AccountCommand:
    """A per-account command, declared: the rest of this module does the picking and answering."""

    name: str  # the command, without the slash
    action: str  # its buttons' data namespace (two letters)
    run: Callable[[Request], Awaitable[Reply]]
    usage: str  # how to call it, in /help: `/refresh <account|all>`
    does: str  # what it does (a sentence of texts.py): its menu description and /help line
    working: str = texts.REFRESHING  # the progress message: `Refreshing {name}…`
    tap_to: str = texts.TAP_TO_REFRESH  # under the accounts' buttons: what tapping one does
    # The option a last word names (normalized), or a ServiceError saying which there are.
    option: Callable[[str], str] | None = None
    takes_all: bool = True
    private_only = False  # per-account commands work in groups too

    def command_handler(self) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
        async def command(update: Update, context: Context) -> None:
            who = asker(update)
            if who is not None:
                await _command(self, context, who)

        return command

    def button_handler(self) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
        async def pressed(update: Update, context: Context) -> None:
            query = update.callback_query
            if query is not None and query.message is not None:
                await _pressed(self, context, query)

        return pressed


class _Answered(Exception):
    """The user was answered while picking (buttons, no match): nothing more to do."""


def _option(command: AccountCommand, word: str) -> str | None:
    """The option `word` names, or None."""
    if command.option is None:
        return None
    try:
        return command.option(word.casefold())
    except ServiceError:
        return None


async def _command(command: AccountCommand, context: Context, who: Asker) -> None:
    try:
        account, option = await _understood(command, context, who, argument_text(who.message))
        if account is None:
            # `all` needs no lookup: the keys are checked before the work starts, as a lookup
            # by name checks them.
            await context.bot_data.services.accounts.credentials(who.user_id)
    except _Answered:
        return
    except FAILURES as error:
        await reply_error(context, who, error)
        return
    request = Request(context, command, who.user_id, who.chat_id, account, option)
    await _answer(request, reply_to=who.message.message_id, edit=None)


async def _understood(
    command: AccountCommand, context: Context, who: Asker, text: str
) -> tuple[KnownAccount | None, str | None]:
    """The account (None: all of them) and the option the user means, or _Answered after
    asking them. `binance futures 90d`: the last word is the option when it names one; when
    it names none but the words before it name an account, it is a mistyped option."""
    words = text.split()
    option = _option(command, words[-1]) if words else None
    query = " ".join(words[:-1] if option is not None else words)
    try:
        return await _pick(command, context, who, query, option), option
    except _NoMatch:
        pass
    if option is None and command.option is not None and len(words) > 1:
        before = " ".join(words[:-1])
        if before.casefold() == ALL_ACCOUNTS or await _names_accounts(context, who, before):
            command.option(words[-1].casefold())  # raises the sentence saying which there are
    await _no_match(command, context, who, query, option)
    raise _Answered


async def _names_accounts(context: Context, who: Asker, query: str) -> bool:
    """Whether `query` names one or more accounts (of the list just read: no new 3Commas call)."""
    known = await context.bot_data.services.accounts.accounts(who.user_id)
    resolution = resolve_account(known, query)
    return resolution.match is not None or bool(resolution.candidates)


class _NoMatch(Exception):
    """No account matches the query; the user is not answered yet."""


async def _pick(
    command: AccountCommand, context: Context, who: Asker, query: str, option: str | None
) -> KnownAccount | None:
    """The account the user means (None: all of them); _Answered after asking them to choose,
    _NoMatch when none matches."""
    accounts = context.bot_data.services.accounts
    if query.casefold() == ALL_ACCOUNTS:
        if not command.takes_all:
            raise PerAccountOnly(command.name)
        return None
    if not query:
        known = await accounts.accounts(who.user_id)
        if not known:
            raise NoAccounts
        if len(known) > 1:
            await _choose(command, context, who, context.t(texts.WHICH_ACCOUNT), known, option)
            raise _Answered
        return known[0]
    resolution = await accounts.resolve(who.user_id, query)
    if resolution.candidates:
        text = context.t(texts.SEVERAL_MATCH)
        await _choose(command, context, who, text, resolution.candidates, option)
        raise _Answered
    if resolution.match is None:
        raise _NoMatch
    return resolution.match


async def _choose(
    command: AccountCommand,
    context: Context,
    who: Asker,
    text: str,
    accounts: list[KnownAccount],
    option: str | None,
) -> None:
    markup = (
        account_buttons(
            context.t,
            context.bot_data.signer,
            command.action,
            who.user_id,
            accounts,
            chat_id=who.chat_id,
            option=option,
            with_all=command.takes_all,
        )
        if accounts
        else None
    )
    await send_html(
        context.bot, who.chat_id, text, reply_markup=markup, reply_to=who.message.message_id
    )


async def _no_match(
    command: AccountCommand, context: Context, who: Asker, query: str, option: str | None
) -> None:
    """In a private chat the accounts to pick from; in a group they are not shown to all."""
    if not who.is_private:
        text = render_no_match_in_group(context.t, query, context.bot.username)
        await send_html(context.bot, who.chat_id, text, reply_to=who.message.message_id)
        return
    known = await context.bot_data.services.accounts.accounts(who.user_id)
    text = render_no_match(context.t, query, known, command=command.name, tap_to=command.tap_to)
    await _choose(command, context, who, text, known, option)


async def _outcome(request: Request) -> Reply:
    """The command's reply, or its error sentence (with a retry button when 3Commas failed)."""
    try:
        return await request.command.run(request)
    except FAILURES as error:
        retry = (
            request.button(
                request.command.action, request.t(texts.TRY_AGAIN), option=request.option
            )
            if isinstance(error, ThreeCommasError)
            else None
        )
        return TextReply(render_error(request.t, request.title, error), retry)


class _Progress:
    """The progress message of one answer: shown only once the work outlasts the delay, and
    listed in `open_progress` from then on, so that a restart settles it."""

    def __init__(self, request: Request, *, reply_to: int | None, edit: int | None) -> None:
        self._request = request
        self._reply_to = reply_to
        self._edit = edit
        worker = asyncio.current_task()
        assert worker is not None
        self._worker = worker
        self._showing: asyncio.Task[OpenProgress] | None = None

    def show(self) -> None:
        self._showing = asyncio.ensure_future(self._show())

    async def _show(self) -> OpenProgress:
        request = self._request
        bot, chat_id = request.context.bot, request.chat_id
        text = render_progress(request.t, request.name, request.command.working)
        if self._edit is not None:
            await edit_html(bot, chat_id, self._edit, text)
            message_id = self._edit
        else:
            message_id = (await send_html(bot, chat_id, text, reply_to=self._reply_to)).message_id
        entry = OpenProgress(chat_id, message_id, self._worker)
        request.context.bot_data.open_progress.add(entry)
        return entry

    async def shown(self) -> OpenProgress | None:
        """The progress message, once shown; None when it was not, or Telegram refused it."""
        if self._showing is None:
            return None
        try:
            return await self._showing
        except TelegramError as error:
            logger.info("progress message not shown in chat %s: %s", self._request.chat_id, error)
            return None


async def _answer(request: Request, *, reply_to: int | None, edit: int | None) -> None:
    """Answer with the reply; a progress message first only if it takes longer than the delay.

    The work runs in this task, a timer shows the progress message meanwhile: a task of its own
    would start only after everything else ready to run (the next getUpdates, say).
    `edit`: the message whose button was pressed, answered in place (for text replies).
    """
    context, chat_id = request.context, request.chat_id
    delay = context.bot_data.services.settings.progress_delay_ms / 1000
    progress = _Progress(request, reply_to=reply_to, edit=edit)
    timer = asyncio.get_running_loop().call_later(delay, progress.show)
    try:
        reply = await _outcome(request)
    except BaseException:
        timer.cancel()
        failed_behind = await progress.shown()
        if failed_behind is None:
            raise
        async with progress_settles(context, chat_id, failed_behind.message_id):
            raise
        return
    timer.cancel()
    shown = await progress.shown()
    if shown is None:
        await _show(context, chat_id, reply, reply_to=reply_to, edit=edit)
        return
    async with progress_settles(context, chat_id, shown.message_id):
        if isinstance(reply, PhotoReply):
            await _show(context, chat_id, reply, reply_to=reply_to, edit=None)
            await delete_message(context.bot, chat_id, shown.message_id)
        else:
            await _show(context, chat_id, reply, reply_to=None, edit=shown.message_id)


async def _show(
    context: Context, chat_id: int, reply: Reply, *, reply_to: int | None, edit: int | None
) -> None:
    """A text reply in place of message `edit` when given; else sent anew."""
    if isinstance(reply, TextReply) and edit is not None:
        await edit_html(context.bot, chat_id, edit, reply.text, reply_markup=reply.markup)
    else:
        await send_reply(context.bot, chat_id, reply, reply_to=reply_to)


async def _pressed(command: AccountCommand, context: Context, query: CallbackQuery) -> None:
    """A button of this command: only its owner may press it, and only in its own chat."""
    assert query.message is not None
    chat_id, message_id = query.message.chat.id, query.message.message_id
    try:
        _, args = context.bot_data.signer.unpack(query.data, chat_id=chat_id)
        user_id, target, option, place = unpack_target(args)
    except (TamperedCallback, ValueError, IndexError):
        # tampered data, or data copied onto a message in another chat
        await query.answer(
            context.t(texts.BUTTON_NOT_VALID_IN_CHAT, command=command.name), show_alert=True
        )
        return
    if query.from_user.id != user_id:
        await query.answer(
            context.t(texts.BUTTON_OF_SOMEONE_ELSE, command=command.name), show_alert=True
        )
        return
    account = await _known_account(context, user_id, target) if isinstance(target, int) else None
    request = Request(context, command, user_id, chat_id, account, option)
    try:
        await context.bot_data.services.accounts.credentials(user_id)
    except ServiceError as error:
        await query.answer(error_sentence(context.t, error))
        return
    await query.answer(context.t(command.working, name=clean_name(request.name)))
    if place is Place.EDIT:
        await _answer(request, reply_to=None, edit=message_id)
    else:
        await _answer(request, reply_to=message_id, edit=None)


async def _known_account(context: Context, user_id: int, account_id: int) -> KnownAccount:
    """The pressed button's account by name when it is known, else by its id alone."""
    try:
        known = await context.bot_data.services.accounts.accounts(user_id)
    except FAILURES:
        known = []
    by_id = {account.account_id: account for account in known}
    return by_id.get(account_id) or KnownAccount(account_id, str(account_id))
