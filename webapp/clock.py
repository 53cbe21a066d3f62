"""The app's one notion of now. Every stage asks here; tests travel in time by replacing `now`."""

from __future__ import annotations

import time


def now() -> float:
    """Seconds since the epoch (wall clock), as every expiry and limit in the app reads it."""
    return time.time()
