"""Headless Chromium from Debian's packages, driven by Selenium, for the Mini App's browser tests.

No browser or driver is downloaded: the chromedriver path is given to Selenium's Service, so
Selenium Manager never runs. Every host but 127.0.0.1 is unresolvable inside this browser, and
each request it makes is in the performance log, so a test can show no request left loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
INSTALL_HINT = "apt-get install -y chromium chromium-driver"
PHONE = (390, 844)  # the screenshots' size in CSS pixels
WAIT_SECONDS = 15.0


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    absent = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if absent:
        return f"no {' or '.join(absent)}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "no selenium (pip install -e '.[dev]')"
    return None


def options(profile: Path) -> Any:
    from selenium.webdriver.chrome.options import Options

    chosen = Options()
    chosen.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={PHONE[0]},{PHONE[1]}",
        # every host but loopback unresolvable: no CDN can hide in the page
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        chosen.add_argument(flag)
    chosen.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return chosen


@contextmanager
def chromium() -> Iterator[Browser]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    reason = missing()
    if reason is not None:
        raise RuntimeError(f"cannot start the browser: {reason}; to install it: {INSTALL_HINT}")
    profile = Path(tempfile.mkdtemp(prefix="miniapp-chromium-"))
    try:
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options(profile)
        )
        try:
            browser = Browser(driver)
            browser.phone()
            yield browser
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class Browser:
    """One Chromium; a test opens a URL in it and waits for what a person would see."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def phone(self, width: int = PHONE[0], height: int = PHONE[1]) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
        )

    def open(self, url: str, *, before_scripts: str | None = None) -> None:
        """A fresh load of `url` (a new document even when only the fragment differs)."""
        self.driver.get("about:blank")
        self.requests()  # forget what came before
        self.console_errors()
        if before_scripts is not None:
            added = self.driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument", {"source": before_scripts}
            )
            try:
                self.driver.get(url)
            finally:
                self.driver.execute_cdp_cmd(
                    "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
                )
        else:
            self.driver.get(url)

    def wait(self, condition: Callable[[Any], Any], what: str) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT_SECONDS).until(condition, f"waited for {what}")

    def element(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def elements(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def texts(self, css: str) -> list[str]:
        """The rendered text of every element matching `css`, read at one moment (the page
        replaces its rows when fresh figures come, so no element is held across calls)."""
        found = self.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText.trim())",
            css,
        )
        return [str(text) for text in found]

    def text(self, css: str) -> str:
        found = self.texts(css)
        assert found, f"nothing on the page matches {css}"
        return found[0]

    def visible_text(self, css: str) -> str:
        """The text of the first `css` when it is shown, else ""."""
        return str(
            self.driver.execute_script(
                """const e = document.querySelector(arguments[0]);
                return e && e.getClientRects().length ? e.innerText.trim() : "";""",
                css,
            )
        )

    def wait_attribute(self, css: str, name: str, wanted: str | None = None) -> str:
        """Wait until `css` has attribute `name` (equal to `wanted` when given); its value."""

        def there(_: Any) -> str | None:
            found = self.elements(css)
            value = found[0].get_attribute(name) if found else None
            if value is None or (wanted is not None and value != wanted):
                return None
            return str(value)

        return str(self.wait(there, f"{css}[{name}={wanted or '*'}]"))

    def wait_text(self, css: str, fragment: str) -> str:
        def there(_: Any) -> str | None:
            text = self.visible_text(css)
            return text if fragment in text else None

        return str(self.wait(there, f"{fragment!r} in {css}"))

    def click(self, css: str) -> None:
        """Click `css`; again if the page replaced it meanwhile (fresh figures came)."""
        from selenium.common.exceptions import StaleElementReferenceException

        def clicked(_: Any) -> bool:
            try:
                self.element(css).click()
            except StaleElementReferenceException:
                return False
            return True

        self.wait(clicked, f"a click on {css}")

    def touch(self, css: str, across: float) -> None:
        """A finger put on `css` at `across` (0 to 1) of its width, halfway down, and lifted."""
        box = self.driver.execute_script(
            """const r = document.querySelector(arguments[0]).getBoundingClientRect();
            return [r.left, r.top, r.width, r.height];""",
            css,
        )
        point = {"x": box[0] + box[2] * across, "y": box[1] + box[3] / 2}
        for kind, points in (("touchStart", [point]), ("touchMove", [point]), ("touchEnd", [])):
            self.driver.execute_cdp_cmd(
                "Input.dispatchTouchEvent", {"type": kind, "touchPoints": points}
            )

    def pull_down(self, pixels: int) -> None:
        """A finger drags the page down by `pixels` from near its top, and lets go."""
        x, y = PHONE[0] // 2, 120
        steps = [("touchStart", y), ("touchMove", y + pixels // 2), ("touchMove", y + pixels)]
        for kind, at in steps:
            self.driver.execute_cdp_cmd(
                "Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": at}]}
            )
        self.driver.execute_cdp_cmd(
            "Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []}
        )

    def requests(self) -> list[str]:
        """The URLs the browser asked for since the last call (the performance log)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def console_errors(self) -> list[str]:
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry.get("level") == "SEVERE"
        ]

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.execute_script("window.scrollTo(0, 0)")
        self.driver.save_screenshot(str(path))


def left_loopback(urls: list[str]) -> list[str]:
    """The URLs among `urls` that went to another host than 127.0.0.1 (or were not http)."""
    return [
        url
        for url in urls
        if not url.startswith("about:") and urlsplit(url).hostname not in ("127.0.0.1",)
    ]
