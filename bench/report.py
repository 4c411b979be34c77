"""The table: printed, and written to BENCHMARKS.md with the machine and the command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.common import Row, machine


def _verdict(row: Row) -> str:
    if row.passed is None:
        return "-"
    return "pass" if row.passed else "MISS"


def table(rows: list[Row]) -> str:
    lines = [
        "| # | Measurement | Result | Target | Verdict |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [str(row.number), row.measurement, row.result, row.target, _verdict(row)]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def run_section(rows: list[Row], command: str, seconds: float, title: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"## {title}\n\n"
        f"- When: {when}\n"
        f"- Machine: {machine()}\n"
        f"- Command: `{command}` ({seconds:.0f} s)\n\n"
        f"{table(rows)}\n"
    )


HEADER = "# Benchmarks\n\n"
MARK = "<!-- latest run: written by `make bench`; everything below it is kept -->\n"


def write(path: Path, section: str) -> None:
    """Replace the latest-run section of BENCHMARKS.md, keeping the notes below the mark."""
    kept = ""
    if path.exists():
        text = path.read_text()
        _, found, after = text.partition(MARK)
        if found:
            kept = after.split("\n<!-- end of latest run -->\n", 1)[-1]
    path.write_text(HEADER + MARK + section + "\n<!-- end of latest run -->\n" + kept)
