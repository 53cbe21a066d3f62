"""Registry of live sessions in Redis: who is signed in, for listing, revoke, back-channel logout.

Entries are named by a handle (a hash of the session id) so that pages and URLs never carry a
session id, which is as good as its owner's cookie; they are sealed like the sessions themselves.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from flask import Flask, current_app, request, session

from . import sessions

PREFIX = "portal:registry:"
INDEX = PREFIX + "index"  # zset: handle -> absolute expiry
_NAME = re.compile(r"[0-9a-f]{32}")  # handles and user keys; nothing else may reach a key name
SYNC_INTERVAL = 60  # seconds between refreshes of an entry while its session is in use
_SYNCED = "registry_synced"  # in the session: when it was last written here, with which AWS expiry


def _hash(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def get_handle(sid: str) -> str:
    """The public name of a session: a hash of its id."""
    return _hash(sid)


def get_user_key(iss: str, sub: str) -> str:
    """The public name of a user across their sessions."""
    return _hash(iss, sub)


def _groups(entry: dict[str, Any]) -> list[str]:
    """The sets that find this entry: by user, and by IdP session (for back-channel logout)."""
    idp = [PREFIX + "idp:" + _hash(entry["iss"], entry["idp_sid"])] if entry["idp_sid"] else []
    return [PREFIX + "user:" + entry["user_key"], *idp]


def _max_seconds() -> int:
    return current_app.config["SESSION_MAX_HOURS"] * 3600


def sync(sid: str, sess: Any) -> None:
    """Write a signed-in session's metadata to the registry (one pipelined round trip)."""
    user, aws, now = sess["user"], sess.get("aws") or {}, sessions.clock()
    handle = get_handle(sid)
    entry = {
        "sid": sid,
        "user_key": get_user_key(user["iss"], user["sub"]),
        **{k: str(user.get(k) or "") for k in ("iss", "sub", "name", "email")},
        "idp_sid": str(user.get("sid") or ""),
        "roles": list(user.get("roles") or []),
        "signed_in_at": float(sess["signed_in_at"]),
        "last_seen": float(sess["last_seen"]),
        **{k: str(aws.get(k) or "") for k in ("role_arn", "assumed_role_arn")},
        "aws_expiration": aws.get("expiration") or "",
    }
    absolute = entry["signed_in_at"] + _max_seconds()
    blob = current_app.session_interface.cipher.seal(json.dumps(entry).encode(), PREFIX + handle)
    pipe = sessions.get_redis().pipeline(transaction=False)
    pipe.set(PREFIX + handle, blob, ex=max(1, int(absolute - now) + SYNC_INTERVAL))
    pipe.zadd(INDEX, {handle: absolute})
    for group in _groups(entry):
        pipe.sadd(group, handle)
        pipe.expire(group, _max_seconds() + SYNC_INTERVAL)
    pipe.execute()
    sess[_SYNCED] = {"at": now, "aws": entry["aws_expiration"]}


def _touch(response: Any) -> Any:
    """Refresh the entry at most once a minute, and at once when the AWS credentials change."""
    if request.endpoint == "static" or getattr(session, "unavailable", False):
        return response
    if "user" in session:
        synced = session.get(_SYNCED) or {}
        aws_expiration = (session.get("aws") or {}).get("expiration") or ""
        stale = sessions.clock() - synced.get("at", 0) >= SYNC_INTERVAL
        if stale or synced.get("aws") != aws_expiration:
            sync(session.sid, session)
    return response


def _entries(handles: list[str]) -> list[dict[str, Any]]:
    """Entries with their session key's remaining lifetime (pttl, ms; negative once it is gone)."""
    r, cipher, entries = sessions.get_redis(), current_app.session_interface.cipher, []
    blobs = r.mget([PREFIX + h for h in handles]) if handles else []
    for handle, blob in zip(handles, blobs, strict=True):
        plaintext = cipher.open(blob, PREFIX + handle) if blob else None
        if plaintext is not None:
            entries.append({**json.loads(plaintext), "handle": handle})
    pipe = r.pipeline(transaction=False)
    for entry in entries:
        pipe.pttl(sessions.KEY_PREFIX + entry["sid"])
    for entry, pttl in zip(entries, pipe.execute(), strict=True):
        entry["pttl"] = pttl
        entry["idle_expires_at"] = entry["last_seen"] + sessions.idle_seconds()
        entry["expires_at"] = entry["signed_in_at"] + _max_seconds()
    return entries


def _is_live(entry: dict[str, Any], now: float) -> bool:
    # The entry's last_seen may lag the session's by up to SYNC_INTERVAL, hence the grace.
    idle_ends = entry["idle_expires_at"] + SYNC_INTERVAL
    return entry["pttl"] > 0 and now < entry["expires_at"] and now < idle_ends


def list_sessions(query: str = "") -> list[dict[str, Any]]:
    """Every live session, newest sign-in first, optionally by name, email or sub substring."""
    now = sessions.clock()
    handles = [h.decode() for h in sessions.get_redis().zrange(INDEX, 0, -1)]
    live = [e for e in _entries(handles) if _is_live(e, now)]
    _drop(sorted(set(handles) - {e["handle"] for e in live}))  # ended, expired or unreadable
    needle = query.strip().casefold()
    if needle:
        live = [e for e in live if any(needle in e[k].casefold() for k in ("name", "email", "sub"))]
    return sorted(live, key=lambda e: e["signed_in_at"], reverse=True)


def get_entry(handle: str) -> dict[str, Any] | None:
    """The live entry for a handle, or None."""
    entries = _entries([handle] if _NAME.fullmatch(handle) else [])
    return entries[0] if entries and _is_live(entries[0], sessions.clock()) else None


def remove(sid: str) -> None:
    """Forget a session its owner ended (the session store deletes the session itself)."""
    _drop([get_handle(sid)])


def _drop(handles: list[str], *, end_sessions: bool = False) -> list[dict[str, Any]]:
    """Delete entries, and their sessions when asked; return the entries that were readable."""
    handles = [h for h in handles if _NAME.fullmatch(h)]
    if not handles:
        return []
    entries = _entries(handles)
    for entry in entries if end_sessions else []:
        sessions.discard(entry["sid"])
    pipe = sessions.get_redis().pipeline(transaction=False)
    for entry in entries:
        for group in _groups(entry):
            pipe.srem(group, entry["handle"])
    pipe.delete(*(PREFIX + h for h in handles))
    pipe.zrem(INDEX, *handles)
    pipe.execute()
    return entries


def revoke(handle: str) -> dict[str, Any] | None:
    """End one session now; its owner's next request finds no session."""
    ended = _drop([handle], end_sessions=True)
    return ended[0] if ended else None


def _revoke_group(group: str, sub: str | None = None) -> list[dict[str, Any]]:
    r = sessions.get_redis()
    members = sorted(m.decode() for m in r.smembers(group))
    entries = _entries(members)
    ended = _drop([e["handle"] for e in entries if sub in (None, e["sub"])], end_sessions=True)
    stale = set(members) - {e["handle"] for e in entries}  # entries that expired on their own
    if stale:
        r.srem(group, *stale)
    return ended


def revoke_user(user_key: str) -> list[dict[str, Any]]:
    """End every session of one user; return the ended entries."""
    return _revoke_group(PREFIX + "user:" + user_key) if _NAME.fullmatch(user_key) else []


def revoke_idp_session(iss: str, idp_sid: str, sub: str | None = None) -> list[dict[str, Any]]:
    """End the sessions started from one IdP session (and belonging to sub, when given)."""
    return _revoke_group(PREFIX + "idp:" + _hash(iss, idp_sid), sub)


def init_app(app: Flask) -> None:
    """Keep registry entries fresh from the requests of signed-in users."""
    app.after_request(_touch)
