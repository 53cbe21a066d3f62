"""`python -m bench`: latency figures for the portal's hot paths, against the local stand-ins.

Prints medians and 95th percentiles measured in one run, and the ratios that matter (the machine is
shared, so absolute numbers vary; ratios measured side by side are what to compare).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable

from bench.stack import Stack


def measure(label: str, action: Callable[[], object], runs: int) -> dict[str, float]:
    """Time `action` `runs` times (after two warm-ups) and print median and p95 in ms."""
    for _ in range(2):
        action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    figures = {"median": statistics.median(samples), "p95": samples[int(len(samples) * 0.95) - 1]}
    print(f"  {label:<58} median {figures['median']:8.2f} ms   p95 {figures['p95']:8.2f} ms")
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark group and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=50, help="timed runs per figure")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # the app's per-request log lines would drown the figures
    from bench import groups

    with Stack() as stack:
        for group in groups.ALL:
            print(f"\n{group.__doc__}")
            group(stack, args.runs, measure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
