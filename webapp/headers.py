"""Response headers the portal sets itself: caching of private pages."""

from __future__ import annotations

from typing import Any


def no_store(response: Any) -> Any:
    """Mark a response that must never be cached (it shows a user's data or secrets)."""
    response.headers["Cache-Control"] = "no-store"
    return response
