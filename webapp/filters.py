"""Template filters every page may use: times in UTC, expiries from now, file sizes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import clock
from .tokens.times import describe_time, utc_text

UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def when(timestamp: float | str | None) -> str:
    """An expiry in UTC with how far from now, e.g. '2031-01-01T00:00:00Z (expires in 8 h)'."""
    return "—" if timestamp in (None, "") else describe_time(timestamp, clock.now(), expiry=True)


def filesize(size: int | None) -> str:
    """A byte count as '999 B', '1.5 KiB', '12.0 MiB' (binary units)."""
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in UNITS:  # noqa: B007  (the unit we stop at is the one we print)
        value /= 1024
        if value < 1024:
            break
    return f"{value:.1f} {unit}"


FILTERS: dict[str, Any] = {"utc": utc_text, "when": when, "filesize": filesize}


def init_app(app: Flask) -> None:
    """Register the filters on the app's Jinja environment."""
    for name, function in FILTERS.items():
        app.add_template_filter(function, name)
