"""`make bench` in short: the whole machinery runs and writes its table (not the figures)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.load import parse
from devstack.testing import ROOT

pytestmark = pytest.mark.deploy

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:1/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.61ms    1.02ms  14.10ms   85.12%
  Latency Distribution
     50%    3.41ms
     75%    3.90ms
     90%    4.61ms
     99%    1.20s
  4421 requests in 2.00s, 9.31MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   2209.35
Transfer/sec:      4.65MB
"""


def test_wrk_report_is_read_with_its_errors_and_units():
    load = parse(WRK_OUTPUT)
    assert (load.requests, load.per_second, load.p99_ms, load.errors) == (4421, 2209.35, 1200, 12)
    with pytest.raises(RuntimeError, match="no figures"):
        parse("unable to connect to 127.0.0.1:1 Connection refused")


def test_quick_bench_writes_every_figure(tmp_path):
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = out.read_text()
    for key in ("P1", "P2", "P3", "P4", "P5", "P6", "R7"):
        assert f"| {key} |" in table
    assert "## Machine" in table and "cores:" in table
    # The counts do not depend on the machine: one STS call per session, no lost session.
    p1 = "| P1 | STS calls per signed-in session over 100 page views | 1.00 | 1.00 | PASS |"
    assert p1 in table
    assert " 0 errors, 0 lost," in table
