"""The short per-session listing cache, in Redis beside the session (sealed like it)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import current_app, session

from .. import sessions

TTL_SECONDS = 30


def _key() -> str:
    # One hash per session, so Refresh is a single DEL; the whole hash lives TTL_SECONDS from
    # its first entry, which bounds every entry's age by TTL_SECONDS.
    return sessions.LISTINGS_PREFIX + session.sid


def _field(parts: tuple[str, ...]) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def get_listing(*parts: str) -> Any | None:
    """The cached JSON value for parts (service, then its arguments), or None."""
    key, field = _key(), _field(parts)
    blob = sessions.get_redis().hget(key, field)
    if blob is None:
        return None
    plaintext = current_app.session_interface.cipher.open(blob, f"{key}/{field}")
    return json.loads(plaintext) if plaintext is not None else None


def put_listing(value: Any, *parts: str) -> None:
    """Keep a JSON-ready value for parts for at most TTL_SECONDS."""
    key, field = _key(), _field(parts)
    blob = current_app.session_interface.cipher.seal(json.dumps(value).encode(), f"{key}/{field}")
    with sessions.get_redis().pipeline() as pipe:
        pipe.hset(key, field, blob)
        pipe.expire(key, TTL_SECONDS, nx=True)
        pipe.execute()


def drop_listings() -> None:
    """Forget every cached listing of this session (the Refresh button)."""
    sessions.get_redis().delete(_key())
