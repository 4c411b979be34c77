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
from bot.telegram.context import BotApplication, ConnectSession, Context
from bot.telegram.handlers.chat_command import ChatCommand, ChatRequest
from bot.telegram.handlers.common import (
    Asker,
    asker,
    delete_quietly,
    progress_settles,
    typed_text,
)
from bot.telegram.transport.replies import edit_html, send_html, with_retries
from bot.telegram.views.callback_data import TamperedCallback
from bot.telegram.views.html import escape
from bot.telegram.views.keyboards import MAKE_KEY_PAIR, REFRESH, account_buttons, connect_choices
from bot.telegram.views.render import render_connected
from bot.telegram.views.texts import error_sentence

logger = logging.getLogger(__name__)

OFFER_KEY_PAIR = (
    "🔐 <b>Make a key pair for me</b> (recommended, same as /connect new): I make an RSA key "
    "pair and give you only its public key for 3Commas. No secret ever crosses this chat, and "
    "3Commas needs no IP whitelisting for such a key."
)
PAIR_WAITING = (
    "🔐 The key pair I made for you is waiting: send me the API key 3Commas gave for its "
    "public key. Or choose again:"
)
ASK_API_KEY = (
    "Send me your 3Commas <b>API key</b> (the public part).\n"
    "Create it in 3Commas with the permissions <b>Accounts read</b> and <b>Bots read</b> only "
    "(Bots read for /bots and /deals). Send /cancel to stop."
)
ASK_SECOND_PART = (
    "Now send the <b>secret</b>, or your <b>RSA private key</b> in PEM form if you created "
    "the key with your own RSA key pair. I delete it from this chat right after reading it."
)
KEY_PAIR_STEPS = (
    "In 3Commas:\n"
    "1. Open <b>API</b> and choose <b>New API access token</b>.\n"
    "2. Choose <b>Self-generated</b> and paste the public key.\n"
    "3. Give it the permissions <b>Accounts read</b> and <b>Bots read</b> together (Bots read "
    "lets /bots, /deals and the summary show your bots' profit; add Accounts write only if a "
    "refresh is refused later; never trading or withdrawals).\n"
    "4. Create it and copy the <b>API key</b> 3Commas shows.\n"
    "5. Send the API key here: I check it with 3Commas and delete your message.\n\n"
    "The key pair waits here for 24 hours. /connect new makes a new one; /cancel drops it."
)
PUBLIC_KEY_FILE = "3commas-public-key.pem"
PUBLIC_KEY_CAPTION = "Your public key for 3Commas as a file (the same as above)."
KEY_PAIR_KEPT = "Your key pair still waits here: send the API key again when it is ready."
KEY_PAIR_EXPIRED = (
    "⌛ The key pair I made for you has expired (a pair waits 24 hours). Send /connect new for "
    "a new pair, and in 3Commas delete the API key you created for the old one."
)
WRONG_KEY_FOR_PAIR = (
    "3Commas refused that API key. Check that you copied the whole API key of the key you "
    "created with the public key I gave you, and send it again. /connect new makes a new pair; "
    "/cancel drops it."
)
BUTTON_NOT_VALID = "This button is not valid here. Send /connect instead."
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
    return (
        "\n\nKeeping a system-generated key (API key and secret)? 3Commas requires such a key to "
        f"be whitelisted for the IP address it is used from: add <code>{escape(address)}</code> "
        "to the key in 3Commas."
    )


def _looks_like_key(text: str) -> bool:
    """Whether a new message outside /connect seems to carry key material: it is deleted."""
    words = text.split()
    if 1 <= len(words) <= 2 and all(KEY_WORD.fullmatch(word) for word in words):
        return True
    return LOOKS_LIKE_KEY.search(text) is not None


def _api_key_problem(text: str) -> str | None:
    """Why `text` cannot be a 3Commas API key, or None."""
    if not text or any(char.isspace() for char in text):
        return "An API key is one word without spaces."
    if len(text) > MAX_API_KEY_LENGTH or not (text.isascii() and text.isprintable()):
        return (
            "That is not a 3Commas API key: it is too long or has characters API keys do not have."
        )
    return None


def _secret_problem(text: str) -> str | None:
    """Why `text` cannot be a secret: an HMAC secret is one word; only a PEM key has spaces."""
    if len(text.split()) > 1 and PEM_BEGIN not in text:
        return "A secret is one word, and there was more after it."
    return None


def _session_job_name(user_id: int) -> str:
    return f"connect-timeout:{user_id}"


def _end_session(context: Context, user_id: int) -> ConnectSession | None:
    if context.job_queue is not None:
        for job in context.job_queue.get_jobs_by_name(_session_job_name(user_id)):
            job.schedule_removal()
    return context.bot_data.connecting.pop(user_id, None)


async def _session_timed_out(context: Context) -> None:
    job: Job[Context] | None = context.job
    if job is None or job.user_id is None or job.chat_id is None:
        return
    if context.bot_data.connecting.pop(job.user_id, None) is not None:
        await send_html(
            context.bot,
            job.chat_id,
            "⌛ Connecting timed out and nothing was saved. Send /connect to start again.",
        )


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
    progress = await send_html(context.bot, who.chat_id, "⏳ Checking your keys with 3Commas…")
    async with progress_settles(context, who.chat_id, progress.message_id):
        try:
            connected = await connect()
        except FAILURES as error:
            await edit_html(context.bot, who.chat_id, progress.message_id, failure(error))
            return
        accounts = connected.accounts
        signer = context.bot_data.signer
        markup = (
            account_buttons(signer, REFRESH, who.user_id, accounts, chat_id=who.chat_id)
            if accounts
            else None
        )
        await edit_html(
            context.bot,
            who.chat_id,
            progress.message_id,
            render_connected(accounts, connected.unreadable),
            reply_markup=markup,
        )


async def _finish_with_secret(context: Context, who: Asker, api_key: str, secret: str) -> None:
    def failure(error: Exception) -> str:
        text = f"❌ {escape(error_sentence(error))}\nNothing was saved."
        return text + _whitelist_note(context) if isinstance(error, InvalidApiKey) else text

    accounts = context.bot_data.services.accounts
    await _finish(context, who, lambda: accounts.connect(who.user_id, api_key, secret), failure)


async def _finish_key_pair(context: Context, who: Asker, api_key: str) -> None:
    """The API key 3Commas gave for the pending pair; a refused one keeps the pair."""

    def failure(error: Exception) -> str:
        if isinstance(error, KeyPairGone):
            return KEY_PAIR_EXPIRED
        if isinstance(error, InvalidApiKey):
            return f"❌ {escape(WRONG_KEY_FOR_PAIR)}"
        return f"❌ {escape(error_sentence(error))}\n{escape(KEY_PAIR_KEPT)}"

    keypairs = context.bot_data.services.keypairs
    await _finish(context, who, lambda: keypairs.finish(who.user_id, api_key), failure)


async def _make_key_pair(context: Context, who: Asker) -> None:
    """A new pair replaces a pending one; its public key goes out as text and as a file."""
    _end_session(context, who.user_id)
    try:
        public_key = await context.bot_data.services.keypairs.make(who.user_id)
    except KeyPairTooSoon as error:
        await send_html(context.bot, who.chat_id, escape(error_sentence(error)))
        return
    await send_html(
        context.bot,
        who.chat_id,
        "🔐 I made a key pair for you. Here is its <b>public key</b> for 3Commas (tap it to "
        f"copy; it is also in the file {PUBLIC_KEY_FILE} below). The private key stays with me, "
        "encrypted: it never leaves this bot, not even to you.\n"
        f"<pre>{escape(public_key.strip())}</pre>\n\n" + KEY_PAIR_STEPS,
    )
    await with_retries(
        lambda: context.bot.send_document(
            who.chat_id,
            public_key.encode("ascii"),
            filename=PUBLIC_KEY_FILE,
            caption=PUBLIC_KEY_CAPTION,
        )
    )


async def _refuse_in_group(context: Context, who: Asker, carried_keys: bool, command: str) -> None:
    link = f"https://t.me/{context.bot.username}?start=connect"
    lines = [
        "🔒 I only take API keys in a private chat. Nothing from this message was used or stored."
    ]
    if carried_keys:
        if await delete_quietly(who.message):
            lines.append(
                "I deleted your message, but others may have seen it: revoke those keys in "
                "3Commas now and create new ones."
            )
        else:
            lines.append(
                "I could not delete your message: delete it yourself, then revoke those keys "
                "in 3Commas and create new ones."
            )
    lines.append(f'<a href="{escape(link)}">Open a private chat with me</a> and send {command}.')
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
    markup = connect_choices(context.bot_data.signer, who.user_id, chat_id=who.chat_id)
    text = _offer(pair_waiting) + _whitelist_note(context)
    await send_html(context.bot, who.chat_id, text, reply_markup=markup)


def _offer(pair_waiting: bool) -> str:
    own_key = (
        "press its button, then send me the API key and its secret"
        if pair_waiting
        else "send me its API key now, then its secret"
    )
    return (
        f"{PAIR_WAITING if pair_waiting else 'How would you like to connect 3Commas?'}\n\n"
        f"{OFFER_KEY_PAIR}\n\n<b>I already have a key</b>: {own_key}. Send /cancel to stop."
    )


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
    problem = _api_key_problem(api_key) or _secret_problem(secret)
    if problem is not None:
        _end_session(context, who.user_id)
        await send_html(
            context.bot, who.chat_id, f"{problem} Nothing was saved; send /connect to try again."
        )
        return
    if secret:
        _end_session(context, who.user_id)
        await _finish_with_secret(context, who, api_key, secret)
        return
    _start_session(context, who, ConnectSession(api_key=api_key))
    await send_html(context.bot, who.chat_id, ASK_SECOND_PART)


async def connect_choice_pressed(update: Update, context: Context) -> None:
    """A button under the /connect offer: only the one it was offered to may press it."""
    query = update.callback_query
    who = asker(update)
    if query is None or who is None:
        return
    try:
        action, args = context.bot_data.signer.unpack(query.data, chat_id=who.chat_id)
        owner_id = int(args[0])
    except (TamperedCallback, ValueError, IndexError):
        await query.answer(BUTTON_NOT_VALID, show_alert=True)
        return
    if owner_id != who.user_id or not who.is_private:
        await query.answer(BUTTON_NOT_VALID, show_alert=True)
        return
    await query.answer()
    if action == MAKE_KEY_PAIR:
        await _make_key_pair(context, who)
        return
    _start_session(context, who, ConnectSession())
    await send_html(context.bot, who.chat_id, ASK_API_KEY + _whitelist_note(context))


async def cancel(request: ChatRequest) -> None:
    context, who = request.context, request.who
    session = _end_session(context, who.user_id)
    pending = await context.bot_data.services.keypairs.drop(who.user_id)
    if pending is PendingState.WAITING:
        text = (
            "Cancelled. I deleted the key pair I made for you; if you created an API key with "
            "it in 3Commas, delete that key there too."
        )
    elif session is not None:
        text = "Cancelled. Nothing was saved."
    else:
        text = "Nothing to cancel."
    await send_html(context.bot, who.chat_id, text)


CONNECT_COMMAND = ChatCommand(
    "connect",
    "/connect",
    "connect 3Commas: /connect new makes a key pair (private chat)",
    connect,
    private_only=True,
)
CANCEL_COMMAND = ChatCommand("cancel", "/cancel", "stop connecting", cancel, private_only=True)


async def _delete_pasted_key(context: Context, who: Asker, hint: str) -> None:
    await delete_quietly(who.message)
    await send_html(context.bot, who.chat_id, f"That looked like a key, so I deleted it. {hint}")


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
            await _delete_pasted_key(context, who, "I read keys only from new messages.")
        return
    session = context.bot_data.connecting.get(who.user_id)
    if session is None:
        await _outside_session(context, who, text)
        return
    await delete_quietly(who.message)
    if session.api_key is None:
        problem = _api_key_problem(text)
        if problem is not None:
            await send_html(context.bot, who.chat_id, f"{problem} Send it again.")
            return
        session.api_key = text
        await send_html(context.bot, who.chat_id, ASK_SECOND_PART)
        return
    problem = _secret_problem(text)
    if problem is not None:
        await send_html(context.bot, who.chat_id, f"{problem} Send it again.")
        return
    _end_session(context, who.user_id)
    await _finish_with_secret(context, who, session.api_key, text)


async def _outside_session(context: Context, who: Asker, text: str) -> None:
    """With a key pair pending, the message is its API key; otherwise only a hint."""
    state = await context.bot_data.services.keypairs.state(who.user_id)
    if state is PendingState.NONE:
        if _looks_like_key(text):
            await _delete_pasted_key(context, who, "To connect, send /connect first.")
        else:
            await send_html(context.bot, who.chat_id, "Send /help to see what I can do.")
        return
    await delete_quietly(who.message)
    if state is PendingState.EXPIRED:
        await context.bot_data.services.keypairs.drop(who.user_id)
        await send_html(context.bot, who.chat_id, KEY_PAIR_EXPIRED)
        return
    problem = _api_key_problem(text)
    if problem is not None:
        await send_html(context.bot, who.chat_id, f"{problem} {KEY_PAIR_KEPT}")
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
