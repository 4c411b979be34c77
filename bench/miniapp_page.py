"""(12) the dashboard page's transfer size, (13) time until its accounts are shown.

The bot runs as its own process with PORT set (its HTTP server serves the Mini App), against the
stand-ins in this process; the demo user connects and refreshes once through the Bot API
stand-in, as in Telegram. Debian's headless Chromium (Selenium, the driver given by path) opens
the page on loopback with init data signed for that user. Chromium's own numbers are used: the
bytes each response took on the wire (the performance log) and `performance.now()` (from the
start of navigation) when the account list first had rows.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.common import Row, bot_process, first_poll, median
from standins.demo import DEMO_API_KEY, DEMO_SECRET, DEMO_USER_ID, running_standins
from standins.miniapp import init_data as signed_init_data
from tests.support import browser as chromium_browser

SIZE_TARGET_KB = 150.0
SHOWN_TARGET_SECONDS = 1.0
# Before the page's own scripts: note when #accounts first has a row.
SHOWN_PROBE = """
window.__accountsShownAt = null;
new MutationObserver(function (changes, observer) {
  var list = document.getElementById("accounts");
  if (list && list.children.length) {
    window.__accountsShownAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wire_bytes(log: list[dict[str, Any]]) -> dict[str, int]:
    """Bytes on the wire (headers and body) of each finished response, by URL."""
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for entry in log:
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message.get("method") == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif message.get("method") == "Network.loadingFinished":
            url = urls.get(params["requestId"], "?")
            sizes[url] = sizes.get(url, 0) + int(params["encodedDataLength"])
    return sizes


def _in_browser(url: str, loads: int) -> tuple[dict[str, int], list[float]]:
    """The first load's bytes by URL, and each load's seconds until the accounts were shown."""
    shown: list[float] = []
    sizes: dict[str, int] = {}
    with chromium_browser.chromium() as browser:
        driver = browser.driver
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SHOWN_PROBE})
        for load in range(loads):
            driver.get("about:blank")
            driver.get_log("performance")
            driver.get(url)
            at = browser.wait(
                lambda d: d.execute_script("return window.__accountsShownAt"), "the accounts"
            )
            shown.append(float(at) / 1000)
            # the refresh the page asks for next: finished before the next load
            browser.wait_attribute("#app", "data-refreshed", "1")
            if load == 0:
                sizes = _wire_bytes(driver.get_log("performance"))
    return sizes, shown


async def measure(data: Path, loads: int) -> list[Row]:
    missing = chromium_browser.missing()
    if missing is not None:
        why = f"not measured: {missing} ({chromium_browser.INSTALL_HINT})"
        return [
            Row(
                13,
                "Dashboard page size in headless Chromium",
                why,
                f"<= {SIZE_TARGET_KB:.0f} KB",
                None,
            ),
            Row(14, "Dashboard: until the accounts are shown", why, "<= 1 s", None),
        ]
    async with running_standins(data) as sandbox:
        port = _free_port()
        async with bot_process(sandbox.settings, data / "bot", PORT=str(port)):
            await first_poll(sandbox.botapi)
            sandbox.botapi.send_text(f"/connect {DEMO_API_KEY} {DEMO_SECRET}")
            await sandbox.botapi.wait_for_text(DEMO_USER_ID, "Connected", timeout=30)
            sandbox.botapi.send_text("/refresh all")
            await sandbox.botapi.wait_for_text(DEMO_USER_ID, "Total", timeout=30)
            assert sandbox.settings.telegram_bot_token is not None
            init_data = signed_init_data(
                sandbox.settings.telegram_bot_token.get_secret_value(),
                {"id": DEMO_USER_ID, "first_name": "Demo"},
                int(time.time()),
            )
            url = f"http://127.0.0.1:{port}/app#tgWebAppData={quote(init_data, safe='')}"
            sizes, shown = await asyncio.to_thread(_in_browser, url, loads)
    page = {u: n for u, n in sizes.items() if "/app/api/" not in u}
    api = {u: n for u, n in sizes.items() if "/app/api/" in u}
    page_kb = sum(page.values()) / 1024
    api_kb = sum(api.values()) / 1024
    total_kb = page_kb + api_kb
    largest = max(page, key=lambda u: page[u]) if page else "?"
    size_row = Row(
        13,
        "Dashboard page, first load in headless Chromium (empty cache): bytes on the wire, "
        "headers included, of the page, its script, styles, icon and the vendored chart library, "
        "and of the data it asks for (portfolio, then refresh)",
        f"{total_kb:.1f} KB in {len(sizes)} responses: page files {page_kb:.1f} KB "
        f"({len(page)}; largest {largest.rsplit('/', 1)[-1]} {page[largest] / 1024:.1f} KB), "
        f"data {api_kb:.1f} KB ({len(api)})",
        f"<= {SIZE_TARGET_KB:.0f} KB",
        total_kb <= SIZE_TARGET_KB,
    )
    warm = shown[1:]
    shown_row = Row(
        14,
        f"Dashboard: from navigation start until the accounts are shown (the last known "
        f"figures, 3 accounts), headless Chromium on loopback, {loads} loads",
        f"first (empty cache) {shown[0]:.3f} s; then median {median(warm):.3f} s, max "
        f"{max(warm, default=float('nan')):.3f} s",
        f"<= {SHOWN_TARGET_SECONDS:.0f} s each",
        max(shown) <= SHOWN_TARGET_SECONDS,
    )
    return [size_row, shown_row]
