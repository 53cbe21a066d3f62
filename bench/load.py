"""wrk, run from its own process, and what it printed: requests per second, p99, errors."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("cookies.lua")
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


@dataclass(frozen=True)
class Load:
    """One wrk run's figures."""

    requests: int
    per_second: float
    p99_ms: float
    errors: int  # socket errors, timeouts and answers other than 2xx or 3xx


def wrk(
    url: str,
    seconds: float,
    connections: int,
    cookies: list[str] | None = None,
    host: str | None = None,
    threads: int = 2,
) -> Load:
    """Load url for seconds with wrk (with cookies: each request as the next session in turn)."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    command += ["--latency", "--timeout", "10s"]
    env = dict(os.environ)
    with tempfile.NamedTemporaryFile("w", suffix=".cookies") as jar:
        if cookies:
            jar.write("\n".join(cookies) + "\n")
            jar.flush()
            env["BENCH_COOKIES"] = jar.name
            command += ["-s", str(SCRIPT)]
        if host:
            env["BENCH_HOST"] = host
            if not cookies:
                command += ["-H", f"Host: {host}"]
        out = subprocess.run(
            [*command, url], env=env, capture_output=True, text=True, check=True
        ).stdout
    return parse(out)


def parse(out: str) -> Load:
    """The figures in wrk's report (wrk 4.x, run with --latency)."""
    total = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    if not (total and rate and p99):
        raise RuntimeError(f"wrk printed no figures:\n{out}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return Load(
        requests=int(total.group(1)),
        per_second=float(rate.group(1)),
        p99_ms=float(p99.group(1)) * UNITS[p99.group(2)],
        errors=errors,
    )
