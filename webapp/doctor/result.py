"""What every check returns: a name, pass/fail/skip, what was found and, for a failure, the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class Result:
    """One check's outcome; detail says what was found (or, for skip, why nothing was)."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def passed(name: str, detail: str) -> Result:
    """A check that found nothing wrong."""
    return Result(name, "pass", detail)


def failed(name: str, detail: str, fix: str) -> Result:
    """A check that found a problem, with what to change."""
    return Result(name, "fail", detail, fix)


def skipped(name: str, why: str) -> Result:
    """A check that could not run, and why."""
    return Result(name, "skip", why)
