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
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.telegram.transport.http_connections import MAX_CONNECTIONS, SHARE_OF_DESCRIPTORS
from bot.telegram.transport.startup import (
    EXIT_PORT_UNAVAILABLE,
    EXIT_TELEGRAM_REFUSED,
    EXIT_TOKEN_REFUSED,
)
from standins.demo import DEMO_USER_ID, Sandbox
from tests.support.process import REPO, finished, process_env, spawned

UNIT = REPO / "deploy" / "threecommas-bot.service"
README = REPO / "README.md"
INSTALL_DIR = "/opt/threecommas-bot"
STATE_DIR = "/var/lib/threecommas-bot"
CACHE_DIR = "/var/cache/threecommas-bot"
# As under DynamicUser=yes and ProtectHome=: a home nothing can be written in (even by root,
# who runs these tests and may write anywhere else).
READ_ONLY_HOME = "/proc/no-home"


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


def test_the_readme_shows_the_procfile_as_it_is() -> None:
    procfile = (REPO / "Procfile").read_text()
    readme = README.read_text()
    start = readme.index("### Which Procfile line runs")
    section = readme[start : readme.index("\n### ", start + 1)]
    assert f"```\n{procfile}```\n" in section
    # every process type the section names (`web` line, web=1) is one the Procfile has
    kinds = {line.split(":")[0] for line in procfile.splitlines()}
    named = set(re.findall(r"`(\w+)` line", section)) | set(re.findall(r"\b(\w+)=\d", section))
    assert {"web", "worker"} <= named
    assert named <= kinds, named - kinds


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
    # room for the HTTP server's whole cap, SQLite and the calls out (systemd's default: 1,024)
    assert int(unit["LimitNOFILE"][0]) >= SHARE_OF_DESCRIPTORS * MAX_CONNECTIONS * 4


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here, so the unit's syntax is not checked")
    # The interpreter of ExecStart exists only on a server: this one stands in for it.
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(f"{INSTALL_DIR}/.venv/bin/python", sys.executable))
    result = subprocess.run(
        [tool, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # unknown keys and bad values are warnings only: nothing may be printed at all
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_readmes_backup_recipe_runs_as_the_unit_runs() -> None:
    """`bot_admin` (README, "On a server with systemd") gives backup and rotate-keys the
    service's user, state directory, environment file, database path and interpreter."""
    unit = unit_directives(UNIT)
    readme = README.read_text()
    start = readme.index("bot_admin() {\n") + len("bot_admin() {\n")
    words = shlex.split(readme[start : readme.index("\n}\n", start)].replace("\\\n", " "))
    properties = {words[i + 1] for i, word in enumerate(words) if word == "-p"}
    assert words[:2] == ["sudo", "systemd-run"]
    assert {
        "DynamicUser=yes",
        f"User={UNIT.stem}",  # the dynamic user of the unit: named after it
        f"StateDirectory={unit['StateDirectory'][0]}",
        f"EnvironmentFile={unit['EnvironmentFile'][0]}",
    } <= properties
    assert unit["DynamicUser"] == ["yes"]
    for environment in unit["Environment"]:
        if environment.startswith("DATABASE_PATH="):
            assert f"Environment={environment}" in properties
    assert f"--working-directory={unit['WorkingDirectory'][0]}" in words
    assert words[-4:] == [*shlex.split(unit["ExecStart"][0])[:3], "$@"]


async def test_the_units_execstart_runs_the_bot_in_its_state_directory(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    unit = unit_directives(UNIT)
    argv = shlex.split(unit["ExecStart"][0])
    assert argv == [f"{INSTALL_DIR}/.venv/bin/python", "-m", "bot", "run"]
    state = tmp_path / "state"  # what StateDirectory= creates, owned by the dynamic user
    state.mkdir(mode=0o700)
    cache = tmp_path / "cache"  # what CacheDirectory= creates
    cache.mkdir(mode=0o700)
    env_file = (
        tmp_path / "env"
    )  # /etc/threecommas-bot/env: .env.example filled in, as the README says
    launcher = process_env()  # PATH, and PYTHONPATH for this checkout instead of the venv
    settings = {
        key: value
        for key, value in process_env(sandbox.settings).items()
        if key not in launcher and key != "DATABASE_PATH"
    }
    env_file.write_text(filled_in((REPO / ".env.example").read_text(), settings))
    # as systemd: Environment= first, then EnvironmentFile= overrides
    env = assignments(unit["Environment"])
    env = {
        key: value.replace(STATE_DIR, str(state)).replace(CACHE_DIR, str(cache))
        for key, value in env.items()
    }
    env.update(assignments(env_file.read_text().splitlines()))
    env.update(launcher, HOME=READ_ONLY_HOME)
    botapi = sandbox.botapi
    # the interpreter of this test run (with this checkout on PYTHONPATH) stands in for the venv's
    async with spawned([sys.executable, *argv[1:]], state, env) as process:
        botapi.send_text("/help", user_id=DEMO_USER_ID)
        await botapi.wait_for_text(DEMO_USER_ID, "Connect", timeout=30)
        assert (state / "bot.sqlite3").is_file()  # the database is in the state directory
        botapi.send_text("/connect demo-key demo-secret", user_id=DEMO_USER_ID)
        await botapi.wait_for_text(DEMO_USER_ID, "Connected", timeout=30)
        botapi.send_text("/chart 23456789 90d", user_id=DEMO_USER_ID)
        await botapi.wait_for(lambda: bool(botapi.files_in(DEMO_USER_ID)), timeout=60)
        process.send_signal(signal.SIGTERM)  # KillSignal=
        stop_timeout = float(unit["TimeoutStopSec"][0])
        result = await finished(process, timeout=stop_timeout)
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stderr
    # matplotlib's cache went to CacheDirectory=, without its two warnings about the home
    assert not [line for line in result.stderr.splitlines() if "WARNING matplotlib" in line]
    assert any(cache.iterdir())


def filled_in(example: str, settings: dict[str, str]) -> str:
    """`.env.example` with these settings' values put in (their lines, or new lines)."""
    lines, missing = [], dict(settings)
    for line in example.splitlines():
        key = line.partition("=")[0]
        if not line.startswith("#") and key in missing:
            line = f"{key}={missing.pop(key)}"
        lines.append(line)
    lines += [f"{key}={value}" for key, value in missing.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.slow  # a pip install: starts first under xdist
@pytest.mark.timeout(300)  # a few seconds: only the project is built and installed
def test_a_fresh_virtualenv_installs_from_requirements_txt_and_runs(tmp_path: Path) -> None:
    """What a buildpack does: `pip install -r requirements.txt` in a copy of the repository
    (pip builds in the source tree), into a new virtualenv without this environment's
    packages; then the installed bot runs outside the checkout.

    The new virtualenv sees, read-only, the distributions the project's requirements name
    (transitively, extras included), as this environment installed them from the same
    pyproject.toml (`make test` resolves them from the index for .venv): pip must find every
    requirement satisfied and installs the project alone, in seconds instead of a minute of
    unpacking numpy and matplotlib again. The dev tools stay invisible, so a module the bot
    imports without declaring it still fails here. The build backend comes from the index."""
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
    # no pip of its own: the requirements' one (sqlite-utils needs pip) comes with them
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = str(venv / "bin" / "python")
    site_packages = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site_packages /= "site-packages"
    declared = _declared_distributions(tmp_path / "declared")
    (site_packages / "declared.pth").write_text(
        f"import site; site.addsitedir({str(declared)!r})\n"
    )
    before = {path.name for path in site_packages.iterdir()}
    shipped = {path.name for path in source.iterdir()}
    # --no-compile: no .pyc; nothing here needs them
    _run(
        [python, "-m", "pip", "install", "-q", "--no-compile", "-r", "requirements.txt"],
        source,
        env,
    )
    # pip found every requirement installed: it added the project and nothing else
    added = sorted({path.name for path in site_packages.iterdir()} - before)
    assert added == ["bot", f"{_DISTRIBUTION}-0.1.0.dist-info"], added
    # what pip leaves in the checkout (build/, the egg-info) is ignored by git
    left = sorted(f"{p.name}/" if p.is_dir() else p.name for p in source.iterdir())
    left = [name for name in left if name.rstrip("/") not in shipped]
    assert left, "pip left nothing: this check would pass for nothing"
    ignored = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "--no-index", *left],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert ignored == left
    elsewhere = tmp_path / "elsewhere"  # not the checkout: only the installed package
    elsewhere.mkdir()
    helped = _run([python, "-m", "bot", "--help"], elsewhere, env)
    assert re.search(r"\brun\b.*needs TELEGRAM_BOT_TOKEN", helped.stdout), helped.stdout
    imported = _run(
        [python, "-c", "import bot.app, bot.telegram.transport.webhook; print(bot.__file__)"],
        elsewhere,
        env,
    )
    assert Path(imported.stdout.strip()) == site_packages / "bot" / "__init__.py"


_DISTRIBUTION = "threecommas_telegram_bot"


def _declared_distributions(folder: Path) -> Path:
    """`folder` with a link to each top-level entry of every distribution the project requires,
    transitively (the extras a requirement names included), as installed here; pip too."""
    wanted = [Requirement(_DISTRIBUTION), Requirement("pip")]
    seen: set[tuple[str, frozenset[str]]] = set()
    folder.mkdir()
    while wanted:
        requirement = wanted.pop()
        extras = frozenset(requirement.extras)
        if (canonicalize_name(requirement.name), extras) in seen:
            continue
        seen.add((canonicalize_name(requirement.name), extras))
        distribution = metadata.distribution(requirement.name)
        for spec in distribution.requires or []:
            needed = Requirement(spec)
            if needed.marker is None or any(
                needed.marker.evaluate({"extra": extra}) for extra in {"", *extras}
            ):
                wanted.append(needed)
        if canonicalize_name(requirement.name) == canonicalize_name(_DISTRIBUTION):
            continue  # the project itself is what pip installs
        files = distribution.files
        assert files, f"{requirement.name} lists no files"
        for top in {Path(file).parts[0] for file in files} - {"..", "__pycache__"}:
            link = folder / top
            if not link.exists():
                link.symlink_to(Path(str(distribution.locate_file(top))))
    return folder


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
