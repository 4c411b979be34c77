"""/connect in a private chat: API key, then secret or RSA key; key messages are deleted."""

from __future__ import annotations

import logging
import re

from telegram import Update
from telegram.ext import Job

from bot.services.errors import FAILURES
from bot.telegram.context import ConnectSession, Context
from bot.telegram.handlers.common import (
    Asker,
    argument_text,
    asker,
    delete_quietly,
    progress_settles,
    typed_text,
)
from bot.telegram.html import escape
from bot.telegram.keyboards import REFRESH, account_buttons
from bot.telegram.render import render_connected
from bot.telegram.replies import edit_html, send_html
from bot.telegram.texts import error_sentence

logger = logging.getLogger(__name__)

ASK_API_KEY = (
    "Send me your 3Commas <b>API key</b> (the public part).\n"
    "Create it in 3Commas with <b>Accounts read</b> permission only. Send /cancel to stop."
)
ASK_SECOND_PART = (
    "Now send the <b>secret</b>, or your <b>RSA private key</b> in PEM form if you created "
    "the key with your own RSA key pair. I delete it from this chat right after reading it."
)
# Anywhere in the message: "KEY SECRET", "KEY\nSECRET" and "api key: KEY" carry keys too.
LOOKS_LIKE_KEY = re.compile(r"PRIVATE KEY|[A-Za-z0-9+/=_-]{32,}")


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
            context,
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


async def _finish(context: Context, who: Asker, api_key: str, secret: str) -> None:
    progress = await send_html(context, who.chat_id, "⏳ Checking your keys with 3Commas…")
    async with progress_settles(context, who.chat_id, progress.message_id):
        try:
            accounts = await context.bot_data.services.accounts.connect(
                who.user_id, api_key, secret
            )
        except FAILURES as error:
            text = f"❌ {escape(error_sentence(error))}\nNothing was saved."
            await edit_html(context, who.chat_id, progress.message_id, text)
            return
        signer = context.bot_data.signer
        markup = (
            account_buttons(signer, REFRESH, who.user_id, accounts, chat_id=who.chat_id)
            if accounts
            else None
        )
        await edit_html(
            context,
            who.chat_id,
            progress.message_id,
            render_connected(accounts),
            reply_markup=markup,
        )


async def _refuse_in_group(context: Context, who: Asker, carried_keys: bool) -> None:
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
    lines.append(f'<a href="{escape(link)}">Open a private chat with me</a> and send /connect.')
    await send_html(context, who.chat_id, "\n".join(lines))


async def begin_connect(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    _start_session(context, who, ConnectSession())
    await send_html(context, who.chat_id, ASK_API_KEY)


async def connect_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    given = argument_text(who.message)
    if not who.is_private:
        await _refuse_in_group(context, who, carried_keys=bool(given))
        return
    if not given:
        await begin_connect(update, context)
        return
    await delete_quietly(who.message)
    api_key, *rest = given.split(maxsplit=1)
    secret = rest[0] if rest else ""
    if secret:
        _end_session(context, who.user_id)
        await _finish(context, who, api_key, secret)
        return
    _start_session(context, who, ConnectSession(api_key=api_key))
    await send_html(context, who.chat_id, ASK_SECOND_PART)


async def cancel_command(update: Update, context: Context) -> None:
    who = asker(update)
    if who is None:
        return
    if _end_session(context, who.user_id) is None:
        await send_html(context, who.chat_id, "Nothing to cancel.")
    else:
        await send_html(context, who.chat_id, "Cancelled. Nothing was saved.")


async def _delete_pasted_key(context: Context, who: Asker, hint: str) -> None:
    await delete_quietly(who.message)
    await send_html(context, who.chat_id, f"That looked like a key, so I deleted it. {hint}")


async def private_text(update: Update, context: Context) -> None:
    """A plain message (or a caption) in a private chat: the next step of /connect, or a hint."""
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
        if LOOKS_LIKE_KEY.search(text):
            await _delete_pasted_key(context, who, "To connect, send /connect first.")
        else:
            await send_html(context, who.chat_id, "Send /help to see what I can do.")
        return
    await delete_quietly(who.message)
    if session.api_key is None:
        if not text or any(char.isspace() for char in text):
            await send_html(
                context, who.chat_id, "An API key is one word without spaces. Send it again."
            )
            return
        session.api_key = text
        await send_html(context, who.chat_id, ASK_SECOND_PART)
        return
    _end_session(context, who.user_id)
    await _finish(context, who, session.api_key, text)
