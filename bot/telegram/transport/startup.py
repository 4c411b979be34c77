"""Start-up against Telegram: each failure becomes one line and an exit status of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator

from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.telegram.context import BotApplication

logger = logging.getLogger(__name__)

# Exit statuses of `python -m bot run` (2, a setting, is in bot/__main__.py); README lists them.
EXIT_TOKEN_REFUSED = 3
EXIT_TELEGRAM_UNREACHABLE = 4
EXIT_TELEGRAM_REFUSED = 5
EXIT_PORT_UNAVAILABLE = 6

# python-telegram-bot's message for an answer that is not JSON.
NOT_THE_BOT_API = "Invalid server response"
FIRST_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0


class StartupFailure(Exception):
    """Start-up cannot go on; the message is one line for the operator, without secrets."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def token_refused() -> StartupFailure:
    return StartupFailure(
        "Telegram refused TELEGRAM_BOT_TOKEN (Unauthorized): copy the token from @BotFather again",
        EXIT_TOKEN_REFUSED,
    )


def unreachable(api_url: str, reason: str) -> StartupFailure:
    return StartupFailure(
        f"cannot reach Telegram at {api_url}: {reason}", EXIT_TELEGRAM_UNREACHABLE
    )


def refused(what: str, error: TelegramError) -> StartupFailure:
    return StartupFailure(f"Telegram refused {what}: {error.message}", EXIT_TELEGRAM_REFUSED)


async def connect(application: BotApplication, api_url: str, retry_seconds: float) -> None:
    """Initialize the application (its getMe), retrying with backoff while Telegram cannot be
    reached, for up to `retry_seconds`."""
    deadline = time.monotonic() + retry_seconds
    delay = FIRST_RETRY_DELAY
    reason = "no answer in time"
    while True:
        try:
            await asyncio.wait_for(application.initialize(), max(deadline - time.monotonic(), 0))
            return
        except InvalidToken:
            raise token_refused() from None
        except BadRequest as error:
            raise refused("getMe", error) from None
        except (NetworkError, RetryAfter) as error:
            reason = str(error)
        except TelegramError as error:
            if error.message != NOT_THE_BOT_API:
                raise refused("getMe", error) from None
            # Something between us and Telegram (a proxy, a captive portal) may answer for it.
            reason = "the answer was not the Bot API's JSON"
        except TimeoutError:
            pass  # the deadline cut this try short; the reason of the last one stands
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise unreachable(api_url, f"gave up after {retry_seconds:g} s ({reason})")
        logger.debug("Telegram not reachable yet (%s); next try in %.1f s", reason, delay)
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_RETRY_DELAY)


@contextlib.contextmanager
def telegram_step(what: str, api_url: str) -> Iterator[None]:
    """A start-up call after the first contact: its failure becomes one line."""
    try:
        yield
    except InvalidToken:
        raise token_refused() from None
    except BadRequest as error:  # a NetworkError in PTB, but Telegram answered
        raise refused(what, error) from None
    except NetworkError as error:
        raise unreachable(api_url, f"{what} failed ({error})") from None
    except TelegramError as error:
        raise refused(what, error) from None
