"""Sign-in with Auth0: the authorization-code flow run server-side, and the access decorators."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from . import audit, clock, sessions
from .tokens import KeySetCache, TokenError, verify_id_token

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
SCOPE = "openid profile email offline_access"


def init_app(app: Flask) -> None:
    """Register the Auth0 client (one OAuth registry per app) and the sign-in routes."""
    issuer = app.config["AUTH0_ISSUER"]
    oauth = OAuth(app)
    client = oauth.register(
        "auth0",
        client_id=app.config["AUTH0_CLIENT_ID"],
        client_secret=app.config["AUTH0_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256", "timeout": 5},
    )
    app.extensions["webapp.auth"] = {
        "client": client,
        "keys": KeySetCache(lambda: _fetch_json(client.load_server_metadata()["jwks_uri"])),
    }
    app.register_blueprint(bp)


def _fetch_json(url: str) -> dict[str, Any]:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def get_client() -> Any:
    """The Authlib client registered for this app."""
    return current_app.extensions["webapp.auth"]["client"]


def safe_next(target: str | None) -> str:
    """Return target if it is a same-origin relative path, else '/'."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


@bp.get("/login")
def login() -> Any:
    """Send the browser to Auth0 with state, nonce and PKCE bound to this session."""
    client = get_client()
    redirect_uri = url_for("auth.callback", _external=True)
    extra = {}
    if current_app.config["AUTH0_AUDIENCE"]:
        extra["audience"] = current_app.config["AUTH0_AUDIENCE"]
    if request.args.get("prompt") == "login":
        extra["prompt"] = "login"
    try:
        rv = client.create_authorization_url(redirect_uri, **extra)
    except (requests.RequestException, ValueError) as exc:
        log.warning("identity provider metadata unavailable: %s", exc)
        abort(503, "The sign-in service cannot be reached right now. Try again in a minute.")
    client.save_authorize_data(
        redirect_uri=redirect_uri, next=safe_next(request.args.get("next")), **rv
    )
    return redirect(rv["url"])


@bp.get("/callback")
def callback() -> Any:
    """Accept Auth0's answer only for a state this browser holds, and a fully verified ID token."""
    client = get_client()
    state = request.args.get("state", "")
    data = client.framework.get_state_data(session, state) if state else None
    if state:
        client.framework.clear_state_data(session, state)  # one use only, whatever happens next
    if request.args.get("error"):
        return _denied(request.args["error"], request.args.get("error_description", ""))
    if not data:
        abort(
            400, "This sign-in link has expired or was started in another browser. Sign in again."
        )
    try:
        token = client.fetch_access_token(
            code=request.args.get("code", ""),
            redirect_uri=data["redirect_uri"],
            code_verifier=data.get("code_verifier"),
        )
    except (OAuthError, requests.RequestException) as exc:
        log.warning("code exchange failed: %s", exc)
        abort(400, "The sign-in could not be completed (the code was refused). Sign in again.")
    try:
        claims = verify_id_token(
            token.get("id_token") or "",
            keys=current_app.extensions["webapp.auth"]["keys"],
            issuer=current_app.config["AUTH0_ISSUER"],
            client_id=current_app.config["AUTH0_CLIENT_ID"],
            nonce=data.get("nonce") or "",
        )
    except TokenError as exc:
        log.warning("ID token rejected at sign-in: %s", exc.reason)
        abort(401, f"Sign-in rejected: {exc.reason}")
    except requests.RequestException as exc:
        log.warning("identity provider keys unavailable: %s", exc)
        abort(503, "The sign-in service cannot be reached right now. Try again in a minute.")
    sessions.begin(_user_from(claims), _tokens_from(token))
    log.info("signed in %s", claims["sub"])
    audit.record("sign_in", actor=claims["sub"])
    return redirect(safe_next(data.get("next")))


class RenewalFailed(Exception):
    """The identity provider would not renew the tokens."""


def renew_tokens(refresh_token: str) -> dict[str, Any]:
    """Trade the refresh token for fresh tokens whose ID token passes the sign-in checks."""
    try:
        token = get_client().fetch_access_token(
            grant_type="refresh_token", refresh_token=refresh_token
        )
    except (OAuthError, requests.RequestException) as exc:
        raise RenewalFailed(str(exc)) from exc
    verify_id_token(
        token.get("id_token") or "",
        keys=current_app.extensions["webapp.auth"]["keys"],
        issuer=current_app.config["AUTH0_ISSUER"],
        client_id=current_app.config["AUTH0_CLIENT_ID"],
        nonce=None,
    )
    return {**_tokens_from(token), "refresh_token": token.get("refresh_token") or refresh_token}


def _user_from(claims: dict[str, Any]) -> dict[str, Any]:
    roles = claims.get(current_app.config["AUTH0_ROLES_CLAIM"])
    return {
        "iss": claims["iss"],
        "sub": claims["sub"],
        "name": str(claims.get("name") or claims.get("nickname") or claims["sub"]),
        "email": str(claims.get("email") or ""),
        "roles": [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else [],
        "sid": str(claims.get("sid") or ""),
    }


def _tokens_from(token: dict[str, Any]) -> dict[str, Any]:
    expires_in = token.get("expires_in")
    return {
        "id_token": token["id_token"],
        "access_token": token.get("access_token") or "",
        "refresh_token": token.get("refresh_token") or "",
        "expires_at": clock.now() + int(expires_in) if expires_in else None,
    }


def _denied(error: str, description: str) -> Any:
    log.info("identity provider returned error=%s", error)
    status = 403 if error in ("access_denied", "unauthorized") else 400
    return render_template("auth/denied.html", error=error, description=description), status


@bp.post("/logout")
def logout() -> Any:
    """End the server session, then end the Auth0 session and come back home."""
    sub = (sessions.get_user() or {}).get("sub")
    sessions.end()
    log.info("signed out %s", sub)
    audit.record("sign_out", actor=sub)
    query = urlencode(
        {
            "client_id": current_app.config["AUTH0_CLIENT_ID"],
            "returnTo": url_for("pages.index", _external=True),
        }
    )
    return redirect(f"{current_app.config['AUTH0_ISSUER']}v2/logout?{query}")


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anonymous visitors to sign in, then back here."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if sessions.get_user() is None:
            if request.method != "GET":
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed in with ADMIN_ROLE in the verified ID token's roles claim, else 403."""

    @login_required
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_app.config["ADMIN_ROLE"] not in (sessions.get_user() or {}).get("roles", []):
            abort(403, "This page is for administrators.")
        return view(*args, **kwargs)

    return wrapped
