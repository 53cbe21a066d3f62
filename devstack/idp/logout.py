"""Logout endpoints of the devstack IdP (/v2/logout, /oidc/logout) and back-channel logout."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable
from typing import Any

import requests
from authlib.common.urls import add_params_to_uri
from flask import Blueprint, make_response, redirect, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .oidc import SSO_COOKIE, render_message
from .state import IdpState, check_url_pattern, get_state

bp = Blueprint("idp_logout", __name__)
log = logging.getLogger(__name__)

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
BACKCHANNEL_TIMEOUT = 2.0


@bp.get("/v2/logout")
def v2_logout() -> Any:
    """End the SSO session Auth0-style; returnTo must be an allowed logout URL."""
    state = get_state()
    client_id = request.args.get("client_id")
    return_to = request.args.get("returnTo")
    if client_id and client_id != state.client_id:
        return render_message("invalid_request", f"Unknown client: {client_id}", 400)
    if return_to and not check_url_pattern(state.tenant["logout_urls"], return_to):
        text = (
            f'The "returnTo" querystring parameter "{return_to}" is not defined as a valid URL '
            'in "Allowed Logout URLs".'
        )
        return render_message("invalid_request", text, 400)
    return end_session(state, return_to)


@bp.route("/oidc/logout", methods=["GET", "POST"])
def oidc_logout() -> Any:
    """End the SSO session by OpenID Connect RP-initiated logout."""
    state = get_state()
    hint = request.values.get("id_token_hint")
    target = request.values.get("post_logout_redirect_uri")
    client_id = request.values.get("client_id")
    claims: dict[str, Any] = {}
    if hint:
        claims = check_id_token_hint(state, hint) or {}
        if not claims:
            return render_message("invalid_request", "Invalid id_token_hint.", 400)
        client_id = client_id or claims.get("aud")
    if client_id and client_id != state.client_id:
        return render_message("invalid_request", f"Unknown client: {client_id}", 400)
    if target:
        if not client_id:
            text = "post_logout_redirect_uri needs id_token_hint or client_id."
            return render_message("invalid_request", text, 400)
        if not check_url_pattern(state.tenant["logout_urls"], target):
            text = f'"post_logout_redirect_uri" "{target}" is not an allowed logout URL.'
            return render_message("invalid_request", text, 400)
        if request.values.get("state"):
            target = add_params_to_uri(target, [("state", request.values["state"])])
    return end_session(state, target, fallback_sid=claims.get("sid"))


def end_session(state: IdpState, target: str | None, fallback_sid: str | None = None) -> Any:
    """Close the browser's SSO session (or the hinted one), notify RPs, redirect or confirm."""
    handle = request.cookies.get(SSO_COOKIE)
    if state.get_session(handle):
        ended = state.end_sessions(handle=handle)
    else:
        ended = state.end_sessions(sid=fallback_sid) if fallback_sid else []
    for session in ended:
        send_backchannel_logout(state, session.user["sub"], session.sid, session.clients)
    if target:
        response = redirect(target)
    else:
        response = make_response(render_message("Signed out", "You are signed out."))
    response.delete_cookie(SSO_COOKIE)
    return response


def check_id_token_hint(state: IdpState, hint: str) -> dict[str, Any] | None:
    """Return the claims of an ID token this IdP signed (expired is fine), else None."""
    try:
        token = jwt.decode(hint, KeySet(list(state.signer.keys)), algorithms=["RS256"])
    except (JoseError, ValueError):
        return None
    if token.claims.get("iss") != state.issuer:
        return None
    return token.claims


def send_backchannel_logout(
    state: IdpState, sub: str, sid: str | None, client_ids: Iterable[str] = ()
) -> int:
    """POST a logout token to every registered back-channel URL; return how many were sent."""
    sent = 0
    for client_id in sorted(set(client_ids) or {state.client_id}):
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": state.issuer,
            "aud": client_id,
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(16),
            "sub": sub,
            "events": {LOGOUT_EVENT: {}},
        }
        if sid:
            claims["sid"] = sid
        logout_token = state.signer.sign("logout_token", claims, typ="logout+jwt")
        for url in list(state.backchannel_urls):
            try:
                requests.post(url, data={"logout_token": logout_token}, timeout=BACKCHANNEL_TIMEOUT)
            except requests.RequestException as exc:
                log.warning("back-channel logout to %s failed: %s", url, exc)
                continue
            state.count("backchannel_logouts_sent")
            sent += 1
    return sent
