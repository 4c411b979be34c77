"""What platforms and servers run: the Procfile, the version pin, requirements.txt (installed
into a fresh virtualenv), and the systemd unit run the way systemd would start it.

systemd itself cannot run here (no init system in the test environment): the unit test reads
the unit's directives and starts its ExecStart with the environment and working directory
the unit gives, against the stand-ins.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.telegram.startup import EXIT_PORT_UNAVAILABLE, EXIT_TELEGRAM_REFUSED, EXIT_TOKEN_REFUSED
from standins.demo import DEMO_USER_ID, Sandbox
from tests.support.process import REPO, finished, process_env, spawned

UNIT = REPO / "deploy" / "threecommas-bot.service"
INSTALL_DIR = "/opt/threecommas-bot"
STATE_DIR = "/var/lib/threecommas-bot"


def unit_directives(path: Path) -> dict[str, list[str]]:
    """Each `Key=value` of the unit (all sections), values in order: keys may repeat."""
    directives: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        directives.setdefault(key.strip(), []).append(value.strip())
    return directives


def assignments(lines: list[str]) -> dict[str, str]:
    """`KEY=value` lines (comments and blanks skipped), as in Environment= and env files."""
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key.strip(): value for key, value in pairs}


def test_the_procfile_has_a_web_and_a_worker_process_running_the_bot() -> None:
    lines = (REPO / "Procfile").read_text().splitlines()
    assert lines == ["web: python -m bot run", "worker: python -m bot run"]


def test_the_python_pin_satisfies_the_projects_requirement() -> None:
    pinned = (REPO / ".python-version").read_text().strip()
    assert pinned == "3.11"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"


def test_the_systemd_unit_is_sandboxed() -> None:
    unit = unit_directives(UNIT)
    assert unit["DynamicUser"] == ["yes"]
    assert unit["StateDirectory"] == [Path(STATE_DIR).name]
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["NoNewPrivileges"] == ["yes"]
    assert unit["EnvironmentFile"] == ["/etc/threecommas-bot/env"]
    assert unit["WorkingDirectory"] == [STATE_DIR]
    # what restarting cannot fix: the exit statuses that ask for a setting to be changed
    refused = (2, EXIT_TOKEN_REFUSED, EXIT_TELEGRAM_REFUSED, EXIT_PORT_UNAVAILABLE)
    assert unit["RestartPreventExitStatus"] == [" ".join(map(str, refused))]


async def test_the_units_execstart_runs_the_bot_in_its_state_directory(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    unit = unit_directives(UNIT)
    argv = shlex.split(unit["ExecStart"][0])
    assert argv == [f"{INSTALL_DIR}/.venv/bin/python", "-m", "bot", "run"]
    state = tmp_path / "state"  # what StateDirectory= creates, owned by the dynamic user
    state.mkdir(mode=0o700)
    env_file = tmp_path / "env"  # /etc/threecommas-bot/env, written as the README says
    launcher = process_env()  # PATH, and PYTHONPATH for this checkout instead of the venv
    settings = {
        key: value
        for key, value in process_env(sandbox.settings).items()
        if key not in launcher and key != "DATABASE_PATH"
    }
    env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    # as systemd: Environment= first, then EnvironmentFile= overrides
    env = assignments(unit["Environment"])
    env = {key: value.replace(STATE_DIR, str(state)) for key, value in env.items()}
    env.update(assignments(env_file.read_text().splitlines()))
    env.update(launcher)
    # the interpreter of this test run (with this checkout on PYTHONPATH) stands in for the venv's
    async with spawned([sys.executable, *argv[1:]], state, env) as process:
        sandbox.botapi.send_text("/help", user_id=DEMO_USER_ID)
        await sandbox.botapi.wait_for_text(DEMO_USER_ID, "Connect", timeout=30)
        assert (state / "bot.sqlite3").is_file()  # the database is in the state directory
        process.send_signal(signal.SIGTERM)  # KillSignal=
        stop_timeout = float(unit["TimeoutStopSec"][0])
        result = await finished(process, timeout=stop_timeout)
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # a pip install: starts first under xdist
@pytest.mark.timeout(300)  # about 20 s with pip's cache; a cold cache downloads ~20 MB
def test_a_fresh_virtualenv_installs_from_requirements_txt_and_runs(tmp_path: Path) -> None:
    """What a buildpack does: `pip install -r requirements.txt` in a copy of the repository
    (pip builds in the source tree), into a new virtualenv without this environment's
    packages; then the installed bot runs outside the checkout. Needs the package index, as
    `make test` itself does to set up .venv."""
    assert [
        line
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ] == ["."]
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*_NOT_SHIPPED))
    venv = tmp_path / "venv"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "-q", "-r", "requirements.txt"], source, env)
    elsewhere = tmp_path / "elsewhere"  # not the checkout: only the installed package
    elsewhere.mkdir()
    helped = _run([python, "-m", "bot", "--help"], elsewhere, env)
    assert re.search(r"\brun\b.*needs TELEGRAM_BOT_TOKEN", helped.stdout), helped.stdout
    _run([python, "-c", "import bot.app, bot.telegram.webhook"], elsewhere, env)


_NOT_SHIPPED = (
    ".git",
    ".venv",
    "build",
    "data",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
)


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, f"{shlex.join(argv)}\n{result.stdout}\n{result.stderr}"
    return result
