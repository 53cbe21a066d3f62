"""The table as Markdown, with the machine it was measured on."""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
from pathlib import Path

from bench.figures import Figure

NOTES = Path(__file__).with_name("NOTES.md")  # how to read the figures; kept by hand


def render(table: list[Figure], quick: bool = False) -> str:
    """RESULTS.md: the figures, the machine, and the notes on reading them."""
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench`"
        + (" --quick: short runs, not the issue's figures" if quick else "")
        + "). Targets are ratios and counts measured in one run.",
        "",
        "| # | figure | measured | target | result |",
        "|---|---|---|---|---|",
    ]
    for f in table:
        lines.append(
            f"| {f.key} | {f.what} | {f.value} | {f.target} | {'PASS' if f.passed else 'MISS'} |"
        )
    lines += ["", "Details:", ""]
    lines += [f"- {f.key}: {f.note}" for f in table if f.note]
    lines += ["", "## Machine", ""]
    lines += [f"- {name}: {value}" for name, value in machine().items()]
    if NOTES.exists():
        lines += ["", NOTES.read_text().strip()]
    return "\n".join(lines) + "\n"


def machine() -> dict[str, str]:
    """Cores, memory, CPU, the versions that matter, when, and which commit."""
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _run("git", "rev-parse", "--short", "HEAD"),
        "cores": str(os.cpu_count()),
        "CPU": cpu.group(1) if cpu else "?",
        "memory": f"{int(memory.group(1)) / 1024 / 1024:.1f} GiB" if memory else "?",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "gunicorn": _run(".venv/bin/gunicorn", "--version"),
        "redis-server": _run("redis-server", "--version"),
        "nginx": _run("nginx", "-v"),
        "wrk": _run("wrk", "-v").splitlines()[0] if _run("wrk", "-v") else "?",
    }


def _run(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "?"
    return (done.stdout or done.stderr).strip()
