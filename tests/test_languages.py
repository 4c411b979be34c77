"""Five languages, end to end: a private chat answers in its user's Telegram language or the one
they chose with /language; a group in the language its administrators chose; scheduled posts
in the chat's language as it is when they are sent. Numbers, coin codes, account names and
command names stay as they are."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.services.languages import LANGUAGES
from bot.telegram.views import texts
from bot.telegram.views.html import html_to_plain
from bot.telegram.views.render import target_name
from bot.telegram.views.translator import Translator, translator
from standins.botapi import SentMessage
from standins.demo import DEMO_USER_ID, Sandbox
from standins.threecommas_standin import Fault
from tests.support.bot import Chat
from tests.support.clock import OnManualClock, bot_on_manual_clock

ACCOUNT = "My Binance US"  # the demo account whose balance is $31.21
GROUP = -100500
ADMIN_USER = 3003
NEW_USER = 4004


@pytest.fixture
async def on_clock(sandbox: Sandbox) -> AsyncIterator[OnManualClock]:
    """The bot on a manual clock, the demo user connected (in English, as it happens)."""
    async with bot_on_manual_clock(sandbox) as running:
        yield running


def plain(t: Translator, message: str, **fields: object) -> str:
    """A sentence as a user reads it in `t`'s language."""
    return html_to_plain(t(message, **fields))


async def help_of(chat: Chat) -> SentMessage:
    """/help answers without replying: the message that appeared for it."""
    answers = await chat.say("/help")
    assert len(answers) == 1, answers
    return answers[0]


def posts(sandbox: Sandbox, chat_id: int, contains: str) -> list[SentMessage]:
    return [m for m in sandbox.botapi.messages(chat_id) if contains in m.plain]


@pytest.mark.parametrize("code", list(LANGUAGES))
async def test_every_answer_is_in_the_users_telegram_language(
    on_clock: OnManualClock, code: str
) -> None:
    sandbox, t = on_clock.sandbox, translator(code)
    chat = Chat(sandbox.botapi, language=code)

    help_message = await help_of(chat)
    assert plain(t, texts.INTRO).splitlines()[0] in help_message.plain
    assert plain(t, texts.DOES_REFRESH) in help_message.plain
    assert "/refresh <account|all>" in help_message.plain  # command syntax stays as typed

    summary = await chat.reply(f"/refresh {ACCOUNT}")
    assert plain(t, texts.BALANCE, balance="$31.21") in summary.plain
    assert plain(t, texts.BUTTON_REFRESH) in [label for label, _ in summary.buttons]

    holdings = await chat.reply(f"/holdings {ACCOUNT}")
    assert holdings.plain.startswith(plain(t, texts.HOLDINGS_TITLE, account=ACCOUNT))
    assert plain(t, texts.HEADER_COIN) in holdings.plain

    profit = await chat.reply(f"/profit {ACCOUNT}")
    assert profit.plain.startswith(plain(t, texts.PROFIT_BY_DAY, account=ACCOUNT))

    error = await chat.reply("/timezone Mars/Olympus")
    assert plain(t, texts.NOT_A_TIME_ZONE, given="Mars/Olympus") in error.plain

    subscribed = await chat.reply(f"/subscribe {ACCOUNT} every 1s")
    assert plain(t, texts.SUBSCRIBED, account=ACCOUNT, schedule="").split(":")[0] in (
        subscribed.plain
    )
    posted_before = len(posts(sandbox, DEMO_USER_ID, "$31.21"))
    await on_clock.advance_until(
        lambda: len(posts(sandbox, DEMO_USER_ID, "$31.21")) > posted_before
    )
    scheduled = posts(sandbox, DEMO_USER_ID, "$31.21")[-1]
    assert plain(t, texts.BALANCE, balance="$31.21") in scheduled.plain

    newcomer = Chat(sandbox.botapi, user_id=NEW_USER, language=code)
    made = await newcomer.say("/connect new")
    said = "\n".join(message.plain for message in made)
    assert plain(t, texts.KEY_PAIR_MADE, file="3commas-public-key.pem") in said
    assert plain(t, texts.KEY_PAIR_STEPS).splitlines()[1] in said


async def test_a_russian_users_refresh_reads_russian_with_the_same_figures(
    on_clock: OnManualClock,
) -> None:
    chat = Chat(on_clock.sandbox.botapi, language="ru")
    answer = await chat.reply("/refresh all")
    assert "Баланс: $31.21" in answer.plain
    assert "Итого (3 счёта): $" in answer.plain
    assert "Balance" not in answer.plain and "Total" not in answer.plain
    assert "31.21" in answer.plain and "My Binance US" in answer.plain


@pytest.mark.parametrize(("telegram", "expected"), [("ja", "en"), ("pt-br", "pt"), ("ES", "es")])
async def test_the_telegram_language_is_matched_on_its_first_part_else_english(
    running: Sandbox, telegram: str, expected: str
) -> None:
    chat = Chat(running.botapi, language=telegram)
    answer = await help_of(chat)
    assert plain(translator(expected), texts.INTRO).splitlines()[0] in answer.plain


async def test_language_switches_at_once_and_the_choice_wins_over_telegrams(
    running: Sandbox,
) -> None:
    chat = Chat(running.botapi, language="ru")
    switched = await chat.reply("/language es")
    assert switched.plain == plain(translator("es"), texts.LANGUAGE_SET)
    answer = await help_of(chat)
    assert plain(translator("es"), texts.INTRO).splitlines()[0] in answer.plain
    refused = await chat.reply("/language klingon")
    codes = ", ".join(LANGUAGES)
    assert refused.plain == "❌ " + plain(
        translator("es"), texts.NOT_A_LANGUAGE, given="klingon", codes=codes
    )
    assert refused.plain.startswith("❌ No hablo «klingon»")


async def test_language_alone_offers_each_language_by_its_own_name(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    offer = await chat.reply("/language")
    assert offer.plain == plain(translator("en"), texts.LANGUAGE_NOW)
    assert [label for label, _ in offer.buttons] == list(LANGUAGES.values())
    assert "Русский" in [label for label, _ in offer.buttons]
    pressed = await chat.press(offer, "Türkçe")
    assert pressed[-1].plain == plain(translator("tr"), texts.LANGUAGE_SET)
    answer = await help_of(chat)
    assert plain(translator("tr"), texts.INTRO).splitlines()[0] in answer.plain


async def test_someone_elses_language_button_is_refused(running: Sandbox) -> None:
    chat = Chat(running.botapi)
    offer = await chat.reply("/language")
    query_id = running.botapi.press_button(offer, offer.button_data("Español"), user_id=NEW_USER)
    await running.botapi.wait_handled()
    assert running.botapi.answered_callbacks[query_id] == plain(
        translator("en"), texts.LANGUAGE_BUTTON_NOT_VALID
    )
    answer = await help_of(chat)
    assert plain(translator("en"), texts.INTRO).splitlines()[0] in answer.plain


async def test_in_a_group_only_an_admin_changes_the_language_and_posts_follow_it(
    on_clock: OnManualClock,
) -> None:
    sandbox = on_clock.sandbox
    sandbox.botapi.set_admins(GROUP, {ADMIN_USER})
    member = Chat(
        sandbox.botapi, chat_id=GROUP, chat_type="group", first_name="Alice", language="ru"
    )
    admin = Chat(sandbox.botapi, user_id=ADMIN_USER, chat_id=GROUP, chat_type="group")

    # a group is English until an admin chooses, whatever its members' Telegram language
    subscribed = await member.reply(f"/subscribe {ACCOUNT} every 1s")
    assert "Subscribed" in subscribed.plain
    await on_clock.advance_until(lambda: bool(posts(sandbox, GROUP, "Balance: $31.21")))

    refused = await member.reply("/language ru")
    assert refused.plain == "❌ " + plain(translator("en"), texts.ADMINS_ONLY_LANGUAGE)

    chosen = await admin.reply("/language ru")
    assert chosen.plain == "🌐 Теперь я отвечаю здесь по-русски."
    await on_clock.advance_until(lambda: bool(posts(sandbox, GROUP, "Баланс: $31.21")))
    latest = sandbox.botapi.messages(GROUP)[-1]
    assert "Баланс: $31.21" in latest.plain and "Balance" not in latest.plain

    answer = await member.reply(f"/refresh {ACCOUNT}")
    assert "Баланс: $31.21" in answer.plain


async def test_the_command_menus_are_set_once_per_language(running: Sandbox) -> None:
    menus = running.botapi.commands
    for code in LANGUAGES:
        suffix = "" if code == "en" else f"@{code}"
        private = {c["command"]: c["description"] for c in menus[f"all_private_chats{suffix}"]}
        groups = {c["command"]: c["description"] for c in menus[f"all_group_chats{suffix}"]}
        assert private["refresh"] == translator(code)(texts.DOES_REFRESH)
        assert groups["language"] == translator(code)(texts.DOES_LANGUAGE)
        assert "connect" in private and "connect" not in groups
    assert len(menus) == 2 * len(LANGUAGES)


async def test_an_all_accounts_subscription_is_named_in_russian_when_it_fails_and_is_removed(
    on_clock: OnManualClock,
) -> None:
    sandbox, t = on_clock.sandbox, translator("ru")
    chat = Chat(sandbox.botapi, language="ru")
    await chat.reply("/language ru")
    subscribed = await chat.reply("/subscribe all every 1s")
    assert "все счета" in subscribed.plain, subscribed.plain
    await on_clock.advance_until(lambda: bool(posts(sandbox, DEMO_USER_ID, "Итого")))

    sandbox.threecommas.inject(Fault.SERVER_ERROR, times=10_000)
    headline = plain(t, texts.SUMMARY_FAILED, account="все счета", reason="").rstrip()
    await on_clock.advance_until(lambda: bool(posts(sandbox, DEMO_USER_ID, headline)))
    assert not posts(sandbox, DEMO_USER_ID, "all accounts")
    sandbox.threecommas.clear_faults()

    removed = await chat.reply("/unsubscribe 1")
    assert removed.plain == plain(t, texts.SUBSCRIPTION_REMOVED, number=1, account="все счета")


def test_an_account_no_longer_stored_is_named_by_its_id_in_the_readers_language() -> None:
    assert target_name(translator("ru"), 12345678, None) == plain(
        translator("ru"), texts.ACCOUNT_BY_ID, id=12345678
    )
    assert target_name(translator("ru"), 12345678, None) != "account 12345678"
    assert target_name(translator("ru"), "all", None) == "все счета"
    assert target_name(translator("ru"), 12345678, "Kraken") == "Kraken"


async def test_an_account_no_longer_stored_is_named_by_its_id_in_russian(
    on_clock: OnManualClock,
) -> None:
    """3Commas still answers for an account the key no longer lists: its scheduled holdings and
    /subscriptions name it by its id in the chat's language."""
    sandbox, t = on_clock.sandbox, translator("ru")
    chat = Chat(sandbox.botapi, language="ru")
    await chat.reply("/language ru")
    await chat.reply(f"/subscribe {ACCOUNT} every 1s holdings")
    await on_clock.advance_until(lambda: bool(posts(sandbox, DEMO_USER_ID, f"{ACCOUNT} ·")))
    db = on_clock.application.bot_data.services.db
    known = await db.accounts.list(DEMO_USER_ID)
    await db.accounts.replace(DEMO_USER_ID, [a for a in known if a.account_id != 12345678])

    by_id = plain(t, texts.ACCOUNT_BY_ID, id=12345678)
    assert by_id == "счёт 12345678"
    before = len(sandbox.botapi.messages(DEMO_USER_ID))
    await on_clock.advance_until(
        lambda: any(by_id in m.plain for m in sandbox.botapi.messages(DEMO_USER_ID)[before:])
    )
    latest = sandbox.botapi.messages(DEMO_USER_ID)[-1]
    assert f"· {by_id}\n" in latest.plain and "BTC" in latest.plain, latest.plain
    listing = await chat.reply("/subscriptions")
    assert by_id in listing.plain and "account 12345678" not in listing.plain, listing.plain
