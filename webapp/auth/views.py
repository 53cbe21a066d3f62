"""Sign-in and sign-out: the authorization-code flow run server-side, with bounded pending state."""

from __future__ import annotations

import logging
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.integrations.base_client import OAuthError
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .. import audit, clock, metrics, sessions
from ..tokens import KeysUnavailable, TokenError
from .access import safe_next
from .claims import tokens_from, user_from
from .client import (
    IdpUnavailable,
    IssuerMismatch,
    check_reachable,
    get_client,
    get_sign_out_url,
    idp_call,
)
from .renewal import verify

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

PENDING = "pending_sign_ins"  # in the session: state -> what the callback needs, and until when
PENDING_SECONDS = sessions.ANONYMOUS_SECONDS  # a sign-in must come back within ten minutes
MAX_PENDING = 5  # sign-ins started in one browser and not finished; older ones are dropped
UNREACHABLE = "The sign-in service cannot be reached right now. Try again in a minute."
MISCONFIGURED = "Sign-in is not set up correctly (the identity provider's issuer). Tell the admins."
STALE = "This sign-in link has expired or was started in another browser. Sign in again."


def _remember(state: str, data: dict[str, Any]) -> None:
    """Keep a started sign-in for the callback: at most MAX_PENDING, each PENDING_SECONDS."""
    now = clock.now()
    pending = {s: p for s, p in (session.get(PENDING) or {}).items() if p["exp"] > now}
    pending[state] = {"data": data, "exp": now + PENDING_SECONDS}
    newest = sorted(pending.items(), key=lambda item: item[1]["exp"])[-MAX_PENDING:]
    session[PENDING] = dict(newest)


def _take(state: str) -> dict[str, Any] | None:
    """The pending sign-in for state, used once (None when unknown or expired)."""
    pending = dict(session.get(PENDING) or {})
    entry = pending.pop(state, None)
    if entry is not None:
        session[PENDING] = pending
    if not isinstance(entry, dict) or entry.get("exp", 0) <= clock.now():
        return None
    data: dict[str, Any] = entry["data"]
    return data


@bp.get("/login")
def login() -> Any:
    """Send the browser to the IdP with state, nonce and PKCE bound to this browser."""
    redirect_uri = url_for("auth.callback", _external=True)
    extra = {}
    if current_app.config["AUTH0_AUDIENCE"]:
        extra["audience"] = current_app.config["AUTH0_AUDIENCE"]
    if request.args.get("prompt") == "login":
        extra["prompt"] = "login"
    try:
        check_reachable()
        with idp_call():
            rv = get_client().create_authorization_url(redirect_uri, **extra)
    except IssuerMismatch as exc:
        log.error("%s", exc)  # one line naming both issuers, for the operator
        metrics.count_sign_in("idp_unavailable")
        abort(503, MISCONFIGURED)
    except IdpUnavailable as exc:
        log.warning("identity provider metadata unavailable: %s", exc)
        metrics.count_sign_in("idp_unavailable")
        abort(503, UNREACHABLE)
    data = {k: rv.get(k) for k in ("nonce", "code_verifier")}
    _remember(
        rv["state"],
        {**data, "redirect_uri": redirect_uri, "next": safe_next(request.args.get("next"))},
    )
    return redirect(rv["url"])


@bp.get("/callback")
def callback() -> Any:
    """Accept the IdP's answer only for a state this browser holds and a fully verified ID token."""
    data = _take(request.args.get("state", ""))
    if request.args.get("error"):
        return _denied(request.args["error"], request.args.get("error_description", ""), data)
    if not data:
        metrics.count_sign_in("stale")
        abort(
            400, "This sign-in link has expired or was started in another browser. Sign in again."
        )
    try:
        with idp_call():
            token = get_client().fetch_access_token(
                code=request.args.get("code", ""),
                redirect_uri=data["redirect_uri"],
                code_verifier=data.get("code_verifier"),
            )
        claims = verify(token.get("id_token") or "", nonce=data.get("nonce") or "")
    except OAuthError as exc:
        log.warning("code exchange failed: %s", exc)
        metrics.count_sign_in("code_refused")
        abort(400, "The sign-in could not be completed (the code was refused). Sign in again.")
    except TokenError as exc:
        log.warning("ID token rejected at sign-in: %s", exc.reason)
        metrics.count_sign_in("rejected_token")
        abort(401, f"Sign-in rejected: {exc.reason}")
    except (IdpUnavailable, KeysUnavailable) as exc:
        log.warning("sign-in could not reach the identity provider: %s", exc)
        metrics.count_sign_in("idp_unavailable")
        abort(503, UNREACHABLE)
    user = user_from(claims, current_app.config["AUTH0_ROLES_CLAIM"])
    sessions.begin(user, tokens_from(token))
    session["roles_checked_at"] = session["signed_in_at"]
    log.info("signed in %s", claims["sub"])
    audit.record("sign_in", actor=claims["sub"])
    metrics.count_sign_in("ok")
    return redirect(safe_next(data.get("next")))


def _denied(error: str, description: str, pending: dict[str, Any] | None) -> Any:
    """The IdP's refusal; its words are shown only for a sign-in this browser started."""
    log.info("identity provider returned error=%s (sign-in pending: %s)", error, bool(pending))
    metrics.count_sign_in("denied" if pending else "stale")
    if not pending:
        abort(
            400, "This sign-in link has expired or was started in another browser. Sign in again."
        )
    status = 403 if error in ("access_denied", "unauthorized") else 400
    return render_template("auth/denied.html", error=error, description=description), status


@bp.post("/logout")
def logout() -> Any:
    """End the server session, then the IdP's session, and come back home.

    OpenID Connect RP-initiated logout when the IdP's discovery document advertises an
    end_session_endpoint; Auth0's /v2/logout for a tenant without it; otherwise (an IdP with
    no logout endpoint, or one that cannot be reached) straight home.
    """
    sub = (sessions.get_user() or {}).get("sub")
    id_token = (session.get("tokens") or {}).get("id_token")
    sessions.end()
    log.info("signed out %s", sub)
    audit.record("sign_out", actor=sub)
    home = url_for("pages.index", _external=True)
    client_id = current_app.config["AUTH0_CLIENT_ID"]
    target = get_sign_out_url()
    if target is None:
        log.info("the identity provider offers no sign-out endpoint; its session stays open")
        return redirect(home)
    kind, url = target
    if kind == "auth0":
        return redirect(add_params_to_uri(url, [("client_id", client_id), ("returnTo", home)]))
    params = [("client_id", client_id), ("post_logout_redirect_uri", home)]
    if id_token:
        params.append(("id_token_hint", id_token))
    return redirect(add_params_to_uri(url, params))
