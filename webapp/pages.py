"""Home page and the health probes."""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Blueprint, Flask, current_app, render_template

from . import clock, credentials, sessions
from .auth.client import check_discovery
from .store import get_store

log = logging.getLogger(__name__)
bp = Blueprint("pages", __name__)
# Load balancers and kubelets probe every few seconds, from every instance: the IdP sees one
# metadata request per instance every IDP_PROBE_SECONDS at most, however often /readyz is hit.
IDP_PROBE_SECONDS = 5.0


@bp.get("/")
def index() -> Any:
    """Signed out: a sign-in button. Signed in: who you are and when the session ends."""
    user = sessions.get_user()
    left = sessions.seconds_left()
    ends_at = clock.now() + left if left is not None else None
    aws = _aws_status() if user else None
    return render_template("pages/index.html", user=user, ends_at=ends_at, aws=aws)


def _aws_status() -> dict[str, Any]:
    """What the home page says about AWS: the assumed role, or why there is none."""
    try:
        return {"state": "ok", "creds": credentials.get_credentials()}
    except credentials.NoRoleError:
        return {"state": "none"}
    except credentials.RoleChoiceNeeded:
        return {"state": "choose"}
    except credentials.StsProblem as problem:
        return {"state": "problem", **credentials.explain(problem)}


@bp.get("/healthz")
@sessions.sessionless
def healthz() -> Any:
    """The process is alive (no dependency is touched)."""
    return {"status": "ok"}


@bp.get("/readyz")
@sessions.sessionless
def readyz() -> Any:
    """Redis answers and the identity provider's metadata is reachable."""
    checks = {
        "redis": _check("redis", lambda: get_store().client.ping()),
        "identity_provider": _idp(),
    }
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


def _idp() -> str:
    """The IdP metadata probe's result, fetched at most once per IDP_PROBE_SECONDS per app."""
    cache = current_app.extensions["webapp.pages"]
    with cache["lock"]:  # concurrent probes wait for one request instead of each sending theirs
        now = clock.now()
        if cache["result"] is None or not 0 <= now - cache["at"] < IDP_PROBE_SECONDS:
            issuer = current_app.config["AUTH0_ISSUER"]
            # Discovery answers and names the configured issuer exactly: an instance started
            # with a misspelt issuer is never ready, and its log names both spellings.
            cache["result"] = _check("identity_provider", lambda: check_discovery(issuer, 2))
            cache["at"] = now
        result: str = cache["result"]
        return result


def _check(name: str, probe: Any) -> str:
    try:
        probe()
    except Exception as exc:  # any failure means "not ready"
        # The answer names the exception; the log says why, in one line ("certificate verify
        # failed", "invalid username-password pair", ...).
        log.warning("not ready: %s: %s: %s", name, type(exc).__name__, exc)
        return f"failed: {type(exc).__name__}"
    return "ok"


def init_app(app: Flask) -> None:
    """Register the home page and the probes."""
    app.extensions["webapp.pages"] = {"lock": threading.Lock(), "result": None, "at": 0.0}
    app.register_blueprint(bp)
