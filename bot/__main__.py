"""Command line: `python -m bot [run|sandbox|genkey|rotate-keys|backup PATH]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.storage.encryption import MasterKeyError
from bot.storage.errors import StorageError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser(
        "run", help="run the bot (needs TELEGRAM_BOT_TOKEN; webhook mode when WEBHOOK_URL is set)"
    )
    commands.add_parser("sandbox", help="run the bot against local stand-ins, chat in the terminal")
    commands.add_parser("genkey", help="print a new BOT_ENCRYPTION_KEY")
    commands.add_parser("rotate-keys", help="re-encrypt every stored value with the first key")
    backup = commands.add_parser(
        "backup", help="write a consistent copy of the database (needs no encryption key)"
    )
    backup.add_argument("path", type=Path)
    return parser


SANDBOX_NEEDS_CHECKOUT = (
    "The sandbox needs a checkout of the repository (its standins/ folder is not installed)."
)


def _sandbox(settings: Settings, *, asked: bool) -> int:
    """The sandbox lives beside the package in a checkout (`standins/`); it is not shipped.
    `asked`: `python -m bot sandbox`; otherwise it is the fallback when no token is set."""
    try:
        from standins.sandbox import run_sandbox
    except ModuleNotFoundError as error:
        if error.name != "standins":
            raise
        reason = "" if asked else "TELEGRAM_BOT_TOKEN is not set. "
        print(reason + SANDBOX_NEEDS_CHECKOUT, file=sys.stderr)
        return 2
    return run_sandbox(settings)


def _dispatch(command: str | None, args: argparse.Namespace, settings: Settings) -> int:
    if command == "genkey":
        from bot.storage.maintenance import generate_key_text

        print(generate_key_text())
        return 0
    if command == "rotate-keys":
        from bot.storage.maintenance import rotate_keys

        moved = asyncio.run(rotate_keys(settings))
        print(f"Re-encrypted {moved} stored values with the first key.")
        return 0
    if command == "backup":
        from bot.storage.maintenance import backup

        try:
            asyncio.run(backup(settings, args.path))
        except StorageError as error:
            print(f"Cannot back up: {error}", file=sys.stderr)
            return 2
        print(f"Backup written to {args.path}")
        return 0
    if command == "sandbox" or (command is None and settings.telegram_bot_token is None):
        return _sandbox(settings, asked=command == "sandbox")
    if settings.telegram_bot_token is None:
        print("TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        return 2
    from bot.app import run_bot

    return run_bot(settings)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        return _dispatch(args.command, args, settings)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    except (MasterKeyError, StorageError) as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
