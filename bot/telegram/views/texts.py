"""The sentences the bot says: help, and one clear sentence for every error."""

from __future__ import annotations

import math
from datetime import datetime

from bot.services.alerts import BadAlert
from bot.services.errors import (
    AccountNotFound,
    AccountNotMatched,
    AdminsOnly,
    BadOption,
    BadPeriod,
    BotsPermissionMissing,
    ConnectAgain,
    DuplicateEntry,
    ExchangeKeysInvalid,
    InvalidApiKey,
    InvalidKeyFormat,
    KeyChangedMeanwhile,
    KeyPairTooSoon,
    KeyPairWaiting,
    LimitReached,
    NoAccounts,
    NoHistory,
    NoSuchEntry,
    NotConnected,
    NotYours,
    PerAccountOnly,
    PermissionDenied,
    RateLimited,
    RequestLimitReached,
    ServiceError,
    ThreeCommasError,
    Unavailable,
    UnexpectedResponse,
)
from bot.services.schedules import BadSchedule, BadTimezone
from bot.telegram.views.html import clean_name, echo

INTRO = """\
<b>3Commas balances in Telegram</b>
I show the balances and profits of your 3Commas exchange accounts, in this chat or in your groups."""

CONNECT_HELP = """\
<b>Connect</b> (in a private chat with me):
🔐 <b>Recommended:</b> send /connect new. I make a key pair and give you only its public key \
for 3Commas (a self-generated key); you send me back the API key 3Commas shows. No secret ever \
crosses Telegram, and the key needs no IP whitelisting.
<b>With a key you already have:</b>
1. In 3Commas, create an API key with the permissions <b>Accounts read</b> and <b>Bots read</b> \
(for /bots and /deals). Add Accounts write only if a refresh is refused. Never give it trading or withdrawal rights.
2. Send /connect and paste the API key, then the secret (or your RSA private key in PEM form). \
Or in one message: <code>/connect API_KEY SECRET</code>.
I delete the messages with your keys right after reading them and store the keys encrypted."""

IN_GROUPS = "In groups I act only for the person who writes, always with their own keys."


TOTAL_UNAVAILABLE = "Total: unavailable, as no account answered. Try again in a minute."
# The two totals of an account's value, each named with its source and time, as they differ:
# 3Commas values a balance when it updates it, and the coins of /holdings at the prices of
# the moment it is asked.
BALANCES_UPDATED = "balances updated {when}"  # after the total of /refresh all
BALANCES_UPDATED_NOW = "balances updated just now"  # 3Commas gave no update time
COINS_TOTAL = "Total of {coins} at {when} prices"  # the headline of /holdings
ALL_ACCOUNTS_TITLE = "All accounts"  # the title of an answer about every account
BOTS_TODAY = "Bots today"  # the bots' profit of today, in /bots and in the summary
NO_BOTS = "No bots in this account: it has no enabled DCA bots and no grid bots."
NO_ACTIVE_DEALS = "No active deals right now."
BOTS_CUT = "3Commas lists more bots here than I read at once; those beyond are left out."
DEALS_CUT = (
    "3Commas lists more active deals than I read at once; the list and total count those read."
)
# A key without BOTS_READ, asked about bots or deals (one sentence: what, and how to fix it).
BOTS_READ_MISSING = (
    "Your 3Commas API key needs the “Bots read” permission for this: in 3Commas, open "
    "My profile → API keys and add Bots read to this key, or create a key with Accounts read "
    "and Bots read and send /connect."
)
SOMETHING_WENT_WRONG = "Something went wrong on our side. Please try again in a minute."
INTERRUPTED_BY_RESTART = "Interrupted by a restart. Try again."

# The Mini App (the dashboard): its button, and what its data answers say.
DASHBOARD_BUTTON = "📊 Dashboard"
DASHBOARD_OPEN = "Your dashboard: every account at a glance. Tap the button to open it."
DASHBOARD_NOT_CONNECTED = (
    "Connect your 3Commas account first: send /connect in a private chat with the bot."
)
DASHBOARD_NO_INIT_DATA = "Open the dashboard from the bot's button in Telegram."
DASHBOARD_BAD_INIT_DATA = (
    "This dashboard link is not valid for this bot. Open it again from the bot's button."
)
DASHBOARD_EXPIRED = "This dashboard was opened too long ago. Close it and open it again."
DASHBOARD_PRIVATE = "This bot is private."
DASHBOARD_NO_SUCH_ACCOUNT = "You have no such account. Pull to refresh the list."
DASHBOARD_NOT_FOUND = "There is nothing here."
DASHBOARD_BAD_PERIOD = "The period must be one of 7d, 30d, 90d or 1y."
DASHBOARD_TOTAL = "Total of {accounts}"
DASHBOARD_NO_FIGURES = "No figures yet: refresh to load them from 3Commas."
DASHBOARD_DEPOSIT = "Deposit {amount}"
DASHBOARD_WITHDRAWAL = "Withdrawal {amount}"


def updated_ago(moment: datetime | None, now: datetime) -> str:
    """`just now`, `2 min ago`, `3 h ago`, `5 days ago`, or `never`: when figures were taken."""
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def human_duration(seconds: float) -> str:
    """`45 s`, `5 min`, `2 h 5 min`, `3 days`."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{math.ceil(hours / 24)} days"


def unreadable_accounts(count: int) -> str:
    """After /connect: rows 3Commas listed that are no usable account (a figure out of range)."""
    if count == 1:
        return "3Commas listed one more account with figures I cannot read, so I left it out."
    return f"3Commas listed {count} more accounts with figures I cannot read, so I left them out."


def error_sentence(error: Exception) -> str:
    """One plain sentence for the user (escape it before putting it into HTML)."""
    match error:
        case KeyPairWaiting():
            return "Your key pair from /connect new still waits for its API key: send me, in a private chat, the API key 3Commas showed for it (or /cancel to drop the pair)."
        case NotConnected():
            return "You have not connected a 3Commas API key yet: send /connect in a private chat with me."
        case ConnectAgain():
            return "I can no longer read your stored 3Commas keys. Please connect again with /connect in a private chat with me."
        case InvalidKeyFormat():
            return "That is neither a 3Commas API secret nor an RSA private key in PEM form. Send /connect to try again."
        case NoAccounts():
            return (
                "Your 3Commas key sees no exchange accounts. Connect an exchange in 3Commas first."
            )
        case ExchangeKeysInvalid():
            return "3Commas says the exchange API keys stored for this account are no longer valid or incorrect. Fix the exchange connection in 3Commas; your 3Commas key here is fine."
        case InvalidApiKey():
            return "3Commas refused your API key: the key is wrong or expired, the signature is wrong, or (for a system-generated key) the request came from an IP address not whitelisted for it. Send /connect new to make a key pair that needs no whitelisting."
        case BotsPermissionMissing():
            return BOTS_READ_MISSING
        case PermissionDenied(permission=str(permission)) if permission.strip():
            return f"Your 3Commas API key lacks the {clean_name(permission, limit=40)} permission. Edit the key in 3Commas (never give it trading or withdrawal rights)."
        case PermissionDenied():
            return "Your 3Commas API key lacks a permission: it needs Accounts read, and Accounts write if refreshing balances is refused. Edit the key in 3Commas."
        case AccountNotFound():
            return "3Commas has no such account for your key. Send /accounts to see yours."
        case RateLimited(banned=True, retry_after=seconds):
            return f"3Commas has temporarily blocked requests from this bot. Try again in {human_duration(seconds)}."
        case RateLimited(retry_after=seconds):
            return (
                f"3Commas is limiting how often we may ask. Try again in {human_duration(seconds)}."
            )
        case UnexpectedResponse():
            return "3Commas sent an unreadable answer. Try again in a minute."
        case Unavailable():
            return "3Commas or the exchange is not answering right now. Try again in a minute."
        case ThreeCommasError():
            return "3Commas refused the request. Try again in a minute, or send /help."
        case ServiceError():
            return _service_sentence(error) or "That did not work. Please try again."
    return SOMETHING_WENT_WRONG


def _service_sentence(error: ServiceError) -> str | None:
    """Sentences of the subscription and alert commands, whose errors say how to fix them."""
    match error:
        case AccountNotMatched(query=query, candidates=[]):
            return f"No account matches “{echo(query)}”. Send /accounts to see yours."
        case AccountNotMatched(query=query, candidates=candidates):
            return f"Several accounts match “{echo(query)}”: {_some(candidates)}. Be more specific."
        case BadTimezone(given=given):
            return f"“{echo(given)}” is not a time zone. Use Area/City, like Europe/Berlin."
        case RequestLimitReached(requests_per_minute=limit):
            return f"Not refreshed: 3Commas allows {limit} requests a minute per API key, and this minute's are used up. Send /refresh all again in a minute: the accounts left out go first."
        case PerAccountOnly(command=command):
            return f"/{command} works per account: name one, like /{command} binance, or send /{command} alone to pick."
        case NoSuchEntry():
            return "There is no entry with that number here. Send /subscriptions to see the list."
        case NotYours():
            return "Only the one who created it, or a group administrator, may remove it."
        case DuplicateEntry(entry=entry, number=number):
            return f"You already have that {entry} here: #{number}. Send /subscriptions to see the list."
        case LimitReached(entries=entries, scope="chat", limit=limit):
            return f"This chat already has {_count(limit, entries)}, the most allowed. Remove one with /unsubscribe first."
        case LimitReached(entries=entries, limit=limit):
            return f"You already have {_count(limit, entries)} across your chats, the most allowed. Remove one with /unsubscribe first."
        case AdminsOnly():
            return "Only a group administrator may change this group's time zone."
        case BadOption(command=command, options=[option]):
            return f"After the account, /{command} takes only “{option}”, like /{command} all {option}."
        case BadOption(command=command, options=options):
            return f"After the account, /{command} takes one of {', '.join(options)}, like /{command} all {options[0]}."
        case KeyPairTooSoon(seconds_left=seconds):
            return f"I made you a key pair a moment ago: use that one, or ask for a new one in {human_duration(seconds)}."
        case KeyChangedMeanwhile():
            return "You disconnected, or connected another key, while I was checking this one. Send /connect to connect again."
        case NoHistory():
            return "3Commas has no balance history for this account in that period yet."
        case BadSchedule() | BadAlert() | BadPeriod():
            return str(error)
    return None


def _count(count: int, entries: str) -> str:
    """`1 alert`, `5 alerts` (`entries` is the plural)."""
    return f"{count} {entries.removesuffix('s') if count == 1 else entries}"


def _some(names: list[str], shown: int = 5) -> str:
    """`a, b, c` or, for many, `a, b, c, d, e and 7 more`."""
    listed = ", ".join(clean_name(name, limit=40) for name in names[:shown])
    return listed if len(names) <= shown else f"{listed} and {len(names) - shown} more"


def too_many_at_once(at_a_time: int) -> str:
    """Said once to a chat whose updates come faster than they can be answered."""
    return (
        f"⏳ Messages are coming faster than I can answer here. I take {at_a_time} at a time "
        "and skipped the others: send again once you have my answers."
    )
