"""Audit trail: a structured log line per event, and the recent ones in a capped Redis stream."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from flask import has_request_context, session

from . import clock
from .store import get_store, global_key

log = logging.getLogger("webapp.audit")
STREAM = global_key("audit")
STREAM_MAXLEN = 1000


def record(event: str, **fields: Any) -> None:
    """Log an audit event (with the signed-in actor, if any) and append it to the stream."""
    entry: dict[str, Any] = {"event": event, "at": round(clock.now(), 3)}
    user = session.get("user") if has_request_context() else None
    if user and "actor" not in fields:
        entry["actor"] = user.get("sub")
    entry.update(fields)
    payload = json.dumps(entry, default=str, sort_keys=True)
    log.info(payload, extra={"audit": entry})  # JSON log lines carry the fields themselves
    try:
        get_store().client.xadd(STREAM, {"data": payload}, maxlen=STREAM_MAXLEN, approximate=True)
    except redis.RedisError as exc:
        # The log line above is the record of last resort; the stream only feeds the admin page.
        log.warning(json.dumps({"event": "audit_stream_unavailable", "error": str(exc)}))


def list_recent(count: int = 50) -> list[dict[str, Any]]:
    """The most recent audit events, newest first."""
    events = []
    for _id, values in get_store().client.xrevrange(STREAM, count=count) or []:
        try:
            entry = json.loads((values or {})[b"data"])
        except (KeyError, ValueError):
            continue
        if isinstance(entry, dict):
            events.append(entry)
    return events
