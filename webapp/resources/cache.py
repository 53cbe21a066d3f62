"""The short per-session listing cache, in the store beside the session (sealed like it)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..sessions import get_own_handle
from ..store import get_store, session_key

TTL_SECONDS = 30


def _key() -> str:
    # One hash per session, so Refresh is a single DEL; the whole hash lives TTL_SECONDS from
    # its first entry, which bounds every entry's age by TTL_SECONDS.
    return session_key(get_own_handle(), "listing")


def _field(parts: tuple[str, ...]) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def get_listing(*parts: str) -> Any | None:
    """The cached JSON value for parts (service, then its arguments), or None."""
    return get_store().get_field(_key(), _field(parts))


def get_listings(parts: list[tuple[str, ...]]) -> list[Any | None]:
    """The cached values for several parts tuples, in one round trip."""
    return get_store().get_fields(_key(), [_field(p) for p in parts])


def put_listing(value: Any, *parts: str) -> None:
    """Keep a JSON-ready value for parts for at most TTL_SECONDS."""
    get_store().put_field(_key(), _field(parts), value, TTL_SECONDS)


def put_listings(values: list[tuple[Any, tuple[str, ...]]]) -> None:
    """put_listing for several (value, parts) pairs, in one round trip."""
    get_store().put_fields(_key(), {_field(p): v for v, p in values}, TTL_SECONDS)


def drop_listings() -> None:
    """Forget every cached listing of this session (the Refresh button)."""
    get_store().delete(_key())
