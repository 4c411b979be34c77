from __future__ import annotations

import io
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.logs import configure_logging
from standins.demo import Sandbox, running_standins
from tests.support import browser
from tests.support.bot import Chat, bot_running

HEAVY_MARKERS = ("slow", "realtime")
BROWSER_TESTS = sorted(Path(__file__).parent.glob("test_*browser*.py"))


def browser_tests_left_out() -> bool:
    """Without Chromium the browser tests are left out, except in CI, where they must run."""
    return browser.missing() is not None and os.environ.get("CI", "") != "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, the heavy tests (marked `slow` or `realtime`) start first, one per worker,
    beside the browser tests, which all run on one worker (one Chromium and one bot for them).

    `make test` runs `--dist loadgroup`: the browser module is one unit of work (its
    `xdist_group`), handed out first because it is the largest; every other test is a unit of
    its own, handed out in this order: one to each worker, then a second to each worker but the
    browser's, then one more whenever a worker has one left. So the heavy tests come first,
    one per free worker, then as many light ones, so that no heavy test waits behind another.
    Same order in every worker (xdist requires it); without xdist, nothing moves.

    Without Chromium (outside CI), the browser tests are deselected; pytest_terminal_summary
    says so in one line.
    """
    if browser_tests_left_out():
        left_out = [item for item in items if item.get_closest_marker("browser")]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [item for item in items if item not in left_out]
    if not hasattr(config, "workerinput"):
        return
    in_browser = [item for item in items if item.get_closest_marker("browser")]
    heavy = [item for item in items if any(item.get_closest_marker(m) for m in HEAVY_MARKERS)]
    heavy.sort(key=lambda item: -time_limit(item))  # the longest time limit first
    light = [item for item in items if item not in heavy and item not in in_browser]
    workers = int(config.workerinput.get("workercount", 1))
    free = max(1, workers - (1 if in_browser else 0))  # the workers not running the browser
    items[:] = heavy[:free] + light[:free] + heavy[free:] + light[free:] + in_browser


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup`, with the browser modules one unit of work (one worker, one Chromium).

    pytest-xdist 3.8 groups `xdist_group` tests by adding "@group" to their node ids, which
    pytest 9.2 no longer lets it do (pytest-xdist issue #1386): the mark alone is ignored. So
    the controller groups them here by their module's path, as the mark says.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    browser_modules = {str(path.relative_to(config.rootpath)) + "::" for path in BROWSER_TESTS}

    class BrowserGrouped(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if any(nodeid.startswith(module) for module in browser_modules):
                return "browser"
            return super()._split_scope(nodeid)

    return BrowserGrouped(config, log)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reason = browser.missing()
    if reason is not None and browser_tests_left_out():
        names = ", ".join(
            str(path.relative_to(terminalreporter.config.rootpath)) for path in BROWSER_TESTS
        )
        terminalreporter.write_line(
            f"browser tests not run ({names}): {reason}; to run them: {browser.INSTALL_HINT}"
        )


def time_limit(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    return float(marker.args[0]) if marker and marker.args else 0.0


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """Both stand-ins, the demo key with its accounts, settings pointing at them."""
    # No per-chat pacing: tests talk faster than one message a second (test_flood_* test it).
    base = Settings(
        _env_file=None,
        refresh_cooldown_seconds=0,
        key_pair_cooldown_seconds=0,
        telegram_chat_burst=1_000_000,
    )
    async with running_standins(tmp_path, base) as running:
        yield running


@pytest.fixture
async def running(sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    """The real application polling the Bot API stand-in."""
    async with bot_running(sandbox):
        yield sandbox


@pytest.fixture
def chat(running: Sandbox) -> Chat:
    """The demo user's private chat with the running bot."""
    return Chat(running.botapi)


def _captured_log(level: int) -> Iterator[io.StringIO]:
    """The logging of `python -m bot` at `level`; yields what its handler writes."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {name: logging.getLogger(name).level for name in ("httpx", "apscheduler")}
    configure_logging(level)
    written = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(written)
    yield written
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level_before in levels.items():
        logging.getLogger(name).setLevel(level_before)


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The logging of `python -m bot` at LOG_LEVEL=DEBUG; yields what its handler writes."""
    yield from _captured_log(logging.DEBUG)


@pytest.fixture
def info_log() -> Iterator[io.StringIO]:
    """The logging of `python -m bot` at its default level, INFO."""
    yield from _captured_log(logging.INFO)
