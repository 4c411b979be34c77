"""Who may change a group's settings (/timezone, /language): its administrators."""

from __future__ import annotations

from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.telegram.context import Context
from bot.telegram.handlers.common import Asker

ADMINS = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def is_admin(context: Context, who: Asker) -> bool:
    """Whether the sender administers the group (never in a private chat)."""
    if who.is_private:
        return False
    try:
        member = await context.bot.get_chat_member(who.chat_id, who.user_id)
    except TelegramError:
        return False
    return member.status in ADMINS
