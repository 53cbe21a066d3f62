"""Run several listers at once on a bounded pool, each with its own deadline."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from .model import Page, describe_error, get_error_code, is_denied

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one service answered: a page, a denial, or another error in plain words."""

    page: Page | None = None
    denied: bool = False
    error: str | None = None
    timed_out: bool = False

    @property
    def kind(self) -> str:
        """ok, denied, timeout or error."""
        if self.page is not None:
            return "ok"
        if self.denied:
            return "denied"
        return "timeout" if self.timed_out else "error"


def run_job(job: Callable[[], Page]) -> Outcome:
    """Run one lister call and sort its answer into page, denial or error."""
    try:
        return Outcome(page=job())
    except Exception as exc:  # one failing service must not take the page down with it
        if is_denied(exc):
            return Outcome(denied=True, error=get_error_code(exc))
        log.warning("lister failed: %s", describe_error(exc))
        return Outcome(error=describe_error(exc))


def run_all(
    executor: Executor, jobs: Mapping[str, Callable[[], Page]], timeout: float
) -> dict[str, Outcome]:
    """Run jobs concurrently; any not done within timeout seconds reports a timeout."""
    futures: dict[str, Future[Outcome]] = {
        name: executor.submit(run_job, job) for name, job in jobs.items()
    }
    deadline = time.monotonic() + timeout
    outcomes = {}
    for name, future in futures.items():
        try:
            outcomes[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            future.cancel()  # frees the pool slot if it never started; a running call ends itself
            outcomes[name] = Outcome(
                error=f"No answer within {timeout:g} s; try Refresh.", timed_out=True
            )
    return outcomes
