"""The Mini App in a real browser: Debian's headless Chromium driven by Selenium, against the
real bot (its HTTP server, the Bot API and 3Commas stand-ins), with every host but 127.0.0.1
unresolvable inside the browser.

One browser and one bot for the module; each test loads the page afresh. What is asserted is
what a person sees: the texts on the page, the chart's period, the one sentence shown instead of
figures. Waits are on the page's own state (WebDriverWait), never sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.telegram.views.texts import (
    CHANGE_NET_OF_DEPOSITS,
    DASHBOARD_BAD_INIT_DATA,
    DASHBOARD_EXPIRED,
    DASHBOARD_LABELS,
    DASHBOARD_NO_INIT_DATA,
    DASHBOARD_NOT_CONNECTED,
)
from bot.telegram.views.translator import translator
from standins.demo import DEMO_USER_ID
from tests.support.browser import Browser, chromium, left_loopback
from tests.support.dashboard import (
    ANN,
    BOB,
    BOB_ACCOUNT,
    BOB_KEY,
    CAROL,
    DARK,
    LIGHT,
    Dashboard,
    bob_account,
    dashboard_served,
)
from tests.support.miniapp import login_widget_secret, sign_fields, user_json

# One worker runs them all under `make test` (--dist loadgroup): one Chromium, one bot.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(180), pytest.mark.xdist_group("browser")]

# Written by the tests, git-ignored; `make screenshots` copies them into docs/ for the README.
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
ANN_ACCOUNTS = ["Binance Futures", "Kraken Main", "My Binance US"]
FUTURES = 23456789  # Ann's largest account


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with dashboard_served(tmp_path_factory.mktemp("dashboard")) as dashboard:
        yield dashboard


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


def open_dashboard(browser: Browser, url: str, **options: Any) -> None:
    browser.open(url, **options)
    browser.wait_attribute("#app", "aria-busy", "false")


def account_names(browser: Browser) -> list[str]:
    return browser.texts("#accounts .account-name")


def open_account(browser: Browser, name: str) -> None:
    browser.wait_text("#accounts", name)
    position = account_names(browser).index(name) + 1
    browser.click(f"#accounts li:nth-child({position}) button")
    browser.wait_attribute("#chart", "data-period")
    browser.wait_text("#account-title", name)


def test_the_dashboard_shows_each_account_and_the_total(
    browser: Browser, served: Dashboard
) -> None:
    open_dashboard(browser, served.url(ANN, LIGHT))
    browser.wait_text("#accounts", "My Binance US")
    assert account_names(browser) == ANN_ACCOUNTS
    rows = browser.texts("#accounts li")
    assert "Binance Futures USDT-M" in rows[0] and "$25,312.45" in rows[0]
    assert "+$312.77 (+1.25%)" in rows[0]
    assert "€1,204.10" in rows[1] and "Kraken Spot" in rows[1]
    assert "-$0.68 (-2.12%)" in rows[2]
    # the same total as /refresh all, and its today
    total = browser.text("#total-balance")
    assert total == "$26,645.29"
    assert browser.text("#total-today") == "+$312.09 (+1.19%)"
    assert browser.text("#total-note") == "Total of 3 accounts"
    refresh_all = served.run(served.chats[DEMO_USER_ID].reply("/refresh all"))
    assert total in refresh_all.plain, refresh_all.plain
    browser.wait_attribute("#app", "data-refreshed", "1")
    assert account_names(browser) == ANN_ACCOUNTS
    browser.screenshot(SCREENSHOTS / "miniapp-light.png")


def test_a_russian_user_sees_the_dashboards_words_in_russian_and_the_same_figures(
    browser: Browser, served: Dashboard
) -> None:
    russian = {**ANN, "language_code": "ru"}
    try:
        open_dashboard(browser, served.url(russian, LIGHT))
        browser.wait_text("#accounts", "My Binance US")
        browser.wait_attribute("#app", "data-refreshed", "1")
        assert browser.element("html").get_attribute("lang") == "ru"
        assert browser.text("#refresh") == "⟳ Обновить"
        assert browser.text("#portfolio .top .label") == "Итого"
        assert browser.text("#total-note") == "Итого: 3 счёта"
        # the money texts are the English ones
        assert browser.text("#total-balance") == "$26,645.29"
        assert browser.text("#total-today") == "+$312.09 (+1.19%)"
        rows = browser.texts("#accounts li")
        assert "$25,312.45" in rows[0] and "+$312.77 (+1.25%)" in rows[0]
        open_account(browser, "Binance Futures")
        ru = translator("ru")
        for selector, key in (
            ("#back", "all_accounts"),
            ("#chart-heading", "balance"),
            ("#holdings-heading", "holdings"),
            ("#profit-heading", "profit"),
            ('#periods [data-period="1y"]', "1y"),
            ('#profit-tabs [data-span="week"]', "week"),
            ("#holdings thead", "coin"),
        ):
            word, shown = ru(DASHBOARD_LABELS[key]), browser.text(selector)
            assert word != DASHBOARD_LABELS[key], key
            assert word.casefold() in shown.casefold(), (selector, shown)  # headings: capitals
        assert browser.text("#back") == "‹ Все счета"
        assert browser.text("#account-balance") == "$25,312.45"
        # the chart's change is worded as /chart's caption words it: deposits left out
        history = served.get_json(russian, f"/app/api/accounts/{FUTURES}/history?period=30d")
        english = served.get_json(ANN, f"/app/api/accounts/{FUTURES}/history?period=30d")
        assert history["change_text"] == english["change_text"]
        browser.wait_text("#chart-change", english["change_text"])
        assert browser.text("#chart-change") == ru(
            CHANGE_NET_OF_DEPOSITS, change=english["change_text"]
        )
        assert browser.text("#chart-change").startswith("Изменение без учёта пополнений: ")
        assert browser.text("#chart-summary") == f"{english['first_text']} → {english['last_text']}"
        browser.screenshot(SCREENSHOTS / "miniapp-ru.png")
    finally:  # the bot remembers the last language_code: Ann reads English again
        served.get_json({**ANN, "language_code": "en"}, "/app/api/portfolio")


def test_it_opens_with_the_last_known_figures_then_refreshes_in_place(
    browser: Browser, served: Dashboard
) -> None:
    threecommas = served.sandbox.threecommas
    gate = served.call(lambda: threecommas.hold(BOB_KEY))
    served.call(lambda: threecommas.set_accounts(BOB_KEY, [bob_account("1234.00")]))
    try:
        open_dashboard(browser, served.url(BOB, LIGHT))
        # at once, from what the bot last knew, while 3Commas has not answered yet
        browser.wait_text("#accounts", "$999.00")
        assert browser.element("#app").get_attribute("data-refreshing") == "true"
        served.call(gate.set)
        browser.wait_text("#accounts", "$1,234.00")
        browser.wait_attribute("#app", "data-refreshing", "false")
        assert account_names(browser) == ["Bob's Bybit"]
        # the button asks again
        served.call(lambda: threecommas.set_accounts(BOB_KEY, [bob_account("1500.00")]))
        browser.click("#refresh")
        browser.wait_text("#accounts", "$1,500.00")
        assert browser.text("#total-balance") == "$1,500.00"
        # and so does pulling the page down
        browser.wait_attribute("#app", "data-refreshing", "false")
        served.call(lambda: threecommas.set_accounts(BOB_KEY, [bob_account("1600.00")]))
        browser.pull_down(150)
        browser.wait_text("#accounts", "$1,600.00")
    finally:
        served.call(gate.set)
        served.call(lambda: threecommas.set_accounts(BOB_KEY, [bob_account("999.00")]))


def test_an_account_opened_shows_holdings_chart_and_profit(
    browser: Browser, served: Dashboard
) -> None:
    open_dashboard(browser, served.url(ANN, DARK))
    open_account(browser, "Binance Futures")
    assert browser.text("#account-balance") == "$25,312.45"
    assert browser.text("#account-today") == "+$312.77 (+1.25%)"
    holdings = browser.texts("#holdings tbody tr")
    assert holdings[0].split() == ["BTC", "0.1636", "$10,631", "42.0%"]
    assert browser.text("#holdings-total").startswith("$")
    assert browser.elements("#chart canvas"), "no chart drawn"
    profit = browser.text("#profit")
    assert "Today" in profit and "$" in profit
    browser.click('#profit-tabs [data-span="week"]')
    browser.wait_attribute("#profit", "data-span", "week")
    assert browser.text("#profit") != profit
    browser.click('#profit-tabs [data-span="month"]')
    browser.wait_attribute("#profit", "data-span", "month")
    browser.click('#profit-tabs [data-span="day"]')
    browser.wait_attribute("#profit", "data-span", "day")
    browser.click('#periods [data-period="90d"]')
    browser.wait_attribute("#chart", "data-period", "90d")
    assert int(browser.element("#chart").get_attribute("data-deposits")) >= 1
    browser.driver.execute_script("window.scrollTo(0, 0)")
    browser.touch("#chart .u-over", 0.6)  # the screenshot shows a value under the finger
    browser.wait_attribute("#chart-readout", "data-index")
    browser.screenshot(SCREENSHOTS / "miniapp-dark.png")
    # outside Telegram, the page's own link goes back
    browser.click("#back")
    browser.wait_text("#accounts", "My Binance US")


def test_an_account_shows_its_bots_and_active_deals(browser: Browser, served: Dashboard) -> None:
    detail = served.get_json(ANN, f"/app/api/accounts/{FUTURES}")
    bots = detail["bots"]
    assert bots and bots["rows"] and bots["deals"], bots
    open_dashboard(browser, served.url(ANN, LIGHT))
    open_account(browser, "Binance Futures")
    shown = browser.wait(lambda _: browser.visible_text("#bots") or None, "the bots")
    for label, text in (("Today", "today_text"), ("Overall", "overall_text")):
        assert f"{label}\t{bots[text]}" in shown or f"{label} {bots[text]}" in shown, shown
    for row in bots["rows"]:
        assert row["name"] in shown and row["profit_text"] in shown
    for deal in bots["deals"]:
        assert deal["pair"] in shown and deal["profit_text"] in shown


def test_the_period_buttons_change_the_chart(browser: Browser, served: Dashboard) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    open_dashboard(browser, served.url(ANN, LIGHT))
    open_account(browser, "Binance Futures")
    browser.wait_attribute("#chart", "data-period", "30d")
    points = {"30d": int(browser.element("#chart").get_attribute("data-points"))}
    for period in ("7d", "90d", "1y"):
        browser.click(f'#periods [data-period="{period}"]')
        browser.wait_attribute("#chart", "data-period", period)
        points[period] = int(browser.element("#chart").get_attribute("data-points"))
        button = browser.element(f'#periods [data-period="{period}"]')
        assert button.get_attribute("aria-pressed") == "true"
    assert points["7d"] < points["30d"] < points["90d"] < points["1y"], points
    # the value under the pointer: that day, and the bot's own text for its balance
    ActionChains(browser.driver).move_to_element(browser.element("#chart .u-over")).perform()
    under_mouse = browser.wait_attribute("#chart-readout", "data-index")
    readout = browser.text("#chart-readout")
    assert any(char.isdigit() for char in readout), readout
    # and under a finger, at the chart's right end: the latest day
    browser.touch("#chart .u-over", 1.0)
    browser.wait(
        lambda _: (
            browser.element("#chart-readout").get_attribute("data-index") not in (None, under_mouse)
        ),
        "the value under the finger",
    )
    assert int(browser.element("#chart-readout").get_attribute("data-index")) == points["1y"] - 1
    # the latest day's balance, as the bot wrote it
    year = served.get_json(ANN, f"/app/api/accounts/{FUTURES}/history?period=1y")
    assert len(year["point_texts"]) == len(year["points"]) == points["1y"]
    assert year["point_texts"][-1] == year["last_text"]
    assert year["last_text"] in browser.text("#chart-readout")


def wrong_hash(served: Dashboard) -> str:
    valid = served.init_data(ANN)
    last = valid[-1]
    return valid[:-1] + ("0" if last != "0" else "1")


def login_widget_key(served: Dashboard) -> str:
    fields = {"user": user_json(ANN), "auth_date": str(int(__import__("time").time()))}
    return sign_fields(fields, login_widget_secret(served.token))


REFUSED = {
    "a wrong hash": (wrong_hash, DASHBOARD_BAD_INIT_DATA),
    "an expired auth_date": (
        lambda served: served.init_data(ANN, age=86_400 + 120),
        DASHBOARD_EXPIRED,
    ),
    "another bot's token": (
        lambda served: served.init_data(ANN, token="999999:another-bots-token"),
        DASHBOARD_BAD_INIT_DATA,
    ),
    "the Login Widget's key": (login_widget_key, DASHBOARD_BAD_INIT_DATA),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_without_valid_init_data_the_page_shows_one_sentence_and_no_figures(
    browser: Browser, served: Dashboard, case: str
) -> None:
    make, sentence = REFUSED[case]
    open_dashboard(browser, served.url(init_data=make(served)))
    browser.wait_text("#status", sentence)
    assert browser.text("#status") == sentence
    assert not browser.element("#portfolio").is_displayed()
    assert "$" not in browser.text("body")


def test_opened_outside_telegram_the_page_says_where_to_open_it(
    browser: Browser, served: Dashboard
) -> None:
    open_dashboard(browser, f"{served.base}/app")
    browser.wait_text("#status", DASHBOARD_NO_INIT_DATA)
    assert "$" not in browser.text("body")


def test_a_user_not_connected_is_told_to_connect(browser: Browser, served: Dashboard) -> None:
    open_dashboard(browser, served.url(CAROL, LIGHT))
    browser.wait_text("#status", DASHBOARD_NOT_CONNECTED)
    assert not browser.element("#portfolio").is_displayed()


def test_user_b_never_sees_user_a_accounts(browser: Browser, served: Dashboard) -> None:
    open_dashboard(browser, served.url(BOB, LIGHT))
    browser.wait_text("#accounts", "Bob's Bybit")
    browser.wait_attribute("#app", "data-refreshed", "1")
    assert account_names(browser) == ["Bob's Bybit"]
    assert browser.text("#total-note") == "Total of 1 account"
    # A's account asked for with B's init data, from B's page: not there
    asked = browser.driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch('/app/api/accounts/' + arguments[1], {headers: {Authorization: 'tma ' + arguments[0]}})
          .then(r => r.json().then(body => done([r.status, body])), () => done([0, null]));""",
        served.init_data(BOB),
        FUTURES,
    )
    assert asked[0] == 404 and "25,312" not in json.dumps(asked[1]), asked
    # and A does not see B's
    open_dashboard(browser, served.url(ANN, LIGHT))
    browser.wait_text("#accounts", "My Binance US")
    assert "Bob" not in browser.text("#accounts")
    assert str(BOB_ACCOUNT) not in browser.driver.page_source


def test_no_request_leaves_loopback(browser: Browser, served: Dashboard) -> None:
    open_dashboard(browser, served.url(ANN, DARK))
    browser.wait_attribute("#app", "data-refreshed", "1")
    open_account(browser, "Kraken Main")
    browser.click('#periods [data-period="1y"]')
    browser.wait_attribute("#chart", "data-period", "1y")
    asked = browser.requests()
    assert any("/app/static/vendor/uplot/" in url for url in asked), asked
    assert any("/app/api/accounts/" in url for url in asked), asked
    assert left_loopback(asked) == []
    assert browser.console_errors() == []  # a CSP violation would be one


def test_inside_telegram_its_back_button_closes_an_account(
    browser: Browser, served: Dashboard
) -> None:
    """Telegram's BackButton through the client's event bridge (as its mobile apps provide it),
    with no telegram-web-app.js: shown for an open account, instead of the page's own link."""
    bridge = """window.__posted = [];
    window.TelegramWebviewProxy = {postEvent: (type, data) => window.__posted.push([type, data])};"""
    open_dashboard(browser, served.url(ANN, LIGHT, platform="android"), before_scripts=bridge)
    open_account(browser, "Kraken Main")
    posted = browser.driver.execute_script("return window.__posted")
    assert ["web_app_ready", "{}"] in posted
    assert ["web_app_setup_back_button", '{"is_visible":true}'] in posted
    assert not browser.element("#back").is_displayed()
    browser.driver.execute_script("window.Telegram.WebView.receiveEvent('back_button_pressed')")
    browser.wait_text("#accounts", "My Binance US")
    posted = browser.driver.execute_script("return window.__posted")
    assert posted[-1] == ["web_app_setup_back_button", '{"is_visible":false}']


def test_window_telegram_webapp_is_used_when_present(browser: Browser, served: Dashboard) -> None:
    """With Telegram's script on the page (here a stand-in for it), its initData, themeParams
    and BackButton are used; the URL has no fragment."""
    fake = (
        f"window.__initData = {json.dumps(served.init_data(ANN))};\n"
        f"window.__theme = {json.dumps(DARK)};\n"
        """window.__back = {shown: false, handler: null};
    window.Telegram = {WebApp: {
      initData: window.__initData, themeParams: window.__theme,
      ready() {}, expand() {}, onEvent() {},
      BackButton: {show() { window.__back.shown = true; }, hide() { window.__back.shown = false; },
                   onClick(f) { window.__back.handler = f; }}}};"""
    )
    open_dashboard(browser, f"{served.base}/app", before_scripts=fake)
    browser.wait_text("#accounts", "My Binance US")
    background = browser.driver.execute_script(
        "return getComputedStyle(document.body).backgroundColor"
    )
    assert background == "rgb(24, 24, 24)"  # DARK's secondary_bg_color
    open_account(browser, "Kraken Main")
    assert browser.driver.execute_script("return window.__back.shown") is True
    browser.driver.execute_script("window.__back.handler()")
    browser.wait_text("#accounts", "My Binance US")
    assert browser.driver.execute_script("return window.__back.shown") is False


def test_readable_at_360_px_wide(browser: Browser, served: Dashboard) -> None:
    """Nothing wider than a 360 px phone: no sideways scrolling, in the list or an account."""
    browser.phone(width=360)
    try:
        open_dashboard(browser, served.url(ANN, LIGHT))
        browser.wait_text("#accounts", "My Binance US")
        overflow = "return document.documentElement.scrollWidth - window.innerWidth"
        assert browser.driver.execute_script(overflow) <= 0
        open_account(browser, "Kraken Main")
        assert browser.driver.execute_script(overflow) <= 0
        assert browser.elements("#chart canvas"), browser.text("#account")
        chart = browser.driver.execute_script(
            "return document.querySelector('#chart canvas').getBoundingClientRect().right"
        )
        assert chart <= 360
    finally:
        browser.phone()
