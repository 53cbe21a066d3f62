"""The index of live sessions: who is signed in, for the admin list, revoke, back-channel logout.

Each session's entry is kept beside it under its handle (sealed like the session); a sorted set
of handles and per-user and per-IdP-session sets find the entries. Handles are one-way hashes of
session ids, so pages, URLs and Redis never carry a session id.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flask import Flask, request, session

from . import clock, metrics, sessions
from .auth import tokens_renewed
from .sessions import current
from .store import get_store, global_key, session_key

INDEX = global_key("index")  # zset: handle -> absolute expiry
_NAME = re.compile(r"[0-9a-f]{32}")  # handles and user keys; nothing else may reach a key name
SYNC_INTERVAL = 60  # seconds between refreshes of an entry while its session is in use
_SYNCED = "index_synced"  # in the session: when it was last written here, with which AWS expiry


def _hash(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _decode(member: Any) -> str:
    return member.decode() if isinstance(member, bytes) else str(member)


def get_user_key(iss: str, sub: str) -> str:
    """The public name of a user across their sessions."""
    return _hash(iss, sub)


def _groups(entry: dict[str, Any]) -> list[str]:
    """The sets that find this entry: by user, and by IdP session (for back-channel logout)."""
    idp = [global_key("idp", _hash(entry["iss"], entry["idp_sid"]))] if entry["idp_sid"] else []
    return [global_key("user", entry["user_key"]), *idp]


def sync(handle: str, sess: Any) -> None:
    """Write a signed-in session's entry to the index (one pipelined round trip)."""
    user, aws, now = sess["user"], sess.get("aws") or {}, clock.now()
    entry = {
        "user_key": get_user_key(user["iss"], user["sub"]),
        **{k: str(user.get(k) or "") for k in ("iss", "sub", "name", "email")},
        "idp_sid": str(user.get("sid") or ""),
        "roles": list(user.get("roles") or []),
        "signed_in_at": float(sess["signed_in_at"]),
        "last_seen": float(sess["last_seen"]),
        **{k: str(aws.get(k) or "") for k in ("role_arn", "assumed_role_arn")},
        "aws_expiration": aws.get("expiration") or "",
    }
    max_seconds = sessions.max_seconds()
    absolute = float(sess["signed_in_at"]) + max_seconds
    store = get_store()
    key = session_key(handle, "entry")
    pipe = store.client.pipeline(transaction=False)
    pipe.set(key, store.seal(entry, key), ex=max(1, int(absolute - now) + SYNC_INTERVAL))
    pipe.zadd(INDEX, {handle: absolute})
    for group in _groups(entry):
        pipe.sadd(group, handle)
        pipe.expire(group, max_seconds + SYNC_INTERVAL)
    pipe.execute()
    sess[_SYNCED] = {"at": now, "aws": entry["aws_expiration"]}


def _touch(response: Any) -> Any:
    """Refresh the entry at most once a minute, and at once when the AWS credentials change."""
    if request.endpoint == "static" or current().unavailable or "user" not in session:
        return response
    synced = session.get(_SYNCED) or {}
    aws_expiration = (session.get("aws") or {}).get("expiration") or ""
    stale = clock.now() - synced.get("at", 0) >= SYNC_INTERVAL
    if stale or synced.get("aws") != aws_expiration:
        sync(sessions.get_own_handle(), session)
    return response


def _entries(handles: list[str]) -> list[dict[str, Any]]:
    """Entries with their session key's remaining lifetime (pttl, ms; negative once it is gone)."""
    store = get_store()
    found = store.get_many([session_key(h, "entry") for h in handles])
    entries = [{**e, "handle": h} for h, e in zip(handles, found, strict=True) if e]
    pipe = store.client.pipeline(transaction=False)
    for entry in entries:
        pipe.pttl(session_key(entry["handle"]))
    idle = sessions.idle_seconds()
    for entry, pttl in zip(entries, pipe.execute(), strict=True):
        entry["pttl"] = pttl
        entry["idle_expires_at"] = entry["last_seen"] + idle
        entry["expires_at"] = entry["signed_in_at"] + sessions.max_seconds()
    return entries


def _is_live(entry: dict[str, Any], now: float) -> bool:
    # The entry's last_seen may lag the session's by up to SYNC_INTERVAL, hence the grace.
    idle_ends = entry["idle_expires_at"] + SYNC_INTERVAL
    return bool(entry["pttl"] > 0 and now < entry["expires_at"] and now < idle_ends)


def list_sessions(query: str = "") -> list[dict[str, Any]]:
    """Every live session, newest sign-in first, optionally by name, email or sub substring."""
    now = clock.now()
    handles = [_decode(h) for h in get_store().client.zrange(INDEX, 0, -1)]
    live = [e for e in _entries(handles) if _is_live(e, now)]
    _drop(sorted(set(handles) - {e["handle"] for e in live}))  # ended, expired or unreadable
    needle = query.strip().casefold()
    if needle:
        live = [e for e in live if any(needle in e[k].casefold() for k in ("name", "email", "sub"))]
    return sorted(live, key=lambda e: e["signed_in_at"], reverse=True)


def count_live() -> int:
    """How many sessions are live: indexed, before their absolute end, their key not expired."""
    # Cheaper than list_sessions (nothing is unsealed) for a scrape every few seconds. The
    # session key expires at its idle limit, as written back at most once a minute.
    client = get_store().client
    handles = [_decode(h) for h in client.zrangebyscore(INDEX, clock.now(), "+inf")]
    pipe = client.pipeline(transaction=False)
    for handle in handles:
        pipe.exists(session_key(handle))
    return sum(pipe.execute()) if handles else 0


def get_entry(handle: str) -> dict[str, Any] | None:
    """The live entry for a handle, or None."""
    entries = _entries([handle] if _NAME.fullmatch(handle) else [])
    return entries[0] if entries and _is_live(entries[0], clock.now()) else None


def _drop(handles: list[str], *, end_sessions: bool = False) -> list[dict[str, Any]]:
    """Delete entries, and their sessions when asked; return the entries that were readable."""
    handles = [h for h in handles if _NAME.fullmatch(h)]
    if not handles:
        return []
    entries = _entries(handles)
    store = get_store()
    pipe = store.client.pipeline(transaction=False)
    for entry in entries:
        for group in _groups(entry):
            pipe.srem(group, entry["handle"])
    pipe.zrem(INDEX, *handles)
    pipe.execute()
    for handle in handles:
        if end_sessions:
            sessions.discard(handle)
        else:
            store.delete(session_key(handle, "entry"))
    return entries


def revoke(handle: str) -> dict[str, Any] | None:
    """End one session now; its owner's next request finds no session."""
    ended = _drop([handle], end_sessions=True)
    return ended[0] if ended else None


def _revoke_group(group: str, sub: str | None = None) -> list[dict[str, Any]]:
    client = get_store().client
    members = sorted(_decode(m) for m in client.smembers(group))
    entries = _entries(members)
    ended = _drop([e["handle"] for e in entries if sub in (None, e["sub"])], end_sessions=True)
    stale = set(members) - {e["handle"] for e in entries}  # entries that expired on their own
    if stale:
        client.srem(group, *stale)
    return ended


def revoke_user(user_key: str) -> list[dict[str, Any]]:
    """End every session of one user; return the ended entries."""
    return _revoke_group(global_key("user", user_key)) if _NAME.fullmatch(user_key) else []


def revoke_idp_session(iss: str, idp_sid: str, sub: str | None = None) -> list[dict[str, Any]]:
    """End the sessions started from one IdP session (and belonging to sub, when given)."""
    return _revoke_group(global_key("idp", _hash(iss, idp_sid)), sub)


def _started(app: Flask, *, handle: str, data: Any) -> None:
    sync(handle, data)


def _ended(app: Flask, *, handle: str) -> None:
    _drop([handle])


def _renewed(app: Flask, *, claims: dict[str, Any]) -> None:
    sync(sessions.get_own_handle(), session)  # the roles shown to admins follow at once


def init_app(app: Flask) -> None:
    """Follow sign-ins and sign-outs, and keep entries fresh from signed-in users' requests."""
    sessions.session_started.connect(_started, sender=app)
    sessions.session_ended.connect(_ended, sender=app)
    tokens_renewed.connect(_renewed, sender=app)
    app.after_request(_touch)
    metrics.watch_live_sessions(app, count_live)
