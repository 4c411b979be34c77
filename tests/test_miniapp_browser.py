"""The Mini App in a real browser: headless Chromium (Debian's) driven by Selenium, against the
bot's own HTTP server, with every host but 127.0.0.1 unresolvable.

One browser for the module; each test loads the page afresh. What is asserted is what a person
sees: texts on the page, the chart's period, the sentence shown instead of figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.browser import Browser, chromium, left_loopback
from tests.support.miniapp_canned import canned_server

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parent.parent / "docs"
LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
}
DARK = {
    "bg_color": "#212121",
    "text_color": "#ffffff",
    "hint_color": "#aaaaaa",
    "link_color": "#8774e1",
    "button_color": "#8774e1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#181818",
}


class Served:
    """The bot's server as the page sees it: where it is and how to open it for a user."""

    def __init__(self, base: str) -> None:
        self.base = base

    def url(self, init_data: str, theme: dict[str, str] | None = None) -> str:
        fragment = f"tgWebAppData={quote(init_data, safe='')}"
        if theme is not None:
            fragment += f"&tgWebAppThemeParams={quote(json.dumps(theme), safe='')}"
        return f"{self.base}/app#{fragment}&tgWebAppVersion=8.0&tgWebAppPlatform=unknown"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with canned_server({"ann-data": "ann", "bob-data": "bob"}) as base:
        yield Served(base)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


def open_dashboard(browser: Browser, url: str) -> None:
    browser.open(url)
    browser.wait_attribute("#app", "aria-busy", "false")


def account_names(browser: Browser) -> list[str]:
    return [row.text for row in browser.elements("#accounts .account-name")]


def test_the_dashboard_shows_each_account_and_the_total(browser: Browser, served: Served) -> None:
    open_dashboard(browser, served.url("ann-data", LIGHT))
    browser.wait_text("#accounts", "Kraken spot")
    assert account_names(browser) == ["Binance main", "Kraken spot"]
    assert browser.text("#total-balance") == "$13,647.30"
    assert browser.text("#total-today") == "+$111.50"
    assert browser.text("#total-note") == "Total of 2 accounts"
    first = browser.text("#accounts li:first-child")
    assert "Binance" in first and "$12,345.67" in first and "$120.00" in first
    # then the refresh answered, in place
    browser.wait_attribute("#app", "data-refreshed", "1")
    assert account_names(browser) == ["Binance main", "Kraken spot"]
    browser.screenshot(DOCS / "miniapp-light.png")


def test_an_account_opened_shows_holdings_chart_and_profit(
    browser: Browser, served: Served
) -> None:
    open_dashboard(browser, served.url("ann-data", DARK))
    browser.wait_text("#accounts", "Binance main")
    browser.click("#accounts li:first-child button")
    browser.wait_attribute("#chart", "data-period", "30d")
    assert browser.text("#account-title") == "Binance main"
    assert browser.text("#account-balance") == "$12,345.67"
    holdings = browser.text("#holdings")
    assert "BTC" in holdings and "$8,000.00" in holdings and "64.8%" in holdings
    assert browser.text("#holdings-total") == "$12,345.67"
    assert browser.elements("#chart canvas"), "no chart drawn"
    assert browser.element("#chart").get_attribute("data-deposits") == "1"
    assert "Today" in browser.text("#profit") and "+$120.00" in browser.text("#profit")
    browser.click('#profit-tabs [data-span="month"]')
    browser.wait_text("#profit", "December")
    browser.click('#profit-tabs [data-span="day"]')
    browser.wait_text("#profit", "Today")
    browser.screenshot(DOCS / "miniapp-dark.png")
    # the in-page back link outside Telegram
    browser.click("#back")
    browser.wait_text("#accounts", "Kraken spot")


def test_the_period_buttons_change_the_chart(browser: Browser, served: Served) -> None:
    open_dashboard(browser, served.url("ann-data", LIGHT))
    browser.wait_text("#accounts", "Binance main")
    browser.click("#accounts li:first-child button")
    browser.wait_attribute("#chart", "data-period", "30d")
    points = {"30d": browser.element("#chart").get_attribute("data-points")}
    for period in ("7d", "90d", "1y"):
        browser.click(f'#periods [data-period="{period}"]')
        browser.wait_attribute("#chart", "data-period", period)
        points[period] = browser.element("#chart").get_attribute("data-points")
        pressed = browser.element(f'#periods [data-period="{period}"]')
        assert pressed.get_attribute("aria-pressed") == "true"
    assert len(set(points.values())) == 4, points
    # a value under the pointer: the bot's own text for that point
    chart = browser.element("#chart .u-over")
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser.driver).move_to_element(chart).perform()
    readout = browser.wait(
        lambda _: browser.text("#chart-readout").strip() or None, "a value under the pointer"
    )
    assert "$" in readout


@pytest.mark.parametrize("init_data", ["wrong-hash", ""], ids=["unknown", "empty"])
def test_without_valid_init_data_the_page_shows_one_sentence_and_no_figures(
    browser: Browser, served: Served, init_data: str
) -> None:
    open_dashboard(browser, served.url(init_data, LIGHT))
    sentence = browser.wait(lambda _: browser.visible_text("#status") or None, "a sentence")
    assert sentence.endswith("."), sentence
    assert "$" not in browser.text("body")
    assert not browser.element("#portfolio").is_displayed()


def test_user_b_never_sees_user_a_accounts(browser: Browser, served: Served) -> None:
    open_dashboard(browser, served.url("bob-data", LIGHT))
    browser.wait_text("#accounts", "Bob's Bybit")
    assert account_names(browser) == ["Bob's Bybit"]
    # asking for A's account with B's init data, from B's page
    status = browser.driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch('/app/api/accounts/123', {headers: {Authorization: 'tma ' + arguments[0]}})
          .then(r => done(r.status), () => done(0));""",
        "bob-data",
    )
    assert status == 404


def test_no_request_leaves_loopback(browser: Browser, served: Served) -> None:
    open_dashboard(browser, served.url("ann-data", DARK))
    browser.wait_text("#accounts", "Binance main")
    browser.click("#accounts li:first-child button")
    browser.wait_attribute("#chart", "data-period", "30d")
    browser.click('#periods [data-period="1y"]')
    browser.wait_attribute("#chart", "data-period", "1y")
    asked = browser.requests()
    assert any("/app/static/vendor/uplot/" in url for url in asked), asked
    assert any("/app/api/accounts/" in url for url in asked), asked
    assert left_loopback(asked) == []
    assert browser.console_errors() == []


def test_the_telegram_back_button_closes_an_account(browser: Browser, served: Served) -> None:
    """Inside Telegram (here: its client's event bridge, as the mobile apps provide it) the
    page shows Telegram's BackButton for an open account instead of its own link."""
    bridge = """window.__posted = [];
    window.TelegramWebviewProxy = {postEvent: (type, data) => window.__posted.push([type, data])};"""
    browser.open(served.url("ann-data", LIGHT).replace("unknown", "android"), before_scripts=bridge)
    browser.wait_text("#accounts", "Binance main")
    browser.click("#accounts li:first-child button")
    browser.wait_attribute("#chart", "data-period", "30d")
    posted = browser.driver.execute_script("return window.__posted")
    assert ["web_app_setup_back_button", '{"is_visible":true}'] in posted
    assert not browser.element("#back").is_displayed()
    browser.driver.execute_script("window.Telegram.WebView.receiveEvent('back_button_pressed')")
    browser.wait_text("#accounts", "Kraken spot")
    posted = browser.driver.execute_script("return window.__posted")
    assert posted[-1] == ["web_app_setup_back_button", '{"is_visible":false}']


def test_window_telegram_webapp_is_used_when_present(browser: Browser, served: Served) -> None:
    """When Telegram's script is on the page, its initData, themeParams and BackButton are used."""
    fake = (
        "window.__theme = "
        + json.dumps(DARK)
        + ";\n"
        + """window.__back = {shown: false, handler: null};
    window.Telegram = {WebApp: {
      initData: 'ann-data', themeParams: window.__theme,
      ready() {}, expand() {}, onEvent() {},
      BackButton: {show() { window.__back.shown = true; }, hide() { window.__back.shown = false; },
                   onClick(f) { window.__back.handler = f; }}}};"""
    )
    browser.open(f"{served.base}/app", before_scripts=fake)
    browser.wait_text("#accounts", "Binance main")
    background = browser.driver.execute_script(
        "return getComputedStyle(document.body).backgroundColor"
    )
    assert background == "rgb(24, 24, 24)"  # DARK's secondary_bg_color
    browser.click("#accounts li:first-child button")
    browser.wait_attribute("#chart", "data-period", "30d")
    assert browser.driver.execute_script("return window.__back.shown") is True
    browser.driver.execute_script("window.__back.handler()")
    browser.wait_text("#accounts", "Kraken spot")
    assert browser.driver.execute_script("return window.__back.shown") is False
