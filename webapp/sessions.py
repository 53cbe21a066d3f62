"""Server-side sessions on the store: sealed, idle and absolute limits, a new id at sign-in.

The browser holds only the session id; Redis holds the sealed session under the id's handle.
Sign-in and sign-out are announced as signals, so that what follows sessions (the live-session
index) subscribes to them instead of being called from here.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast
from urllib.parse import urlsplit

import redis
from blinker import Namespace
from flask import Flask, abort, current_app, g, has_request_context, request, session
from flask_session.base import ServerSideSession, ServerSideSessionInterface

from . import clock, headers
from .config import is_loopback_host
from .store import Store, get_handle, get_store, session_key

log = logging.getLogger(__name__)

COOKIE_NAME = "__Host-session"
DEV_COOKIE_NAME = "session"  # plain http on loopback only: browsers refuse __Host- without Secure
PREFETCHED = ("aws",)  # read with the session in one round trip: most signed-in pages need them
ACTIVITY_STEP = 60  # last_seen is written back at most once a minute (idle expiry: ±1 min)
ANONYMOUS_SECONDS = 600  # a session without a user (pending sign-ins only) lives ten minutes
_SID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)

_signals = Namespace()
#: sent with the app as sender and ``handle=`` and ``data=`` once a user is signed in
session_started = _signals.signal("session-started")
#: sent with the app as sender and ``handle=`` just before a session is deleted by its owner
session_ended = _signals.signal("session-ended")


def _plain_http_loopback() -> bool:
    """True when this request is plain http to a loopback host (local development only)."""
    return (
        has_request_context()
        and not request.is_secure
        and is_loopback_host(urlsplit("//" + request.host).hostname)
    )


class PortalSession(ServerSideSession):  # type: ignore[misc]
    """A session that knows whether the store could be read for it."""

    unavailable = False
    loaded_from: str | None = None
    beside: dict[str, Any] | None = None  # parts read with the session in its round trip


class PortalSessionInterface(ServerSideSessionInterface):  # type: ignore[misc]
    """Flask-Session's server-side interface, storing sealed JSON through the store."""

    session_class = PortalSession

    def __init__(self, app: Flask, store: Store) -> None:
        super().__init__(app, key_prefix="", permanent=False)
        self.store = store

    def get_cookie_name(self, app: Flask) -> str:
        return DEV_COOKIE_NAME if _plain_http_loopback() else COOKIE_NAME

    def get_cookie_secure(self, app: Flask) -> bool:
        return not _plain_http_loopback()

    def _get_store_id(self, sid: str) -> str:
        return session_key(get_handle(sid))

    def _new(self) -> PortalSession:
        return self.session_class(sid=self._generate_sid(self.sid_length))

    def open_session(self, app: Flask, request: Any) -> PortalSession:
        sid = request.cookies.get(self.get_cookie_name(app), "")
        try:
            data, beside = self._read(sid) if _SID.match(sid) else (None, {})
        except redis.RedisError:
            log.exception("session store unreachable")
            unavailable = self._new()
            unavailable.unavailable = True
            return unavailable
        if data is None:
            return self._new()
        stored = self.session_class(data, sid=sid)
        stored.loaded_from = self._get_store_id(sid)
        stored.beside = beside
        return stored

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if not session.unavailable:
            super().save_session(app, session, response)

    def regenerate(self, session: Any) -> None:
        """Give the session a new id; whatever was kept under the old one is deleted."""
        self.store.delete_session(get_handle(session.sid))
        session.sid = self._generate_sid(self.sid_length)
        session.loaded_from = None
        session.modified = True

    def _read(self, sid: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The session and the parts kept beside it (PREFETCHED), in one round trip."""
        handle = get_handle(sid)
        keys = [session_key(handle), *(session_key(handle, p) for p in PREFETCHED)]
        data, *rest = self.store.get_many(keys)
        return self._checked(keys[0], data), dict(zip(PREFETCHED, rest, strict=True))

    def _retrieve_session_data(self, store_id: str) -> dict[str, Any] | None:
        return self._checked(store_id, self.store.get(store_id))

    def _checked(self, store_id: str, data: Any) -> dict[str, Any] | None:
        """data if it is a well-formed session; anything else stored there is deleted."""
        if data is None:
            return None
        if not _well_formed(data):
            self.store.delete(store_id)  # unreadable or tampered: treat as no session
            log.warning("discarded unreadable session data at %s", store_id)
            return None
        checked: dict[str, Any] = data
        return checked

    def _upsert_session(self, session_lifetime: Any, session: Any, store_id: str) -> None:
        # A session read from the store is only updated, never re-created: a revoke (or a
        # sign-out elsewhere) that lands while this request runs must stick.
        existing = session.loaded_from == store_id
        ttl = seconds_left(session) or ANONYMOUS_SECONDS
        self.store.put(store_id, dict(session), ttl, xx=existing)

    def _delete_session(self, store_id: str) -> None:
        self.store.delete(store_id)


def _well_formed(data: Any) -> bool:
    """A session is a dict; a signed-in one carries the fields every view relies on, typed."""
    if not isinstance(data, dict):
        return False
    if "user" not in data:
        return True
    user, tokens = data.get("user"), data.get("tokens")
    return (
        isinstance(user, dict)
        and all(isinstance(user.get(k), str) for k in ("iss", "sub"))
        and isinstance(tokens, dict)
        and isinstance(tokens.get("id_token"), str)
        and all(isinstance(data.get(k), int | float) for k in ("signed_in_at", "last_seen"))
    )


def idle_seconds() -> int:
    """The configured idle limit in seconds."""
    return int(current_app.config["SESSION_IDLE_MINUTES"]) * 60


def max_seconds() -> int:
    """The configured absolute limit in seconds."""
    return int(current_app.config["SESSION_MAX_HOURS"]) * 3600


def seconds_left(sess: Any = None) -> float | None:
    """Seconds until the signed-in session ends by idleness or by its absolute limit."""
    sess = session if sess is None else sess
    if "user" not in sess:
        return None
    ends = min(sess["last_seen"] + idle_seconds(), sess["signed_in_at"] + max_seconds())
    return float(ends) - clock.now()


def current() -> PortalSession:
    """This request's session, typed as the portal's own."""
    return cast(PortalSession, session)


def read_beside(part: str) -> Any | None:
    """A part kept beside this request's session: as read with it the first time, then fresh."""
    beside = current().beside
    if beside is not None and part in beside:
        return beside.pop(part)
    return get_store().get(session_key(get_own_handle(), part))


def get_own_handle() -> str:
    """The handle of this request's session."""
    return get_handle(current().sid)


def _app() -> Flask:
    """The app itself (signal senders must be the object receivers subscribed with)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def begin(user: dict[str, Any], tokens: dict[str, Any]) -> None:
    """Replace whatever the session held with this user, under a fresh session id."""
    now = clock.now()
    session.clear()
    session.update(user=user, tokens=tokens, signed_in_at=now, last_seen=now)
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]
    session_started.send(_app(), handle=get_own_handle(), data=session)


def end() -> None:
    """Forget the session: everything kept under it is deleted and the cookie expired."""
    handle = get_own_handle()
    session_ended.send(_app(), handle=handle)
    get_store().delete_session(handle)
    session.clear()
    session.modified = True


def save_now() -> None:
    """Write this request's session to the store at once (not at the end of the request)."""
    left = seconds_left()
    if left is not None and left > 0:
        get_store().put(session_key(get_own_handle()), dict(session), left, xx=True)


def discard(handle: str) -> None:
    """Delete another session and everything kept beside it (revoke, back-channel logout)."""
    get_store().delete_session(handle)


def load(handle: str) -> dict[str, Any] | None:
    """Another session's data, decrypted (the admin pages), or None once it has ended."""
    data = get_store().get(session_key(handle))
    return data if data is not None and _well_formed(data) else None


def get_user() -> dict[str, Any] | None:
    """The signed-in user of this request, or None."""
    return session.get("user")


def sessionless(view: Any) -> Any:
    """Mark a view that never needs the session (health probes), so a Redis outage spares it."""
    view.sessionless = True
    return view


def _enforce_limits() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if request.endpoint == "static" or getattr(view, "sessionless", False):
        return
    if current().unavailable:
        abort(503)
    if "user" not in session:
        return
    left = seconds_left()
    if left is not None and left <= 0:
        log.info("session ended by time limit for %s", session["user"].get("sub"))
        end()
        g.session_expired = True
        return
    # Writing the session back costs a seal and a round trip: only when the activity time moved
    # on by a minute (or something else changed), so the idle limit is exact within a minute.
    if clock.now() - session["last_seen"] >= ACTIVITY_STEP:
        session["last_seen"] = clock.now()


def _no_store(response: Any) -> Any:
    if current().unavailable:
        return response
    if session.get("user") or getattr(g, "session_expired", False):
        headers.no_store(response)
        response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    """Keep sessions in the store, with the cookie settings the portal relies on."""
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.session_interface = PortalSessionInterface(app, app.extensions["webapp.store"])
    app.before_request(_enforce_limits)
    app.after_request(_no_store)
