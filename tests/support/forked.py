"""`python -m bot run` forked from one interpreter that imported the bot once.

A test that starts and SIGKILLs the bot twenty times paid about 0.6 s of CPU for the imports of
each start; the forks inherit them. A fork is a real process of its own running the same
`bot/__main__.py` with exactly the environment, working directory and stderr file it is given,
as a platform starts it; what happens to its database when it is killed is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.process import REPO

# Runs in the server: each line on stdin is a start (JSON: cwd, env, stderr); it answers the
# fork's pid on stdout. It reaps the forks as they end, so their CPU time counts as its own.
_SERVER = """
import json, os, runpy, signal, sys
import bot.__main__, bot.app
def reap(*_):
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass
signal.signal(signal.SIGCHLD, reap)
for line in sys.stdin:
    start = json.loads(line)
    os.makedirs(start["cwd"], exist_ok=True)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(start["cwd"])
        os.environ.clear()
        os.environ.update(start["env"])
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(os.open(start["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
        sys.argv = ["python -m bot", "run"]
        runpy.run_module("bot", run_name="__main__", alter_sys=True)
        sys.exit(0)
    print(pid, flush=True)
"""


@dataclass
class ForkedBot:
    """One forked `python -m bot run`."""

    pid: int
    _ended: asyncio.Future[None]
    stderr_path: Path

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    async def wait(self) -> None:
        """Until the process has ended."""
        await asyncio.shield(self._ended)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


class ForkServer:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @contextlib.asynccontextmanager
    async def bot(self, env: dict[str, str], workdir: Path) -> AsyncIterator[ForkedBot]:
        """`python -m bot run` with exactly `env` in `workdir` (stderr in bot-stderr.log there);
        SIGKILLed at the end if still running."""
        stderr_path = workdir / "bot-stderr.log"
        start = {"cwd": str(workdir), "env": env, "stderr": str(stderr_path)}
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(start).encode() + b"\n")
        await self._process.stdin.drain()
        pid = int(await asyncio.wait_for(self._process.stdout.readline(), 30))
        # a pidfd turns readable when the process ends: the end is an event, not a poll
        pidfd = os.pidfd_open(pid)
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()

        def on_end() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            if not ended.done():
                ended.set_result(None)

        loop.add_reader(pidfd, on_end)
        forked = ForkedBot(pid, ended, stderr_path)
        try:
            yield forked
        finally:
            forked.kill()
            await asyncio.wait_for(forked.wait(), 30)


@contextlib.asynccontextmanager
async def fork_server(workdir: Path) -> AsyncIterator[ForkServer]:
    """An interpreter that has imported the bot and forks a `python -m bot run` on request."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SERVER,
        cwd=workdir,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield ForkServer(process)
    finally:
        assert process.stdin is not None
        process.stdin.close()  # end of input: the server's loop ends
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
