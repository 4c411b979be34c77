"""The memory floor of (4): a process that only imports the libraries the bot requires.

    python -m bench.libraries

Imports the runtime dependencies of pyproject.toml as the bot loads them at start-up
(matplotlib only when the first chart is drawn, so not here), says "imported" on stdout, and
waits for SIGTERM.
"""

from __future__ import annotations

import importlib
import signal
import sys

REQUIRED = (
    "asyncio",
    "ssl",
    "sqlite3",
    "zoneinfo",
    "telegram",
    "telegram.ext",  # with the job-queue extra (APScheduler)
    "apscheduler",
    "aiohttp",
    "pydantic",
    "pydantic_settings",
    "sqlite_utils",
    "cryptography.hazmat.primitives.ciphers.aead",
)


def main() -> int:
    for name in REQUIRED:
        importlib.import_module(name)
    print("imported", flush=True)
    signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
