"""Server-side sessions on Redis: sealed at rest, idle and absolute limits, new id at sign-in."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any
from urllib.parse import urlsplit

import redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, abort, current_app, g, has_request_context, request, session
from flask_session.redis import RedisSessionInterface

from . import registry
from .config import is_loopback_host

log = logging.getLogger(__name__)

COOKIE_NAME = "__Host-session"
DEV_COOKIE_NAME = "session"  # plain http on loopback only: browsers refuse __Host- without Secure
KEY_PREFIX = "portal:session:"
# Kept beside each session under its id, sealed, and deleted with it.
CREDENTIALS_PREFIX = "portal:aws:"  # the AWS credentials
LISTINGS_PREFIX = "portal:listing:"  # the ~30 s cache of resource listings
_SID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
clock = time.time  # the app's notion of now; tests travel in time by replacing it


class SessionCipher:
    """AES-GCM with a key derived from SECRET_KEY; the Redis key is bound in as associated data."""

    _VERSION = b"\x01"

    def __init__(self, secret_key: str) -> None:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"aws-portal/session/v1")
        self._aead = AESGCM(hkdf.derive(secret_key.encode()))

    def seal(self, plaintext: bytes, bound_to: str) -> bytes:
        """Encrypt and authenticate plaintext for one Redis key."""
        nonce = os.urandom(12)
        return self._VERSION + nonce + self._aead.encrypt(nonce, plaintext, bound_to.encode())

    def open(self, blob: bytes, bound_to: str) -> bytes | None:
        """Return the plaintext, or None for anything we did not seal for this key."""
        if len(blob) < 29 or blob[:1] != self._VERSION:
            return None
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], bound_to.encode())
        except InvalidTag:
            return None


def _plain_http_loopback() -> bool:
    """True when this request is plain http to a loopback host (local development only)."""
    return (
        has_request_context()
        and not request.is_secure
        and is_loopback_host(urlsplit("//" + request.host).hostname)
    )


class PortalSessionInterface(RedisSessionInterface):
    """Flask-Session's Redis store, with sealed JSON instead of msgpack-or-pickle."""

    def __init__(self, app: Flask, client: redis.Redis, cipher: SessionCipher) -> None:
        super().__init__(app, client=client, key_prefix=KEY_PREFIX, permanent=False)
        self.cipher = cipher

    def get_cookie_name(self, app: Flask) -> str:
        return DEV_COOKIE_NAME if _plain_http_loopback() else COOKIE_NAME

    def get_cookie_secure(self, app: Flask) -> bool:
        return not _plain_http_loopback()

    def open_session(self, app: Flask, request: Any) -> Any:
        sid = request.cookies.get(self.get_cookie_name(app), "")
        try:
            data = self._retrieve_session_data(self._get_store_id(sid)) if _SID.match(sid) else None
        except redis.RedisError:
            log.exception("session store unreachable")
            unavailable = self.session_class(sid=self._generate_sid(self.sid_length))
            unavailable.unavailable = True
            return unavailable
        if data is None:
            return self.session_class(sid=self._generate_sid(self.sid_length))
        stored = self.session_class(data, sid=sid)
        stored.loaded_from = self._get_store_id(sid)
        return stored

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if getattr(session, "unavailable", False):
            return
        super().save_session(app, session, response)

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        blob = self.client.get(store_id)
        if blob is None:
            return None
        plaintext = self.cipher.open(blob, store_id)
        data = _load_json(plaintext) if plaintext is not None else None
        if data is None or not _well_formed(data):
            log.warning("discarding unreadable session data at %s", store_id)
            self.client.delete(store_id)
            return None
        return data

    def _upsert_session(self, session_lifetime: Any, session: Any, store_id: str) -> None:
        blob = self.cipher.seal(json.dumps(dict(session)).encode(), store_id)
        # A session read from the store is only updated, never re-created: a revoke (or a
        # sign-out elsewhere) that lands while this request runs must stick.
        existing = getattr(session, "loaded_from", None) == store_id
        ttl = max(1, int(seconds_left(session) or idle_seconds()))
        self.client.set(store_id, blob, ex=ttl, xx=existing)


def _load_json(plaintext: bytes) -> dict | None:
    try:
        data = json.loads(plaintext)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _well_formed(data: dict) -> bool:
    """A signed-in session must carry the fields every view relies on, with the right types."""
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
    return current_app.config["SESSION_IDLE_MINUTES"] * 60


def seconds_left(sess: Any = None) -> float | None:
    """Seconds until the signed-in session ends by idleness or by its absolute limit."""
    sess = session if sess is None else sess
    if "user" not in sess:
        return None
    max_seconds = current_app.config["SESSION_MAX_HOURS"] * 3600
    ends = min(sess["last_seen"] + idle_seconds(), sess["signed_in_at"] + max_seconds)
    return ends - clock()


def begin(user: dict[str, Any], tokens: dict[str, Any]) -> None:
    """Replace whatever the session held with this user, under a fresh session id."""
    now = clock()
    session.clear()
    session.update(user=user, tokens=tokens, signed_in_at=now, last_seen=now)
    # Regenerate after storing the user: Flask-Session skips an empty session.
    current_app.session_interface.regenerate(session)
    registry.sync(session.sid, session)


def end() -> None:
    """Forget the session: its Redis key is deleted and the cookie expired on this response."""
    registry.remove(session.sid)
    get_redis().delete(*_beside(session.sid))
    session.clear()  # the store deletes the session key itself when this response is saved
    session.modified = True


def discard(sid: str) -> None:
    """Delete another session and everything kept beside it (revoke, back-channel logout)."""
    get_redis().delete(KEY_PREFIX + sid, *_beside(sid))


def _beside(sid: str) -> list[str]:
    return [CREDENTIALS_PREFIX + sid, LISTINGS_PREFIX + sid]


def load(sid: str) -> dict[str, Any] | None:
    """Another session's data, decrypted (the admin pages), or None once it has ended."""
    return current_app.session_interface._retrieve_session_data(KEY_PREFIX + sid)


def get_user() -> dict[str, Any] | None:
    """The signed-in user of this request, or None."""
    return session.get("user")


def get_redis() -> redis.Redis:
    """The app's Redis client (shared by sessions, locks and the registry)."""
    return current_app.extensions["webapp.sessions"]["redis"]


def sessionless(view: Any) -> Any:
    """Mark a view that never needs the session (health probes), so a Redis outage spares it."""
    view.sessionless = True
    return view


def _enforce_limits() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if request.endpoint == "static" or getattr(view, "sessionless", False):
        return
    if getattr(session, "unavailable", False):
        abort(503)
    if "user" not in session:
        return
    left = seconds_left()
    if left is not None and left <= 0:
        log.info("session ended by time limit for %s", session["user"].get("sub"))
        end()
        g.session_expired = True
        return
    session["last_seen"] = clock()


def _no_store(response: Any) -> Any:
    if getattr(session, "unavailable", False):
        return response
    if session.get("user") or getattr(g, "session_expired", False):
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    """Put the session store on Redis, with short timeouts so an outage answers 503 quickly."""
    client = redis.Redis.from_url(
        app.config["REDIS_URL"],
        socket_connect_timeout=1,
        socket_timeout=1,
        health_check_interval=15,
    )
    app.extensions["webapp.sessions"] = {"redis": client}
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.session_interface = PortalSessionInterface(
        app, client, SessionCipher(app.config["SECRET_KEY"])
    )
    app.before_request(_enforce_limits)
    app.after_request(_no_store)
