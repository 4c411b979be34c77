"""Every sentence the bot says, in English: the one home of its words, and the source of the
gettext catalogs (bot/locales/<lang>/LC_MESSAGES/bot.po).

A sentence is marked `N_("...")` (or `NP_("...", "...")` when it has plural forms) and
translated where it is used, with the chat's `Translator`: `t(SENTENCE, name=...)`,
`t.plural(SENTENCES, count)`. Fields are named (`{name}`), never f-strings, so translators can
move them. Adding a sentence: write it here, use it, run `make translations`, translate the new
entries of each bot.po (the catalog test names any left empty), run `make translations` again.
Command names, coin codes, account names and numbers stay as they are in every language.
"""

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
from bot.services.languages import LANGUAGES, BadLanguage
from bot.services.schedules import BadSchedule, BadTimezone
from bot.telegram.views.html import clean_name, echo
from bot.telegram.views.translator import N_, NP_, Plural, Translator

# ---------------------------------------------------------------------- /help and /start

INTRO = N_("""\
<b>3Commas balances in Telegram</b>
I show the balances and profits of your 3Commas exchange accounts, in this chat or in your groups.""")

CONNECT_HELP = N_("""\
<b>Connect</b> (in a private chat with me):
🔐 <b>Recommended:</b> send /connect new. I make a key pair and give you only its public key \
for 3Commas (a self-generated key); you send me back the API key 3Commas shows. No secret ever \
crosses Telegram, and the key needs no IP whitelisting.
<b>With a key you already have:</b>
1. In 3Commas, create an API key with the permissions <b>Accounts read</b> and <b>Bots read</b> \
(for /bots and /deals). Add Accounts write only if a refresh is refused. Never give it trading or withdrawal rights.
2. Send /connect and paste the API key, then the secret (or your RSA private key in PEM form). \
Or in one message: <code>/connect API_KEY SECRET</code>.
I delete the messages with your keys right after reading them and store the keys encrypted.""")

COMMANDS_HEADING = N_("<b>Commands</b>")
IN_GROUPS = N_("In groups I act only for the person who writes, always with their own keys.")
LANGUAGES_HELP = N_(
    "🌐 I answer in your Telegram language: English, Russian, Spanish, Portuguese or Turkish. "
    "Change it with /language."
)

# What each command does: the rest of its /help line, and its description in the command menu.
DOES_START = N_("what this bot does")
DOES_HELP = N_("how to connect and every command")
DOES_CONNECT = N_("connect 3Commas: /connect new makes a key pair (private chat)")
DOES_ACCOUNTS = N_("your exchange accounts, with refresh buttons")
DOES_REFRESH = N_("balances and profits, by id or (part of the) name")
DOES_HOLDINGS = N_("the coins held, largest first")
DOES_CHART = N_("a chart of the balance, deposits marked")
DOES_PROFIT = N_("profit by period, net of deposits")
DOES_SUBSCRIBE = N_(
    "post summaries here on a schedule (or daily 09:00; add holdings, chart or profit); "
    "or each deal that closes: /subscribe all deals"
)
DOES_SUBSCRIPTIONS = N_("this chat's subscriptions and alerts")
DOES_UNSUBSCRIBE = N_("remove a subscription or alert (its creator or a group admin)")
DOES_ALERT = N_("a word here when a balance or day profit crosses a line (also day < -5%, and >)")
DOES_TIMEZONE = N_("this chat's time zone for daily summaries and the times shown")
DOES_LANGUAGE = N_("the language I answer in (a group's: its admins choose)")
DOES_DISCONNECT = N_("forget your keys and everything stored for you")
DOES_CANCEL = N_("stop connecting")

UNKNOWN_COMMAND = N_("I don't know {command}. Send /help to see every command.")
UNKNOWN_COMMAND_CLOSE = N_(
    "I don't know {command}. Did you mean {closest}? Send /help to see every command."
)
BOT_IS_PRIVATE = N_("This bot is private.")

# ---------------------------------------------------------------------- /language

LANGUAGE_NOW = N_("🌐 I answer here in English. Choose another language:")
LANGUAGE_NOW_IN_GROUP = N_(
    "🌐 I answer in this group in English. A group administrator changes it with "
    "/language &lt;code&gt;: {codes}."
)
LANGUAGE_SET = N_("🌐 From now on I answer here in English.")
LANGUAGE_BUTTON_NOT_VALID = N_("This button is not valid here. Send /language instead.")

# ---------------------------------------------------------------------- summaries

TOTAL_UNAVAILABLE = N_("Total: unavailable, as no account answered. Try again in a minute.")
# The two totals of an account's value, each named with its source and time, as they differ:
# 3Commas values a balance when it updates it, and the coins of /holdings at the prices of
# the moment it is asked.
BALANCES_UPDATED = N_("balances updated {when}")  # after the total of /refresh all
BALANCES_UPDATED_NOW = N_("balances updated just now")  # 3Commas gave no update time
ALL_ACCOUNTS_TITLE = N_("All accounts")  # the title of an answer about every account
ALL_ACCOUNTS_NAME = N_("all accounts")  # in a sentence: "Refreshing all accounts…"
# in a sentence, an account that is no longer stored (its name unknown): "account 12345"
ACCOUNT_BY_ID = N_("account {id}")
SOMETHING_WENT_WRONG = N_("Something went wrong on our side. Please try again in a minute.")
INTERRUPTED_BY_RESTART = N_("Interrupted by a restart. Try again.")
NOT_AVAILABLE = N_("n/a")
BALANCE = N_("Balance: {balance}")
PROFIT = N_("Profit: {change}")
TODAY = N_("Today: {change}")
UPDATED = N_("Updated {when}")
UPDATED_NOW = N_("Updated just now")
TOTAL = N_("<b>Total</b> ({accounts}): {value} ({updated})")
ACCOUNTS_COUNTED = NP_("{count} account", "{count} accounts")
ACCOUNTS_ANSWERED = NP_("{answered} of {count} account", "{answered} of {count} accounts")
KEYS_EXPIRED = N_("⚠️ The exchange API keys in 3Commas have expired: renew them in 3Commas.")
KEYS_EXPIRE_SOON = N_("⚠️ The exchange API keys in 3Commas expire soon: renew them in 3Commas.")
KEYS_STATE = N_("⚠️ Exchange API keys in 3Commas: {state}")
NO_EXCHANGE_ACCOUNTS = N_("You have no exchange accounts in 3Commas.")
YOUR_ACCOUNTS = N_("<b>Your accounts</b>")
ACCOUNT_ID = N_("id {id}")
CONNECTED = NP_(
    "✅ Connected. Your key sees {count} account.", "✅ Connected. Your key sees {count} accounts."
)
UNREADABLE_ACCOUNTS = NP_(
    "3Commas listed one more account with figures I cannot read, so I left it out.",
    "3Commas listed {count} more accounts with figures I cannot read, so I left them out.",
)
NO_MATCH = N_("No account matches “{query}”.")
NO_MATCH_IN_GROUP = N_(
    "No account of yours matches “{query}”. "
    'Send /accounts in <a href="{link}">a private chat with me</a> to see yours.'
)
WHICH_ACCOUNT = N_("Which account?")
SEVERAL_MATCH = N_("Several accounts match. Which one?")
TRY_AGAIN = N_("🔄 Try again")
BUTTON_NOT_VALID_IN_CHAT = N_("This button is not valid in this chat. Send /{command} instead.")
BUTTON_OF_SOMEONE_ELSE = N_(
    "This button belongs to someone else. Use /{command} with your own keys."
)
# The progress message of each per-account command, and the note when its button is pressed.
REFRESHING = N_("Refreshing {name}…")
LOADING_HOLDINGS = N_("Loading the holdings of {name}…")
DRAWING_CHART = N_("Drawing the balance of {name}…")
ADDING_UP_PROFIT = N_("Adding up the profit of {name}…")
# Under a list of accounts with buttons, per command.
TAP_TO_REFRESH = N_("Tap one to refresh it, or send /{command} &lt;name or id&gt;.")
TAP_TO_SEE_HOLDINGS = N_("Tap one to see its holdings, or send /{command} &lt;name or id&gt;.")
TAP_TO_SEE_CHART = N_("Tap one to see its chart, or send /{command} &lt;name or id&gt;.")
TAP_TO_SEE_PROFIT = N_("Tap one to see its profit, or send /{command} &lt;name or id&gt;.")

# ---------------------------------------------------------------------- buttons

BUTTON_REFRESH = N_("🔄 Refresh")
BUTTON_REFRESH_ALL = N_("🔄 Refresh all")
BUTTON_HOLDINGS = N_("🪙 Holdings")
BUTTON_CHART = N_("📈 Chart")
BUTTON_ALL = N_("All")
BUTTON_MAKE_KEY_PAIR = N_("🔐 Make a key pair for me (recommended)")
BUTTON_HAVE_A_KEY = N_("I already have a key")
BUTTON_ALL_COINS = N_("📋 All {count} coins")

# ---------------------------------------------------------------------- /holdings

HOLDINGS_TITLE = N_("🪙 Holdings · {account}")
NO_COINS = N_("No coins in this account.")
COINS_TOTAL = N_("Total of {coins} at {when} prices")  # the headline of /holdings
COINS_COUNTED = NP_("{count} coin", "{count} coins")
# The table's two header lines: "Coin ... Share", "  Amount = Value ... 24h" (34 columns).
HEADER_COIN = N_("Coin")
HEADER_SHARE = N_("Share")
HEADER_AMOUNT_VALUE = N_("Amount = Value")
HEADER_DAY_CHANGE = N_("24h")
FOLDED_COINS = N_("+ {count} more under {percent}%: {value}")
MORE_COINS = NP_("… and {count} more coin (smaller)", "… and {count} more coins (smaller)")

# ---------------------------------------------------------------------- /chart and /profit

LAST_7_DAYS = N_("Last 7 days")
LAST_30_DAYS = N_("Last 30 days")
LAST_90_DAYS = N_("Last 90 days")
LAST_YEAR = N_("Last year")
CHART_TITLE = N_("📈 {account}")
CHART_PERIOD = N_("{period}: {start} → {end} ({zone})")
CHART_BALANCE = N_("Balance {start} → <b>{end}</b>")
CHANGE_NET_OF_DEPOSITS = N_("Change net of deposits: {change}")
DEPOSITED = N_("Deposited {amount}")
WITHDRAWN = N_("Withdrawn {amount}")
DEPOSITED_AND_WITHDRAWN = N_("Deposited {deposited} · withdrawn {withdrawn}")
MARKED_ON_CHART = N_("{transfers} (marked on the chart).")
NO_TRANSFERS = N_("No deposits or withdrawals.")
PROFIT_BY_DAY = N_("📊 Profit by day · {account}")
PROFIT_BY_WEEK = N_("📊 Profit by week · {account}")
PROFIT_BY_MONTH = N_("📊 Profit by month · {account}")
PROFIT_NOTE_DAYS = N_("Net of deposits and withdrawals, in USD. Days in {zone}.")
PROFIT_NOTE_WEEKS = N_(
    "Net of deposits and withdrawals, in USD. Weeks (Monday to Sunday) in {zone}."
)
PROFIT_NOTE_MONTHS = N_("Net of deposits and withdrawals, in USD. Months in {zone}.")
COLUMN_DAY = N_("Day")
COLUMN_WEEK = N_("Week")
COLUMN_MONTH = N_("Month")
COLUMN_PROFIT = N_("Profit")
ROW_TOTAL = N_("Total")
THIS_DAY = N_("Today")
THIS_WEEK = N_("This week")
THIS_MONTH = N_("This month")
NO_DATA = N_("no data")
# Dates, in every language's own words (never the machine's locale). A month with its day and
# a month with its year are written apart: some languages decline the month's name (мая, май).
DAY_OF_MONTH = (  # 4 Dec
    N_("{day} Jan"),
    N_("{day} Feb"),
    N_("{day} Mar"),
    N_("{day} Apr"),
    N_("{day} May"),
    N_("{day} Jun"),
    N_("{day} Jul"),
    N_("{day} Aug"),
    N_("{day} Sep"),
    N_("{day} Oct"),
    N_("{day} Nov"),
    N_("{day} Dec"),
)
MONTH_OF_YEAR = (  # Dec 2026
    N_("Jan {year}"),
    N_("Feb {year}"),
    N_("Mar {year}"),
    N_("Apr {year}"),
    N_("May {year}"),
    N_("Jun {year}"),
    N_("Jul {year}"),
    N_("Aug {year}"),
    N_("Sep {year}"),
    N_("Oct {year}"),
    N_("Nov {year}"),
    N_("Dec {year}"),
)
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
DAY_MONTH_YEAR = N_("{day_month} {year}")  # 4 Dec 2026
WEEKDAY_DAY_MONTH = N_("{weekday} {day_month}")  # Fri 4 Dec

# ---------------------------------------------------------------------- durations

SECONDS_SHORT = N_("{count} s")
MINUTES_SHORT = N_("{count} min")
HOURS_SHORT = N_("{count} h")
HOURS_MINUTES_SHORT = N_("{hours} h {minutes} min")
DAYS = NP_("{count} day", "{count} days")

# ---------------------------------------------------------------------- /connect

OFFER_KEY_PAIR = N_(
    "🔐 <b>Make a key pair for me</b> (recommended, same as /connect new): I make an RSA key "
    "pair and give you only its public key for 3Commas. No secret ever crosses this chat, and "
    "3Commas needs no IP whitelisting for such a key."
)
HOW_TO_CONNECT = N_("How would you like to connect 3Commas?")
PAIR_WAITING = N_(
    "🔐 The key pair I made for you is waiting: send me the API key 3Commas gave for its "
    "public key. Or choose again:"
)
OWN_KEY_NOW = N_(
    "<b>I already have a key</b>: send me its API key now, then its secret. Send /cancel to stop."
)
OWN_KEY_BUTTON = N_(
    "<b>I already have a key</b>: press its button, then send me the API key and its secret. "
    "Send /cancel to stop."
)
ASK_API_KEY = N_(
    "Send me your 3Commas <b>API key</b> (the public part).\n"
    "Create it in 3Commas with the permissions <b>Accounts read</b> and <b>Bots read</b> only "
    "(Bots read for /bots and /deals). Send /cancel to stop."
)
ASK_SECOND_PART = N_(
    "Now send the <b>secret</b>, or your <b>RSA private key</b> in PEM form if you created "
    "the key with your own RSA key pair. I delete it from this chat right after reading it."
)
KEY_PAIR_MADE = N_(
    "🔐 I made a key pair for you. Here is its <b>public key</b> for 3Commas (tap it to "
    "copy; it is also in the file {file} below). The private key stays with me, "
    "encrypted: it never leaves this bot, not even to you."
)
KEY_PAIR_STEPS = N_(
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
PUBLIC_KEY_CAPTION = N_("Your public key for 3Commas as a file (the same as above).")
KEY_PAIR_KEPT = N_("Your key pair still waits here: send the API key again when it is ready.")
KEY_PAIR_EXPIRED = N_(
    "⌛ The key pair I made for you has expired (a pair waits 24 hours). Send /connect new for "
    "a new pair, and in 3Commas delete the API key you created for the old one."
)
WRONG_KEY_FOR_PAIR = N_(
    "3Commas refused that API key. Check that you copied the whole API key of the key you "
    "created with the public key I gave you, and send it again. /connect new makes a new pair; "
    "/cancel drops it."
)
CONNECT_BUTTON_NOT_VALID = N_("This button is not valid here. Send /connect instead.")
WHITELIST_NOTE = N_(
    "Keeping a system-generated key (API key and secret)? 3Commas requires such a key to "
    "be whitelisted for the IP address it is used from: add <code>{address}</code> "
    "to the key in 3Commas."
)
API_KEY_HAS_SPACES = N_("An API key is one word without spaces.")
NOT_AN_API_KEY = N_(
    "That is not a 3Commas API key: it is too long or has characters API keys do not have."
)
SECRET_HAS_SPACES = N_("A secret is one word, and there was more after it.")
NOTHING_SAVED_TRY_AGAIN = N_("{problem} Nothing was saved; send /connect to try again.")
SEND_IT_AGAIN = N_("{problem} Send it again.")
CONNECT_TIMED_OUT = N_(
    "⌛ Connecting timed out and nothing was saved. Send /connect to start again."
)
CHECKING_KEYS = N_("⏳ Checking your keys with 3Commas…")
NOTHING_WAS_SAVED = N_("Nothing was saved.")
ONLY_PRIVATE_KEYS = N_(
    "🔒 I only take API keys in a private chat. Nothing from this message was used or stored."
)
DELETED_REVOKE = N_(
    "I deleted your message, but others may have seen it: revoke those keys in "
    "3Commas now and create new ones."
)
NOT_DELETED_REVOKE = N_(
    "I could not delete your message: delete it yourself, then revoke those keys "
    "in 3Commas and create new ones."
)
OPEN_PRIVATE_CHAT = N_('<a href="{link}">Open a private chat with me</a> and send {command}.')
CANCELLED_KEY_PAIR = N_(
    "Cancelled. I deleted the key pair I made for you; if you created an API key with "
    "it in 3Commas, delete that key there too."
)
CANCELLED = N_("Cancelled. Nothing was saved.")
NOTHING_TO_CANCEL = N_("Nothing to cancel.")
LOOKED_LIKE_KEY = N_("That looked like a key, so I deleted it. {hint}")
CONNECT_FIRST = N_("To connect, send /connect first.")
KEYS_ONLY_FROM_NEW = N_("I read keys only from new messages.")
SEND_HELP = N_("Send /help to see what I can do.")
DISCONNECTED = N_(
    "🗑 Done: I forgot your 3Commas keys and everything stored for you. "
    "You may also delete the key in 3Commas. Send /connect to start again."
)
NOTHING_STORED = N_("Nothing was stored for you. Send /connect to connect a 3Commas key.")

# ---------------------------------------------------------------------- subscriptions, alerts

UNSUBSCRIBE_USAGE = N_("Send /unsubscribe &lt;number&gt;, with the number from /subscriptions.")
SUBSCRIPTION_REMOVED = N_("🗑 Subscription #{number} ({account}) removed.")
ALERT_REMOVED = N_("🗑 Alert #{number} ({account}) removed.")
TIMEZONE_NOW = N_("This chat's time zone is {zone}. Change it with /timezone Area/City.")
TIMEZONE_SET = N_("🕘 Daily summaries in this chat now follow {zone}.")
DAILY_AT = N_("daily at {time}")
EVERY = N_("every {interval}")
# What a subscription posts, in its schedule (`every 1 h · chart`), by its stored name.
CONTENT_NAMES = {
    "holdings": N_("holdings"),
    "chart": N_("chart"),
    "profit": N_("profit"),
}
ALERT_BALANCE_RULE = N_("balance {operator} {threshold}")
ALERT_DAY_RULE = N_("today {operator} {threshold}")
ALERT_DAY_RULE_IN = N_("today {operator} {threshold} in {currency}")
SUBSCRIBED = N_("✅ Subscribed: <b>{account}</b> {schedule}.")
# "Next <what it posts>: <when>", per kind of subscription.
NEXT_SUMMARY = N_("Next summary: {when}. Send /subscriptions to see them all.")
NEXT_HOLDINGS = N_("Next holdings: {when}. Send /subscriptions to see them all.")
NEXT_CHART = N_("Next balance chart: {when}. Send /subscriptions to see them all.")
NEXT_PROFIT = N_("Next profit table: {when}. Send /subscriptions to see them all.")
# "The scheduled <what it posts> of <account> failed", per kind of subscription.
SUMMARY_FAILED = N_("⚠️ The scheduled summary of <b>{account}</b> failed: {reason}")
HOLDINGS_FAILED = N_("⚠️ The scheduled holdings of <b>{account}</b> failed: {reason}")
CHART_FAILED = N_("⚠️ The scheduled balance chart of <b>{account}</b> failed: {reason}")
PROFIT_FAILED = N_("⚠️ The scheduled profit table of <b>{account}</b> failed: {reason}")
KEEP_TRYING = N_("I keep trying on schedule and will say when it works again.")
WORKING_AGAIN = N_("✅ Working again.")
ALERT_SET = N_(
    "🔔 Alert set: <b>{account}</b> {rule}.\n"
    "I post here once when it happens, and again only after it was false in between."
)
ALERT_FIRED = N_("🔔 <b>Alert: {account}</b> · {rule}")
CHAT_BY_ID = N_("chat <code>{id}</code>")
UNSCHEDULABLE_HERE = N_(
    "⚠️ Your subscription #{number} (<b>{account}</b> {schedule}) here cannot be scheduled, "
    "so it does not run. Remove it there with /unsubscribe {number}, then subscribe again."
)
UNSCHEDULABLE_IN_CHAT = N_(
    "⚠️ Your subscription #{number} (<b>{account}</b> {schedule}) in chat <code>{chat}</code> "
    "cannot be scheduled, so it does not run. Remove it there with /unsubscribe {number}, "
    "then subscribe again."
)
STATE_PAUSED = N_("paused")
STATE_NEXT = N_("next {when}")
STATE_UNSCHEDULABLE = N_("cannot be scheduled: remove it")
STATE_RUNNING = N_("running now")
NO_ENTRIES = N_(
    "No subscriptions or alerts in this chat yet. "
    "Try /subscribe &lt;account|all&gt; every 1h or /alert &lt;account&gt; day &lt; -5%."
)
ENTRIES_HEADING = N_("<b>Subscriptions and alerts here</b> (times in {zone})")
ENTRY_BY = N_("by {owner}")
REMOVE_ONE = N_("Remove one with /unsubscribe &lt;number&gt;.")
SHUT_OUT = NP_(
    "⏸ I can no longer post to {chat} (I was removed or blocked there), so your "
    "{count} subscription there is paused. Add me back to that chat and it resumes.",
    "⏸ I can no longer post to {chat} (I was removed or blocked there), so your "
    "{count} subscriptions there are paused. Add me back to that chat and they resume.",
)
TOO_MANY_AT_ONCE = N_(
    "⏳ Messages are coming faster than I can answer here. I take {count} at a time "
    "and skipped the others: send again once you have my answers."
)

# ---------------------------------------------------------------------- error sentences

KEY_PAIR_WAITING = N_(
    "Your key pair from /connect new still waits for its API key: send me, in a private chat, "
    "the API key 3Commas showed for it (or /cancel to drop the pair)."
)
NOT_CONNECTED = N_(
    "You have not connected a 3Commas API key yet: send /connect in a private chat with me."
)
CONNECT_AGAIN = N_(
    "I can no longer read your stored 3Commas keys. Please connect again with /connect in a "
    "private chat with me."
)
INVALID_KEY_FORMAT = N_(
    "That is neither a 3Commas API secret nor an RSA private key in PEM form. Send /connect to "
    "try again."
)
NO_ACCOUNTS = N_(
    "Your 3Commas key sees no exchange accounts. Connect an exchange in 3Commas first."
)
EXCHANGE_KEYS_INVALID = N_(
    "3Commas says the exchange API keys stored for this account are no longer valid or "
    "incorrect. Fix the exchange connection in 3Commas; your 3Commas key here is fine."
)
INVALID_API_KEY = N_(
    "3Commas refused your API key: the key is wrong or expired, the signature is wrong, or (for "
    "a system-generated key) the request came from an IP address not whitelisted for it. Send "
    "/connect new to make a key pair that needs no whitelisting."
)
LACKS_PERMISSION = N_(
    "Your 3Commas API key lacks the {permission} permission. Edit the key in 3Commas (never "
    "give it trading or withdrawal rights)."
)
LACKS_A_PERMISSION = N_(
    "Your 3Commas API key lacks a permission: it needs Accounts read, and Accounts write if "
    "refreshing balances is refused. Edit the key in 3Commas."
)
NO_SUCH_ACCOUNT = N_("3Commas has no such account for your key. Send /accounts to see yours.")
BLOCKED_FOR_A_WHILE = N_(
    "3Commas has temporarily blocked requests from this bot. Try again in {duration}."
)
RATE_LIMITED = N_("3Commas is limiting how often we may ask. Try again in {duration}.")
UNREADABLE_ANSWER = N_("3Commas sent an unreadable answer. Try again in a minute.")
NOT_ANSWERING = N_("3Commas or the exchange is not answering right now. Try again in a minute.")
REFUSED = N_("3Commas refused the request. Try again in a minute, or send /help.")
DID_NOT_WORK = N_("That did not work. Please try again.")
NO_ACCOUNT_MATCHES = N_("No account matches “{query}”. Send /accounts to see yours.")
SEVERAL_ACCOUNTS_MATCH = N_("Several accounts match “{query}”: {names}. Be more specific.")
SOME_AND_MORE = N_("{names} and {count} more")
NOT_A_TIME_ZONE = N_("“{given}” is not a time zone. Use Area/City, like Europe/Berlin.")
NOT_A_LANGUAGE = N_("I do not speak “{given}”. Choose one of: {codes}.")
REQUEST_LIMIT_REACHED = N_(
    "Not refreshed: 3Commas allows {limit} requests a minute per API key, and this minute's are "
    "used up. Send /refresh all again in a minute: the accounts left out go first."
)
PER_ACCOUNT_ONLY = N_(
    "/{command} works per account: name one, like /{command} binance, or send /{command} alone "
    "to pick."
)
NO_SUCH_ENTRY = N_("There is no entry with that number here. Send /subscriptions to see the list.")
NOT_YOURS = N_("Only the one who created it, or a group administrator, may remove it.")
DUPLICATE_SUBSCRIPTION = N_(
    "You already have that subscription here: #{number}. Send /subscriptions to see the list."
)
DUPLICATE_ALERT = N_(
    "You already have that alert here: #{number}. Send /subscriptions to see the list."
)
CHAT_SUBSCRIPTIONS_FULL = NP_(
    "This chat already has {count} subscription, the most allowed. Remove one with "
    "/unsubscribe first.",
    "This chat already has {count} subscriptions, the most allowed. Remove one with "
    "/unsubscribe first.",
)
CHAT_ALERTS_FULL = NP_(
    "This chat already has {count} alert, the most allowed. Remove one with /unsubscribe first.",
    "This chat already has {count} alerts, the most allowed. Remove one with /unsubscribe first.",
)
YOUR_SUBSCRIPTIONS_FULL = NP_(
    "You already have {count} subscription across your chats, the most allowed. Remove one "
    "with /unsubscribe first.",
    "You already have {count} subscriptions across your chats, the most allowed. Remove one "
    "with /unsubscribe first.",
)
YOUR_ALERTS_FULL = NP_(
    "You already have {count} alert across your chats, the most allowed. Remove one with "
    "/unsubscribe first.",
    "You already have {count} alerts across your chats, the most allowed. Remove one with "
    "/unsubscribe first.",
)
ADMINS_ONLY_TIMEZONE = N_("Only a group administrator may change this group's time zone.")
ADMINS_ONLY_LANGUAGE = N_("Only a group administrator may change this group's language.")
ONE_OPTION = N_(
    "After the account, /{command} takes only “{option}”, like /{command} all {option}."
)
SOME_OPTIONS = N_(
    "After the account, /{command} takes one of {options}, like /{command} all {option}."
)
KEY_PAIR_TOO_SOON = N_(
    "I made you a key pair a moment ago: use that one, or ask for a new one in {duration}."
)
KEY_CHANGED_MEANWHILE = N_(
    "You disconnected, or connected another key, while I was checking this one. Send /connect "
    "to connect again."
)
NO_HISTORY = N_("3Commas has no balance history for this account in that period yet.")

# Sentences of the services' parsers, by the reason their error names (`error.reason`).
REASONS = {
    # /alert
    "alert.usage": N_(
        "Write it as /alert &lt;account&gt; balance &lt; 25000 or /alert &lt;account&gt; "
        "day &lt; -5% (or &gt;)."
    ),
    "alert.per_account": N_(
        "Alerts are per account: set one for each account you want to watch, like "
        "/alert &lt;account&gt; balance &lt; 25000. Send /accounts to see yours."
    ),
    "alert.day_is_percent": N_(
        "A day alert is a percentage, like /alert &lt;account&gt; day &lt; -5%."
    ),
    "alert.balance_is_amount": N_(
        "A balance alert is an amount, like /alert &lt;account&gt; balance &lt; 25000."
    ),
    "alert.not_a_number": N_("The threshold must be a number."),
    "alert.too_large": N_(
        "The threshold must be below 1,000,000,000,000,000 with at most {places} decimals."
    ),
    "alert.currency_sign": N_(
        "Write the threshold as a plain number, without “{sign}”: a balance alert is in the "
        "account's own currency, which I name when the alert is set. Like /alert &lt;account&gt; "
        "balance &lt; 25000."
    ),
    "alert.shorthand": N_(
        "Write the threshold in full digits, like 25000: shorthands like 25k are not read."
    ),
    "alert.balance_never": N_("A balance is never below 0, so “{rule}” would never be true."),
    "alert.balance_always": N_("A balance is never below 0, so “{rule}” would always be true."),
    "alert.day_never": N_("A day can lose at most 100%, so “{rule}” would never be true."),
    "alert.day_always": N_("A day can lose at most 100%, so “{rule}” would always be true."),
    # /subscribe
    "schedule.no_zone": N_(
        "A subscription takes no time zone: daily times follow the chat's zone, set with "
        "/timezone {zone}. Then subscribe without it, like /subscribe all daily 09:00."
    ),
    "schedule.content": N_(
        "A subscription posts one of: {contents} (the summary when none is given), like "
        "/subscribe all daily 09:00 chart. Closed deals come as they close: /subscribe all deals."
    ),
    "schedule.longest": N_("The longest interval is {interval}."),
    "schedule.shortest": N_("The shortest interval is {interval}."),
    "schedule.daily_time": N_("A daily time is HH:MM between 00:00 and 23:59."),
    "schedule.usage": N_(
        "Write it as /subscribe &lt;account|all&gt; every &lt;N&gt;&lt;s|m|h|d&gt; or /subscribe "
        "&lt;account|all&gt; daily HH:MM, then optionally what to post: holdings, chart or "
        "profit (the summary by default); or /subscribe &lt;account|all&gt; deals for each deal "
        "that closes."
    ),
    "feed.words": N_(
        "A deal feed takes only the words quiet (no sound) and losses (only losing closes), "
        "like /subscribe all deals quiet losses."
    ),
    "feed.twice": N_("Give each of quiet and losses at most once."),
    # /chart and /profit
    "period.chart": N_("The period must be one of {periods} (30d by default)."),
    "period.profit": N_("Group the profit by days, weeks or months (days by default)."),
}

# ---------------------------------------------------------------------- /bots and /deals

DOES_BOTS = N_("DCA and grid bots by profit, with today's and overall bot profit")
DOES_DEALS = N_("the active deals by unrealized profit, with their total")
LOADING_BOTS = N_("Loading the bots of {name}…")
LOADING_DEALS = N_("Loading the deals of {name}…")
TAP_TO_SEE_BOTS = N_("Tap one to see its bots, or send /{command} &lt;name or id&gt;.")
TAP_TO_SEE_DEALS = N_("Tap one to see its deals, or send /{command} &lt;name or id&gt;.")
BOTS_TITLE = N_("🤖 Bots · {account}")
# the bots' profit of today, in /bots and in the summary ({change}: arrow and amount)
BOTS_TODAY = N_("Bots today: {change}")
BOTS_OVERALL = N_("Overall: {change}")
BOTS_UNREALIZED = N_("Active deals: {change} unrealized")
BOTS_TOTAL = N_("<b>Total</b> ({accounts})")  # after every account's bots
BOT_GRID = N_("Grid")  # a grid bot, in its line of /bots
BOT_DCA = N_("DCA")  # a DCA bot, in its line of /bots
BOT_ACTIVE_DEALS = NP_("{count} active", "{count} active")  # a DCA bot's active deals
MORE_BOTS = NP_("+ {count} more bot", "+ {count} more bots")
NO_BOTS = N_("No bots in this account: it has no enabled DCA bots and no grid bots.")
BOTS_CUT = N_("3Commas lists more bots here than I read at once; those beyond are left out.")
DEALS_TITLE = N_("📈 Active deals · {account}")
NO_ACTIVE_DEALS = N_("No active deals right now.")
MORE_DEALS = NP_("+ {count} more deal", "+ {count} more deals")
DEALS_TOTAL = NP_(
    "Total unrealized ({count} deal): {change}", "Total unrealized ({count} deals): {change}"
)
DEALS_CUT = N_(
    "3Commas lists more active deals than I read at once; the list and total count those read."
)
# How long a deal runs, short (a column of /deals): 45m, 10h, 4d.
DEAL_AGE_MINUTES = N_("{count}m")
DEAL_AGE_HOURS = N_("{count}h")
DEAL_AGE_DAYS = N_("{count}d")
# A key without BOTS_READ, asked about bots or deals (one sentence: what, and how to fix it).
BOTS_READ_MISSING = N_(
    "Your 3Commas API key needs the “Bots read” permission for this: in 3Commas, open "
    "My profile → API keys and add Bots read to this key, or create a key with Accounts read "
    "and Bots read and send /connect."
)

# ---------------------------------------------------------------------- the Mini App

# Its button, and what its data answers say (in the language of the user who opened it).
DASHBOARD_BUTTON = N_("📊 Dashboard")
DASHBOARD_OPEN = N_("Your dashboard: every account at a glance. Tap the button to open it.")
DASHBOARD_NOT_CONNECTED = N_(
    "Connect your 3Commas account first: send /connect in a private chat with the bot."
)
DASHBOARD_NO_INIT_DATA = N_("Open the dashboard from the bot's button in Telegram.")
DASHBOARD_BAD_INIT_DATA = N_(
    "This dashboard link is not valid for this bot. Open it again from the bot's button."
)
DASHBOARD_EXPIRED = N_("This dashboard was opened too long ago. Close it and open it again.")
DASHBOARD_PRIVATE = BOT_IS_PRIVATE
DASHBOARD_NO_SUCH_ACCOUNT = N_("You have no such account. Pull to refresh the list.")
DASHBOARD_NOT_FOUND = N_("There is nothing here.")
DASHBOARD_BAD_PERIOD = N_("The period must be one of 7d, 30d, 90d or 1y.")
DASHBOARD_TOTAL = N_("Total of {accounts}")
DASHBOARD_NO_FIGURES = N_("No figures yet: refresh to load them from 3Commas.")
DASHBOARD_DEPOSIT = N_("Deposit {amount}")
DASHBOARD_WITHDRAWAL = N_("Withdrawal {amount}")
# When an account's figures were taken.
UPDATED_NEVER = N_("never")
UPDATED_JUST_NOW = N_("just now")
MINUTES_AGO = NP_("{count} min ago", "{count} min ago")
HOURS_AGO = NP_("{count} h ago", "{count} h ago")
DAYS_AGO = NP_("{count} day ago", "{count} days ago")
# The page's own words, sent with the portfolio (`labels`) for the page to show.
DASHBOARD_LABELS: dict[str, str] = {
    "title": N_("Dashboard"),
    "total": N_("Total"),
    "balance": N_("Balance"),
    "today": N_("Today"),
    "accounts": N_("Accounts"),
    "refresh": N_("Refresh"),
    "updated": N_("Updated"),
    "stale": N_("Not up to date"),
    "holdings": N_("Holdings"),
    "profit": N_("Profit"),
    "chart": N_("Chart"),
    "bots": N_("Bots"),
    "deals": N_("Active deals"),
    "overall": N_("Overall"),
    "unrealized": N_("Unrealized"),
    "day": N_("Days"),
    "week": N_("Weeks"),
    "month": N_("Months"),
    "coin": N_("Coin"),
    "amount": N_("Amount"),
    "value": N_("Value"),
    "share": N_("Share"),
    "back": N_("Back"),
    "no_accounts": N_("No accounts yet."),
    "loading": N_("Loading…"),
    "all_accounts": N_("All accounts"),
    "refreshing": N_("Refreshing…"),
    "period": N_("Period"),
    "profit_by": N_("Profit by"),
    "7d": N_("7d"),
    "30d": N_("30d"),
    "90d": N_("90d"),
    "1y": N_("1y"),
    "bot": N_("Bot"),
    "deals_short": N_("Deals"),
    "no_holdings": N_("No coins on this account."),
    "no_profit": N_("No profit figures yet."),
    "no_history": N_("No balance history for this period yet."),
    # the page's sentences when the bot gave none (unreachable, or an answer without one)
    "offline": N_("The bot could not be reached. Try again in a moment."),
    "failed": N_("Something went wrong on the bot's side. Try again in a moment."),
    "denied": N_(
        "This dashboard link is not valid any more. Open it again from the bot in Telegram."
    ),
}

# ---------------------------------------------------------------------- the deal feed

# How a deal closed, by its 3Commas status (`/subscribe … deals`).
DEAL_CLOSED_AS = {
    "completed": N_("✅ Take profit"),
    "stop_loss_finished": N_("🛑 Stop-loss"),
    "panic_sold": N_("🚨 Panic sell"),
    "liquidated": N_("💥 Liquidated"),
    "failed": N_("⚠️ Deal failed"),
    "cancelled": N_("✖️ Cancelled"),
    "closed": N_("☑️ Closed"),
}
DEAL_BOT = N_("Bot: {bot}")
DEAL_PROFIT = N_("Profit: {result}")
DEAL_LOSS = N_("Loss: {result}")
DEAL_RAN = N_("ran {duration}")
DEAL_LATE = N_("⏰ Late: closed {when}, while I was stopped.")
DEALS_DIGEST = NP_("<b>{count} deal closed</b> · {name}", "<b>{count} deals closed</b> · {name}")
DEALS_DIGEST_PART = N_("(part {part})")
DEALS_DIGEST_LATE = N_("⏰ Some closed while I was stopped.")
DEALS_DIGEST_TOTAL = N_("Total: {total}")
# After /subscribe … deals, by its options: (losses, quiet).
FEED_SUBSCRIBED = N_(
    "✅ Deal feed: <b>{name}</b>. From now on I post here each deal that closes. "
    "I check 3Commas every {period}. Send /subscriptions to see them all."
)
FEED_SUBSCRIBED_AS = {
    (False, False): FEED_SUBSCRIBED,
    (True, False): N_(
        "✅ Deal feed: <b>{name}</b>. From now on I post here each deal that closes with a "
        "loss. I check 3Commas every {period}. Send /subscriptions to see them all."
    ),
    (False, True): N_(
        "✅ Deal feed: <b>{name}</b>. From now on I post here each deal that closes, without "
        "sound. I check 3Commas every {period}. Send /subscriptions to see them all."
    ),
    (True, True): N_(
        "✅ Deal feed: <b>{name}</b>. From now on I post here each deal that closes with a "
        "loss, without sound. I check 3Commas every {period}. Send /subscriptions to see them "
        "all."
    ),
}
# A feed in /subscriptions: `deals as they close · losses only · quiet · watching`.
FEED_WHAT = N_("deals as they close")
FEED_LOSSES_OPTION = N_("losses only")
FEED_QUIET_OPTION = N_("quiet")
STATE_WATCHING = N_("watching")
# Told once to the feed's chat (and its owner) when 3Commas stops answering for its key.
FEED_PAUSED = N_(
    "⏸ The deal feed of <b>{name}</b> is paused: {reason} "
    "Then send /subscribe {account} deals here to start it again."
)
FEED_ENDED = N_("🗑 The deal feed of <b>{name}</b> ended: its owner disconnected their 3Commas key.")
FEED_KEY_REFUSED = N_("3Commas refused the API key of its owner (wrong, expired or deleted).")
FEED_NOT_CONNECTED = N_("Its owner has no 3Commas key connected any more.")


def updated_ago(t: Translator, moment: datetime | None, now: datetime) -> str:
    """`just now`, `2 min ago`, `3 h ago`, `5 days ago`, or `never`: when figures were taken."""
    if moment is None:
        return t(UPDATED_NEVER)
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return t(UPDATED_JUST_NOW)
    if seconds < 3600:
        return t.plural(MINUTES_AGO, int(seconds // 60))
    if seconds < 2 * 86400:
        return t.plural(HOURS_AGO, int(seconds // 3600))
    return t.plural(DAYS_AGO, int(seconds // 86400))


def human_duration(t: Translator, seconds: float) -> str:
    """`45 s`, `5 min`, `2 h 5 min`, `3 days`."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 90:
        return t(SECONDS_SHORT, count=seconds)
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return t(MINUTES_SHORT, count=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        if minutes:
            return t(HOURS_MINUTES_SHORT, hours=hours, minutes=minutes)
        return t(HOURS_SHORT, count=hours)
    return t.plural(DAYS, math.ceil(hours / 24))


def describe_interval(t: Translator, seconds: int) -> str:
    """`15 min`, `2 h`, `3 days`: a subscription's interval, in its largest whole unit; a
    stored value that is no whole number is shown as it is."""
    if isinstance(seconds, int) and seconds > 0:
        if seconds % 86400 == 0:
            return t.plural(DAYS, seconds // 86400)
        if seconds % 3600 == 0:
            return t(HOURS_SHORT, count=seconds // 3600)
        if seconds % 60 == 0:
            return t(MINUTES_SHORT, count=seconds // 60)
    return t(SECONDS_SHORT, count=seconds)


def unreadable_accounts(t: Translator, count: int) -> str:
    """After /connect: rows 3Commas listed that are no usable account (a figure out of range)."""
    return t.plural(UNREADABLE_ACCOUNTS, count)


def error_sentence(t: Translator, error: Exception) -> str:
    """One plain sentence for the user (escape it before putting it into HTML)."""
    match error:
        case KeyPairWaiting():
            return t(KEY_PAIR_WAITING)
        case NotConnected():
            return t(NOT_CONNECTED)
        case ConnectAgain():
            return t(CONNECT_AGAIN)
        case InvalidKeyFormat():
            return t(INVALID_KEY_FORMAT)
        case NoAccounts():
            return t(NO_ACCOUNTS)
        case ExchangeKeysInvalid():
            return t(EXCHANGE_KEYS_INVALID)
        case InvalidApiKey():
            return t(INVALID_API_KEY)
        case BotsPermissionMissing():
            return t(BOTS_READ_MISSING)
        case PermissionDenied(permission=str(permission)) if permission.strip():
            return t(LACKS_PERMISSION, permission=clean_name(permission, limit=40))
        case PermissionDenied():
            return t(LACKS_A_PERMISSION)
        case AccountNotFound():
            return t(NO_SUCH_ACCOUNT)
        case RateLimited(banned=True, retry_after=seconds):
            return t(BLOCKED_FOR_A_WHILE, duration=human_duration(t, seconds))
        case RateLimited(retry_after=seconds):
            return t(RATE_LIMITED, duration=human_duration(t, seconds))
        case UnexpectedResponse():
            return t(UNREADABLE_ANSWER)
        case Unavailable():
            return t(NOT_ANSWERING)
        case ThreeCommasError():
            return t(REFUSED)
        case ServiceError():
            return _service_sentence(t, error) or t(DID_NOT_WORK)
    return t(SOMETHING_WENT_WRONG)


def _service_sentence(t: Translator, error: ServiceError) -> str | None:
    """Sentences of the subscription and alert commands, whose errors say how to fix them."""
    match error:
        case AccountNotMatched(query=query, candidates=[]):
            return t(NO_ACCOUNT_MATCHES, query=echo(query))
        case AccountNotMatched(query=query, candidates=candidates):
            return t(SEVERAL_ACCOUNTS_MATCH, query=echo(query), names=_some(t, candidates))
        case BadTimezone(given=given):
            return t(NOT_A_TIME_ZONE, given=echo(given))
        case BadLanguage(given=given):
            return t(NOT_A_LANGUAGE, given=echo(given), codes=_language_codes())
        case RequestLimitReached(requests_per_minute=limit):
            return t(REQUEST_LIMIT_REACHED, limit=limit)
        case PerAccountOnly(command=command):
            return t(PER_ACCOUNT_ONLY, command=command)
        case NoSuchEntry():
            return t(NO_SUCH_ENTRY)
        case NotYours():
            return t(NOT_YOURS)
        case DuplicateEntry(entry=entry, number=number):
            duplicate = DUPLICATE_ALERT if entry == "alert" else DUPLICATE_SUBSCRIPTION
            return t(duplicate, number=number)
        case LimitReached(entries=entries, scope=scope, limit=limit):
            return t.plural(_LIMITS[scope == "chat", entries == "alerts"], limit)
        case AdminsOnly(setting="language"):
            return t(ADMINS_ONLY_LANGUAGE)
        case AdminsOnly():
            return t(ADMINS_ONLY_TIMEZONE)
        case BadOption(command=command, options=[option]):
            return t(ONE_OPTION, command=command, option=option)
        case BadOption(command=command, options=options):
            return t(SOME_OPTIONS, command=command, options=", ".join(options), option=options[0])
        case KeyPairTooSoon(seconds_left=seconds):
            return t(KEY_PAIR_TOO_SOON, duration=human_duration(t, seconds))
        case KeyChangedMeanwhile():
            return t(KEY_CHANGED_MEANWHILE)
        case NoHistory():
            return t(NO_HISTORY)
        case BadSchedule() | BadAlert() | BadPeriod():
            return reason_sentence(t, error.reason, error.fields)
    return None


def reason_sentence(t: Translator, reason: str, fields: dict[str, object]) -> str:
    """A parser's sentence, as plain text (its `&lt;` become `<`)."""
    shown = {
        name: describe_interval(t, value)
        if name == "interval" and isinstance(value, int)
        else value
        for name, value in fields.items()
    }
    return _unescaped(t(REASONS[reason], **shown))


def _unescaped(text: str) -> str:
    """The parsers' sentences are kept as HTML in the catalog, like every other sentence, but
    error sentences are plain text (escaped where they are shown)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# (in this chat, of alerts) -> the sentence of a full list
_LIMITS: dict[tuple[bool, bool], Plural] = {
    (True, False): CHAT_SUBSCRIPTIONS_FULL,
    (True, True): CHAT_ALERTS_FULL,
    (False, False): YOUR_SUBSCRIPTIONS_FULL,
    (False, True): YOUR_ALERTS_FULL,
}


def _language_codes() -> str:
    return ", ".join(LANGUAGES)


def _some(t: Translator, names: list[str], shown: int = 5) -> str:
    """`a, b, c` or, for many, `a, b, c, d, e and 7 more`."""
    listed = ", ".join(clean_name(name, limit=40) for name in names[:shown])
    return (
        listed if len(names) <= shown else t(SOME_AND_MORE, names=listed, count=len(names) - shown)
    )


def too_many_at_once(t: Translator, at_a_time: int) -> str:
    """Said once to a chat whose updates come faster than they can be answered."""
    return t(TOO_MANY_AT_ONCE, count=at_a_time)
