"""Per-app in-memory state of the devstack IdP: users, SSO sessions, codes, tokens, stats."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from .signing import Signer

EXTENSION = "devstack.idp"
TAGS_CLAIM = "https://aws.amazon.com/tags"
STYLES = ("auth0", "oidc")  # issuer with or without its trailing '/' (see create_idp_app)


@dataclass
class IdpSession:
    """One IdP single-sign-on session (Auth0's `sid`), held by the browser's cookie handle."""

    sid: str
    user: dict[str, Any]
    auth_time: int
    clients: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Principal:
    """The signed-in user as Authlib sees it: seed user, SSO session and requested API."""

    user: dict[str, Any]
    sid: str
    auth_time: int
    audience: str | None = None

    def get_user_id(self) -> str:
        """Return the Auth0 subject, e.g. `auth0|64f…`."""
        return self.user["sub"]


@dataclass
class IssuedToken:
    """An access token as /userinfo looks it up."""

    principal: Principal
    scope: str
    expires_at: float


def check_url_pattern(patterns: list[str], url: str) -> bool:
    """Tell whether url matches one of Auth0's allowed-URL patterns (`*` = any run of chars)."""
    for pattern in patterns:
        regex = ".*".join(re.escape(part) for part in pattern.split("*"))
        if re.fullmatch(regex, url):
            return True
    return False


class IdpState:
    """Everything one IdP app instance remembers; lives in app.extensions."""

    def __init__(self, seed: dict[str, Any], issuer: str, style: str = "auth0") -> None:
        if style not in STYLES:
            raise ValueError(f"issuer style must be one of {STYLES}, got {style!r}")
        self.style = style
        # base: where the endpoints live (always with '/'); issuer: as tokens spell it.
        self.base = issuer.rstrip("/") + "/"
        self.issuer = self.base if style == "auth0" else self.base.rstrip("/")
        self.tenant: dict[str, Any] = dict(seed["tenant"])
        self.users: dict[str, dict[str, Any]] = {u["username"]: dict(u) for u in seed["users"]}
        self.signer = Signer()
        self.lock = threading.Lock()
        self.sessions: dict[str, IdpSession] = {}  # keyed by cookie handle, not by sid
        self.codes: dict[str, Any] = {}
        self.access_tokens: dict[str, IssuedToken] = {}
        self.refresh_tokens: dict[str, Any] = {}
        self.backchannel_urls: list[str] = []
        self.stats: Counter[str] = Counter()
        self.token_delay = 0.0  # seconds the token endpoint waits before answering (tests)
        self.server: Any = None  # the Authlib AuthorizationServer, attached by create_idp_app

    @property
    def client_id(self) -> str:
        """Return the one Auth0 application's client ID."""
        return self.tenant["client_id"]

    def check_password(self, username: str, password: str) -> dict[str, Any] | None:
        """Return the seed user when the credentials are right, else None."""
        user = self.users.get(username)
        if user and secrets.compare_digest(user["password"], password):
            return user
        return None

    def start_session(self, user: dict[str, Any]) -> tuple[str, IdpSession]:
        """Open an SSO session and return its cookie handle and the session."""
        handle = secrets.token_urlsafe(32)
        session = IdpSession(sid=secrets.token_urlsafe(24), user=user, auth_time=int(time.time()))
        with self.lock:
            self.sessions[handle] = session
            self.stats["logins"] += 1
        return handle, session

    def get_session(self, handle: str | None) -> IdpSession | None:
        """Return the SSO session behind a cookie handle, if it is still open."""
        return self.sessions.get(handle) if handle else None

    def end_sessions(
        self, *, handle: str | None = None, sid: str | None = None, sub: str | None = None
    ) -> list[IdpSession]:
        """Close the SSO sessions matching the cookie handle, sid or sub; return them."""
        with self.lock:
            doomed = [
                h
                for h, s in self.sessions.items()
                if (handle and h == handle)
                or (sid and s.sid == sid)
                or (sub and not sid and s.user["sub"] == sub)
            ]
            return [self.sessions.pop(h) for h in doomed]

    def count(self, name: str) -> None:
        """Add one to a stats counter."""
        with self.lock:
            self.stats[name] += 1

    def get_stats(self) -> dict[str, Any]:
        """Return the counters in the shape of GET /_devstack/stats."""
        s = self.stats
        return {
            "token_requests": {
                "authorization_code": s["token:authorization_code"],
                "refresh_token": s["token:refresh_token"],
            },
            "discovery_requests": s["discovery_requests"],
            "jwks_fetches": s["jwks_fetches"],
            "logins": s["logins"],
            "userinfo_requests": s["userinfo_requests"],
            "backchannel_logouts_sent": s["backchannel_logouts_sent"],
        }

    def get_user_claims(self, principal: Principal, scope: str) -> dict[str, Any]:
        """Return the profile claims Auth0 puts in the ID token and /userinfo for this scope."""
        user = principal.user
        scopes = scope.split()
        claims: dict[str, Any] = {"sub": user["sub"]}
        if "profile" in scopes:
            claims["nickname"] = user.get("nickname", user["email"].split("@")[0])
            claims["name"] = user.get("name", user["username"])
            claims["updated_at"] = "2024-01-01T00:00:00.000Z"
        if "email" in scopes:
            claims["email"] = user["email"]
            claims["email_verified"] = bool(user.get("email_verified", True))
        # Auth0 adds namespaced claims from an Action regardless of scope.
        claims[self.tenant["roles_claim"]] = list(user.get("roles", []))
        if user.get("tags"):  # STS session tags, as an Auth0 Action would add them
            principal_tags = {str(k): [str(v)] for k, v in user["tags"].items()}
            claims[TAGS_CLAIM] = {"principal_tags": principal_tags}
        return claims


def get_state() -> IdpState:
    """Return the IdP state of the current app."""
    return current_app.extensions[EXTENSION]
