"""The identity provider client: discovery, code and refresh grants, JWKS, all bounded in time.

Every call to the IdP has a timeout, and at most IDP_CONCURRENCY of them run at once per
process: a hung IdP can hold a few threads of a worker, never all of them, so health probes
and signed-in pages that need no IdP keep answering.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import requests
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from .. import clock
from ..config import ConfigError, discovery_url, issuer_mismatch
from ..tokens import KeySetCache

SCOPE = "openid profile email offline_access"
IDP_CONCURRENCY = 4  # per process; gunicorn runs 8 threads per worker by default
IDP_WAIT_SECONDS = 0.5  # how long a request waits for a free slot before answering 503
REACHABLE_FOR = 5.0  # seconds a successful reachability check of the IdP is trusted


class IdpUnavailable(Exception):
    """The identity provider cannot be asked right now (busy, unreachable or too slow)."""


class IssuerMismatch(IdpUnavailable):
    """The IdP's discovery document names another issuer than the configured one."""


def _state() -> dict[str, Any]:
    state: dict[str, Any] = current_app.extensions["webapp.auth"]
    return state


def get_client() -> Any:
    """The Authlib client registered for this app."""
    return _state()["client"]


def get_keys() -> KeySetCache:
    """The issuer's published signing keys (cached, refetched on an unknown kid)."""
    keys: KeySetCache = _state()["keys"]
    return keys


@contextlib.contextmanager
def idp_call() -> Iterator[None]:
    """Hold one of the process's IdP call slots; IdpUnavailable when none frees up quickly."""
    slots: threading.BoundedSemaphore = _state()["slots"]
    if not slots.acquire(timeout=IDP_WAIT_SECONDS):
        raise IdpUnavailable("too many sign-in requests are waiting for the identity provider")
    try:
        yield
    except requests.RequestException as exc:
        raise IdpUnavailable(
            f"the identity provider did not answer ({type(exc).__name__})"
        ) from exc
    finally:
        slots.release()


def check_reachable() -> None:
    """IdpUnavailable unless the IdP answered its discovery URL in the last few seconds.

    Sign-in sends the browser to the IdP: a dead IdP should get our error page, not the
    browser's. Authlib caches the metadata, so without this nothing would notice. The answer
    must name the configured issuer exactly (IssuerMismatch otherwise): tokens carry the IdP's
    spelling, and both the portal and STS compare it character for character.
    """
    state = _state()
    if clock.now() - state["reachable_at"] < REACHABLE_FOR:
        return
    with idp_call():
        check_discovery(
            current_app.config["AUTH0_ISSUER"], current_app.config["HTTP_TIMEOUT_SECONDS"]
        )
    state["reachable_at"] = clock.now()


def check_discovery(issuer: str, timeout: float) -> None:
    """The IdP's discovery document answers and names issuer exactly; requests' errors as
    raised, IssuerMismatch (one line naming both spellings) when it names another."""
    response = requests.get(discovery_url(issuer), timeout=timeout)
    response.raise_for_status()
    try:
        document = response.json()
    except ValueError:
        document = None
    found = document.get("issuer") if isinstance(document, dict) else None
    problem = issuer_mismatch(issuer, found)
    if problem:
        raise IssuerMismatch(problem)


def check_issuer_at_start(app: Flask) -> None:
    """ConfigError when the IdP's discovery document names another issuer than the configured one.

    The classic mistake (a slash too many or too few) then stops start-up with one line naming
    both spellings. An IdP that cannot be asked yet only gets a warning: /readyz keeps the
    instance out of rotation until it answers, and repeats this check then.
    """
    with app.app_context():
        try:
            check_reachable()
        except IssuerMismatch as exc:
            raise ConfigError(str(exc)) from None
        except IdpUnavailable as exc:  # idp_call turns requests' errors into this
            app.logger.warning("start-up: could not check the issuer against discovery: %s", exc)


def get_sign_out_url() -> tuple[str, str] | None:
    """Where the IdP ends its own session: ("oidc", end_session_endpoint) when discovery names
    one (RP-initiated logout), ("auth0", ISSUER/v2/logout) for an Auth0 tenant without it, None
    for other IdPs without one (Google) or when the IdP cannot be asked right now.
    """
    try:
        with idp_call():
            metadata = get_client().load_server_metadata()
    except (IdpUnavailable, ValueError):
        return None
    endpoint = metadata.get("end_session_endpoint")
    if isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")):
        return "oidc", endpoint
    base = current_app.config["AUTH0_ISSUER"].rstrip("/") + "/"
    if metadata.get("token_endpoint") == base + "oauth/token":  # Auth0's endpoint layout
        return "auth0", base + "v2/logout"
    return None


def init_app(app: Flask) -> None:
    """Register the OIDC client (one OAuth registry per app) and the JWKS cache."""
    issuer, timeout = app.config["AUTH0_ISSUER"], app.config["HTTP_TIMEOUT_SECONDS"]
    oauth = OAuth(app)
    client = oauth.register(
        "auth0",
        client_id=app.config["AUTH0_CLIENT_ID"],
        client_secret=app.config["AUTH0_CLIENT_SECRET"],
        server_metadata_url=discovery_url(issuer),
        # Authlib's requests session reads default_timeout (a plain "timeout" is ignored).
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256", "default_timeout": timeout},
    )
    slots = threading.BoundedSemaphore(IDP_CONCURRENCY)

    def fetch_jwks() -> dict[str, Any]:
        with app.app_context(), idp_call():  # a context of its own: also used outside requests
            response = requests.get(client.load_server_metadata()["jwks_uri"], timeout=timeout)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return document

    app.extensions["webapp.auth"] = {
        "client": client,
        "keys": KeySetCache(fetch_jwks),
        "slots": slots,
        "reachable_at": float("-inf"),
    }
