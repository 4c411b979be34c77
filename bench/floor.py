"""The floor of measurement (1): a minimal python-telegram-bot application that only replies.

    TELEGRAM_API_URL=http://127.0.0.1:PORT TELEGRAM_BOT_TOKEN=... python -m bench.floor

Run as its own process, like the bot (`python -m bot run`), so neither shares an event loop or
a core with the stand-ins in the benchmark process. `/refresh` answers "Done." with one Bot API
request; nothing else. Stops on SIGTERM or SIGINT (python-telegram-bot's run_polling).
"""

from __future__ import annotations

import logging
import os
import sys

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes


async def only_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("Done.")


def floor_application(api_url: str, token: str) -> Application:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .build()
    )
    application.add_handler(CommandHandler("refresh", only_reply))
    return application


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    try:
        api_url = os.environ["TELEGRAM_API_URL"]
        token = os.environ["TELEGRAM_BOT_TOKEN"]
    except KeyError as missing:
        print(f"{missing.args[0]} is not set", file=sys.stderr)
        return 2
    floor_application(api_url, token).run_polling(poll_interval=0.0, timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
