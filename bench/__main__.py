"""`python -m bench` (make bench): the hot path's figures over real HTTP, with targets.

Starts a private Redis, the devstack, gunicorn with deploy/gunicorn.conf.py (4 gthread workers)
and, for R7, nginx with deploy/nginx.conf; drives them with wrk from its own process; prints the
table and writes it with this machine's description to bench/RESULTS.md. Machines are shared
and noisy: the targets are ratios and counts measured in one run, not absolute times.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import figures, report
from bench.stack import Stack

RESULTS = Path(__file__).with_name("RESULTS.md")


def main(argv: list[str] | None = None) -> int:
    """Measure every figure, print the table, write RESULTS.md (--strict: exit 1 on a miss; a
    miss is otherwise reported in the table, with its explanation in NOTES.md)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the report goes")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    sizes = figures.QUICK if args.quick else figures.Sizes()
    with Stack() as stack:
        print(f"gunicorn on {stack.url}, regions {', '.join(stack.regions)}", flush=True)
        table = [
            figures.sts_calls(stack, sizes),
            figures.throughput_ratio(stack, sizes),
            figures.overview_latency(stack, sizes),
            figures.jwks_fetches(stack),  # before P5, whose in-process app fetches its own
            figures.client_time(stack),
            figures.sessions_under_load(stack, sizes),
            figures.worker_memory(stack),
        ]
        table.sort(key=lambda figure: figure.key)
    text = report.render(table, quick=args.quick)
    print(text)
    args.output.write_text(text)
    print(f"written to {args.output}")
    return 1 if args.strict and not all(figure.passed for figure in table) else 0


if __name__ == "__main__":
    sys.exit(main())
