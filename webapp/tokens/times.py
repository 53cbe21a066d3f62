"""Times as people read them: NumericDates in UTC, and how far they are from now."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from typing import Any

TIME_CLAIMS = ("exp", "iat", "nbf", "auth_time")  # the JWT claims that hold NumericDates
LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z


def utc_iso(timestamp: float) -> str:
    """Format a NumericDate as an ISO 8601 UTC time, or say it is out of range."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, TypeError, ValueError):
        return "an out-of-range time"


def utc_text(timestamp: float | None, seconds: bool = False) -> str:
    """A Unix time as 'YYYY-MM-DD HH:MM UTC' (with ':SS' when seconds matter), '—' for none."""
    if timestamp is None:
        return "—"
    return time.strftime(f"%Y-%m-%d %H:%M{':%S' if seconds else ''} UTC", time.gmtime(timestamp))


def describe_time(timestamp: Any, now: float, *, expiry: bool = False) -> str:
    """A NumericDate in UTC plus how far from now, e.g. '2025-01-01T08:00:00Z (expires in 8 h)'."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        return json.dumps(timestamp)
    if not math.isfinite(timestamp) or abs(timestamp) > LAST_SECOND:
        return f"{timestamp} (not a usable time)"
    delta = timestamp - now
    size = abs(delta)
    if size < 60:
        span = f"{int(size)} s"
    elif size < 2 * 3600:
        span = f"{int(size // 60)} min"
    elif size < 2 * 86400:
        span = f"{int(size // 3600)} h"
    else:
        span = f"{int(size // 86400)} days"
    if expiry:
        relative = f"expires in {span}" if delta >= 0 else f"expired {span} ago"
    else:
        relative = f"in {span}" if delta >= 0 else f"{span} ago"
    return f"{utc_iso(timestamp // 1)} ({relative})"
