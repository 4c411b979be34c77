"""/connect in a private chat, two ways: a key pair the bot makes (`/connect new`, recommended:
3Commas gets only the public key), or an API key with its secret or RSA key. Key messages are
deleted as soon as they are read."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import Job

from bot.services.accounts import Connected
from bot.services.errors import FAILURES, InvalidApiKey, KeyPairGone, KeyPairTooSoon
from bot.services.keypairs import PendingState
from bot.telegram.context import BotApplication, ConnectSession, Context, JobContext
from bot.telegram.handlers.chat_command import ChatCommand, ChatRequest
from bot.telegram.handlers.common import (
    Asker,
    asker,
    delete_quietly,
    own_private_button,
    progress_settles,
    typed_text,
)
from bot.telegram.transport.replies import edit_html, send_html, with_retries
from bot.telegram.views import texts
from bot.telegram.views.html import escape
from bot.telegram.views.keyboards import MAKE_KEY_PAIR, REFRESH, account_buttons, connect_choices
from bot.telegram.views.render import render_connected
from bot.telegram.views.texts import error_sentence
from bot.telegram.views.translator import Translator, translator

logger = logging.getLogger(__name__)

PUBLIC_KEY_FILE = "3commas-public-key.pem"
# Anywhere in the message: "KEY SECRET", "KEY\nSECRET" and "api key: KEY" carry keys too.
LOOKS_LIKE_KEY = re.compile(r"PRIVATE KEY|[A-Za-z0-9+/=_-]{32,}")
# A new message of only one or two such words is a pasted "KEY SECRET" even when they are
# short (the sandbox's demo-key demo-secret): letters with digits, dashes or underscores.
KEY_WORD = re.compile(r"(?=.*[A-Za-z])(?=.*[0-9_-])[A-Za-z0-9+/=_-]{8,}")
MAX_API_KEY_LENGTH = 256  # 3Commas' API keys have 64 characters
NEW_KEY_PAIR = "new"  # `/connect new`
PEM_BEGIN = "-----BEGIN"
EXPIRY_SWEEP_SECONDS = 3600.0  # how often expired key pairs are erased


def _whitelist_note(context: Context) -> str:
    """For users who keep a system-generated key, when the operator gave the bot's address."""
    address = context.bot_data.services.settings.bot_public_ip
    if address is None:
        return ""
    return "\n\n" + context.t(texts.WHITELIST_NOTE, address=escape(address))


def _looks_like_key(text: str) -> bool:
    """Whether a new message outside /connect seems to carry key material: it is deleted."""
    words = text.split()
    if 1 <= len(words) <= 2 and all(KEY_WORD.fullmatch(word) for word in words):
        return True
    return LOOKS_LIKE_KEY.search(text) is not None


def _api_key_problem(t: Translator, text: str) -> str | None:
    """Why `text` cannot be a 3Commas API key, or None."""
    if not text or any(char.isspace() for char in text):
        return t(texts.API_KEY_HAS_SPACES)
    if len(text) > MAX_API_KEY_LENGTH or not (text.isascii() and text.isprintable()):
        return t(texts.NOT_AN_API_KEY)
    return None


def _secret_problem(t: Translator, text: str) -> str | None:
    """Why `text` cannot be a secret: an HMAC secret is one word; only a PEM key has spaces."""
    if len(text.split()) > 1 and PEM_BEGIN not in text:
        return t(texts.SECRET_HAS_SPACES)
    return None


def _session_job_name(user_id: int) -> str:
    return f"connect-timeout:{user_id}"


def _end_session(context: Context, user_id: int) -> ConnectSession | None:
    if context.job_queue is not None:
        for job in context.job_queue.get_jobs_by_name(_session_job_name(user_id)):
            job.schedule_removal()
    return context.bot_data.connecting.pop(user_id, None)


async def _session_timed_out(context: JobContext) -> None:
    job: Job[JobContext] | None = context.job
    if job is None or job.user_id is None or job.chat_id is None:
        return
    if context.bot_data.connecting.pop(job.user_id, None) is not None:
        # a job has no update: the chat's language is read as the scheduled posts read it
        settings = await context.bot_data.services.chat_settings.settings(job.chat_id)
        said = translator(settings.language)(texts.CONNECT_TIMED_OUT)
        await send_html(context.bot, job.chat_id, said)


def _start_session(context: Context, who: Asker, session: ConnectSession) -> None:
    _end_session(context, who.user_id)
    context.bot_data.connecting[who.user_id] = session
    if context.job_queue is not None:
        context.job_queue.run_once(
            _session_timed_out,
            when=context.bot_data.services.settings.connect_timeout_seconds,
            chat_id=who.chat_id,
            user_id=who.user_id,
            name=_session_job_name(who.user_id),
        )


Connector = Callable[[], Awaitable[Connected]]


async def _finish(
    context: Context, who: Asker, connect: Connector, failure: Callable[[Exception], str]
) -> None:
    """Check the keys with 3Commas under a progress message that ends as the accounts, or as
    `failure(error)`."""
    t = context.t
    progress = await send_html(context.bot, who.chat_id, t(texts.CHECKING_KEYS))
    async with progress_settles(context, who.chat_id, progress.message_id):
        try:
            connected = await connect()
        except FAILURES as error:
            await edit_html(context.bot, who.chat_id, progress.message_id, failure(error))
            return
        accounts = connected.accounts
        signer = context.bot_data.signer
        markup = (
            account_buttons(t, signer, REFRESH, who.user_id, accounts, chat_id=who.chat_id)
            if accounts
            else None
        )
        await edit_html(
            context.bot,
            who.chat_id,
            progress.message_id,
            render_connected(t, accounts, connected.unreadable),
            reply_markup=markup,
        )


async def _finish_with_secret(context: Context, who: Asker, api_key: str, secret: str) -> None:
    t = context.t

    def failure(error: Exception) -> str:
        text = f"❌ {escape(error_sentence(t, error))}\n{escape(t(texts.NOTHING_WAS_SAVED))}"
        return text + _whitelist_note(context) if isinstance(error, InvalidApiKey) else text

    accounts = context.bot_data.services.accounts
    await _finish(context, who, lambda: accounts.connect(who.user_id, api_key, secret), failure)


async def _finish_key_pair(context: Context, who: Asker, api_key: str) -> None:
    """The API key 3Commas gave for the pending pair; a refused one keeps the pair."""

    t = context.t

    def failure(error: Exception) -> str:
        if isinstance(error, KeyPairGone):
            return t(texts.KEY_PAIR_EXPIRED)
        if isinstance(error, InvalidApiKey):
            return f"❌ {escape(t(texts.WRONG_KEY_FOR_PAIR))}"
        return f"❌ {escape(error_sentence(t, error))}\n{escape(t(texts.KEY_PAIR_KEPT))}"

    keypairs = context.bot_data.services.keypairs
    await _finish(context, who, lambda: keypairs.finish(who.user_id, api_key), failure)


async def _make_key_pair(context: Context, who: Asker) -> None:
    """A new pair replaces a pending one; its public key goes out as text and as a file."""
    _end_session(context, who.user_id)
    t = context.t
    try:
        public_key = await context.bot_data.services.keypairs.make(who.user_id)
    except KeyPairTooSoon as error:
        await send_html(context.bot, who.chat_id, escape(error_sentence(t, error)))
        return
    await send_html(
        context.bot,
        who.chat_id,
        t(texts.KEY_PAIR_MADE, file=PUBLIC_KEY_FILE)
        + f"\n<pre>{escape(public_key.strip())}</pre>\n\n"
        + t(texts.KEY_PAIR_STEPS),
    )
    await with_retries(
        lambda: context.bot.send_document(
            who.chat_id,
            public_key.encode("ascii"),
            filename=PUBLIC_KEY_FILE,
            caption=t(texts.PUBLIC_KEY_CAPTION),
        )
    )


async def _refuse_in_group(context: Context, who: Asker, carried_keys: bool, command: str) -> None:
    t = context.t
    link = f"https://t.me/{context.bot.username}?start=connect"
    lines = [t(texts.ONLY_PRIVATE_KEYS)]
    if carried_keys:
        deleted = await delete_quietly(who.message)
        lines.append(t(texts.DELETED_REVOKE if deleted else texts.NOT_DELETED_REVOKE))
    lines.append(t(texts.OPEN_PRIVATE_CHAT, link=escape(link), command=command))
    await send_html(context.bot, who.chat_id, "\n".join(lines))


async def begin_connect(context: Context, who: Asker) -> None:
    """The two ways to connect. An API key sent now starts the second, unless a key pair is
    pending: then it is the pair's, and the second way needs its button."""
    pair_waiting = (
        await context.bot_data.services.keypairs.state(who.user_id) is PendingState.WAITING
    )
    if pair_waiting:
        _end_session(context, who.user_id)
    else:
        _start_session(context, who, ConnectSession())
    t = context.t
    markup = connect_choices(t, context.bot_data.signer, who.user_id, chat_id=who.chat_id)
    text = _offer(t, pair_waiting) + _whitelist_note(context)
    await send_html(context.bot, who.chat_id, text, reply_markup=markup)


def _offer(t: Translator, pair_waiting: bool) -> str:
    question = texts.PAIR_WAITING if pair_waiting else texts.HOW_TO_CONNECT
    own_key = texts.OWN_KEY_BUTTON if pair_waiting else texts.OWN_KEY_NOW
    return f"{t(question)}\n\n{t(texts.OFFER_KEY_PAIR)}\n\n{t(own_key)}"


async def connect(request: ChatRequest) -> None:
    context, who = request.context, request.who
    given = request.argument
    new_pair = given.casefold() == NEW_KEY_PAIR
    if not who.is_private:
        command = f"/connect {NEW_KEY_PAIR}" if new_pair else "/connect"
        await _refuse_in_group(
            context, who, carried_keys=bool(given) and not new_pair, command=command
        )
        return
    if new_pair:
        await _make_key_pair(context, who)
        return
    if not given:
        await begin_connect(context, who)
        return
    await delete_quietly(who.message)
    api_key, *rest = given.split(maxsplit=1)
    secret = rest[0] if rest else ""
    t = context.t
    problem = _api_key_problem(t, api_key) or _secret_problem(t, secret)
    if problem is not None:
        _end_session(context, who.user_id)
        await send_html(context.bot, who.chat_id, t(texts.NOTHING_SAVED_TRY_AGAIN, problem=problem))
        return
    if secret:
        _end_session(context, who.user_id)
        await _finish_with_secret(context, who, api_key, secret)
        return
    _start_session(context, who, ConnectSession(api_key=api_key))
    await send_html(context.bot, who.chat_id, t(texts.ASK_SECOND_PART))


async def connect_choice_pressed(update: Update, context: Context) -> None:
    """A button under the /connect offer: only the one it was offered to may press it."""
    query = update.callback_query
    who = asker(update)
    if query is None or who is None:
        return
    pressed = await own_private_button(context, query, who, texts.CONNECT_BUTTON_NOT_VALID)
    if pressed is None:
        return
    await query.answer()
    if pressed[0] == MAKE_KEY_PAIR:
        await _make_key_pair(context, who)
        return
    _start_session(context, who, ConnectSession())
    await send_html(
        context.bot, who.chat_id, context.t(texts.ASK_API_KEY) + _whitelist_note(context)
    )


async def cancel(request: ChatRequest) -> None:
    context, who = request.context, request.who
    session = _end_session(context, who.user_id)
    pending = await context.bot_data.services.keypairs.drop(who.user_id)
    if pending is PendingState.WAITING:
        text = texts.CANCELLED_KEY_PAIR
    elif session is not None:
        text = texts.CANCELLED
    else:
        text = texts.NOTHING_TO_CANCEL
    await send_html(context.bot, who.chat_id, context.t(text))


CONNECT_COMMAND = ChatCommand("connect", "/connect", texts.DOES_CONNECT, connect, private_only=True)
CANCEL_COMMAND = ChatCommand("cancel", "/cancel", texts.DOES_CANCEL, cancel, private_only=True)


async def _delete_pasted_key(context: Context, who: Asker, hint: str) -> None:
    """`hint`: a sentence of texts.py."""
    await delete_quietly(who.message)
    t = context.t
    await send_html(context.bot, who.chat_id, t(texts.LOOKED_LIKE_KEY, hint=t(hint)))


async def private_text(update: Update, context: Context) -> None:
    """A plain message (or a caption) in a private chat: the next step of /connect, the API key
    of a pending key pair, or a hint."""
    who = asker(update)
    if who is None:
        return
    text = typed_text(who.message).strip()
    if update.edited_message is not None:
        # Editing an old message is never a step of /connect, but a key edited in is deleted.
        if LOOKS_LIKE_KEY.search(text):
            await _delete_pasted_key(context, who, texts.KEYS_ONLY_FROM_NEW)
        return
    session = context.bot_data.connecting.get(who.user_id)
    if session is None:
        await _outside_session(context, who, text)
        return
    await delete_quietly(who.message)
    t = context.t
    if session.api_key is None:
        problem = _api_key_problem(t, text)
        if problem is not None:
            await send_html(context.bot, who.chat_id, t(texts.SEND_IT_AGAIN, problem=problem))
            return
        session.api_key = text
        await send_html(context.bot, who.chat_id, t(texts.ASK_SECOND_PART))
        return
    problem = _secret_problem(t, text)
    if problem is not None:
        await send_html(context.bot, who.chat_id, t(texts.SEND_IT_AGAIN, problem=problem))
        return
    _end_session(context, who.user_id)
    await _finish_with_secret(context, who, session.api_key, text)


async def _outside_session(context: Context, who: Asker, text: str) -> None:
    """With a key pair pending, the message is its API key; otherwise only a hint."""
    t = context.t
    state = await context.bot_data.services.keypairs.state(who.user_id)
    if state is PendingState.NONE:
        if _looks_like_key(text):
            await _delete_pasted_key(context, who, texts.CONNECT_FIRST)
        else:
            await send_html(context.bot, who.chat_id, t(texts.SEND_HELP))
        return
    await delete_quietly(who.message)
    if state is PendingState.EXPIRED:
        await context.bot_data.services.keypairs.drop(who.user_id)
        await send_html(context.bot, who.chat_id, t(texts.KEY_PAIR_EXPIRED))
        return
    problem = _api_key_problem(t, text)
    if problem is not None:
        await send_html(context.bot, who.chat_id, f"{problem} {t(texts.KEY_PAIR_KEPT)}")
        return
    await _finish_key_pair(context, who, text)


async def _expire_key_pairs(context: Context) -> None:
    await context.bot_data.services.keypairs.expire()


def schedule_key_pair_expiry(application: BotApplication) -> None:
    """Erase expired key pairs at start-up and every hour after."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            _expire_key_pairs, interval=EXPIRY_SWEEP_SECONDS, first=0, name="key-pair-expiry"
        )
