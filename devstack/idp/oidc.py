"""OIDC endpoints of the devstack IdP: discovery, JWKS, authorize (login form), token, userinfo."""

from __future__ import annotations

import time
from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError
from flask import Blueprint, Response, jsonify, render_template, request

from .state import IdpSession, IdpState, Principal, get_state

bp = Blueprint("idp", __name__)

# Auth0's own SSO cookie name; it does not clash with the portal's Flask session cookie
# even though both live on 127.0.0.1 (cookies ignore the port).
SSO_COOKIE = "auth0"
FORM_FIELDS = ("username", "password", "login", "decline")
DECLINED = "User did not authorize the request"
CLAIMS_SUPPORTED = [
    *("aud", "auth_time", "email", "email_verified", "exp", "iat", "iss", "name", "nickname"),
    *("nonce", "sid", "sub", "updated_at"),
]


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    """Serve the OpenID Provider metadata with Auth0's endpoint paths."""
    state = get_state()
    state.count("discovery_requests")
    base = state.base
    # Auth0 names end_session_endpoint only when RP-initiated logout discovery is switched on.
    logout = {"end_session_endpoint": base + "oidc/logout"} if state.style == "oidc" else {}
    return jsonify(
        issuer=state.issuer,
        authorization_endpoint=base + "authorize",
        token_endpoint=base + "oauth/token",
        userinfo_endpoint=base + "userinfo",
        jwks_uri=base + ".well-known/jwks.json",
        **logout,
        response_types_supported=["code"],
        response_modes_supported=["query"],
        grant_types_supported=["authorization_code", "refresh_token"],
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=["RS256"],
        scopes_supported=["openid", "profile", "email", "offline_access"],
        claims_supported=CLAIMS_SUPPORTED,
        code_challenge_methods_supported=["S256", "plain"],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        backchannel_logout_supported=True,
        backchannel_logout_session_supported=True,
    )


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """Serve the public signing keys."""
    state = get_state()
    state.count("jwks_fetches")
    return jsonify(state.signer.get_jwks())


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    """Run the authorization endpoint: SSO shortcut, login form, decline, code redirect."""
    state = get_state()
    server = state.server
    session = state.get_session(request.cookies.get(SSO_COOKIE))
    # A form post always re-authenticates, so the SSO session only counts on GET.
    end_user = get_principal(session) if session and request.method == "GET" else None
    try:
        grant = server.get_consent_grant(end_user=end_user)
    except OAuth2Error as error:
        return render_oauth_error(state, error)
    if request.method == "POST":
        if "decline" in request.form:
            error = AccessDeniedError(
                DECLINED, redirect_uri=grant.redirect_uri, state=request.values.get("state")
            )
            return server.handle_error_response(None, error)
        user = state.check_password(
            request.form.get("username", ""), request.form.get("password", "")
        )
        if user is None:
            return render_login(state, error="Wrong username or password."), 400
        handle, session = state.start_session(user)
        response = server.create_authorization_response(
            grant=grant, grant_user=get_principal(session)
        )
        response.set_cookie(SSO_COOKIE, handle, httponly=True, samesite="Lax")
        return response
    if end_user is None or grant.prompt == "login":
        return render_login(state)
    return server.create_authorization_response(grant=grant, grant_user=end_user)


@bp.post("/oauth/token")
def token() -> Response:
    """Run the token endpoint (authorization_code and refresh_token grants)."""
    state = get_state()
    grant_type = request.form.get("grant_type")
    if grant_type in ("authorization_code", "refresh_token"):
        state.count(f"token:{grant_type}")
    if state.token_delay:
        time.sleep(state.token_delay)
    return state.server.create_token_response()


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Any:
    """Return the user's profile for a Bearer access token (opaque or JWT)."""
    state = get_state()
    state.count("userinfo_requests")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    issued = state.access_tokens.get(value) if scheme.lower() == "bearer" else None
    if issued is None or issued.expires_at < time.time():
        response = jsonify(error="invalid_token", error_description="Unauthorized")
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response, 401
    return jsonify(state.get_user_claims(issued.principal, issued.scope))


def get_principal(session: IdpSession) -> Principal:
    """Return the Authlib user for an SSO session."""
    return Principal(session.user, session.sid, session.auth_time)


def render_login(state: IdpState, error: str | None = None) -> str:
    """Render the login form, carrying the authorization request in hidden fields."""
    hidden = [(k, v) for k, v in request.values.items(multi=True) if k not in FORM_FIELDS]
    return render_template(
        "devstack/login.html",
        hidden=hidden,
        client_id=state.client_id,
        username=request.form.get("username", ""),
        error=error,
    )


def render_oauth_error(state: IdpState, error: OAuth2Error) -> Any:
    """Redirect an error to a validated redirect_uri, or show it when there is none."""
    if error.redirect_uri:
        return state.server.handle_error_response(None, error)
    return render_message(error.error, error.description or "", 400)


def render_message(title: str, text: str, status: int = 200) -> tuple[str, int]:
    """Render a plain IdP page (errors, signed out)."""
    return render_template("devstack/message.html", title=title, text=text), status
