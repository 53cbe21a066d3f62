"""OpenID Connect Back-Channel Logout 1.0: the IdP says a user signed out; end their sessions."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import redis
from flask import Blueprint, Flask, current_app, jsonify, request

from . import audit, clock, headers, metrics, session_index, sessions
from .auth import get_keys
from .extensions import csrf
from .store import get_store, global_key
from .tokens import KeySetCache, KeysUnavailable, TokenError, decode_unverified, verify_signature

log = logging.getLogger(__name__)
bp = Blueprint("backchannel", __name__)

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
ACCEPTED_TYP = (None, "JWT", "logout+jwt")
MAX_AGE = 300  # seconds a logout token stays acceptable after its iat
LEEWAY = 60


def check_logout_token(
    token: str, *, keys: KeySetCache, issuer: str, client_id: str, now: float
) -> dict[str, Any]:
    """Return the claims of a valid logout token (spec section 2.6), else raise TokenError."""
    if decode_unverified(token).header.get("typ") not in ACCEPTED_TYP:
        raise TokenError("The token's typ is not logout+jwt.")
    claims = verify_signature(token, keys)
    if claims.get("iss") != issuer:
        raise TokenError("The issuer (iss) is not this app's identity provider.")
    aud = claims.get("aud")
    if client_id not in (aud if isinstance(aud, list) else [aud]):
        raise TokenError("The audience (aud) does not include this app.")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise TokenError("The token has no issue time (iat).")
    if not now - MAX_AGE <= iat <= now + LEEWAY:
        raise TokenError("The issue time (iat) is too old or in the future.")
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or exp + LEEWAY < now):
        raise TokenError("The token has expired.")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(LOGOUT_EVENT), dict):
        raise TokenError("The events claim lacks the back-channel logout event.")
    if not _text(claims.get("sid")) and not _text(claims.get("sub")):
        raise TokenError("The token names neither a session (sid) nor a subject (sub).")
    if "nonce" in claims:
        raise TokenError("A logout token must not carry a nonce.")
    return claims


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _refuse(reason: str, status: int = 400) -> Any:
    log.warning("back-channel logout refused: %s", reason)
    metrics.count_backchannel_logout(accepted=False)
    return headers.no_store(jsonify(error="invalid_request", error_description=reason)), status


@bp.post("/backchannel-logout")
@sessions.sessionless
def backchannel_logout() -> Any:
    """End the sessions a valid logout token names: by IdP session id, else all of the subject's."""
    config, token = current_app.config, request.form.get("logout_token", "")
    try:
        claims = check_logout_token(
            token,
            keys=get_keys(),
            issuer=config["AUTH0_ISSUER"],
            client_id=config["AUTH0_CLIENT_ID"],
            now=clock.now(),
        )
    except TokenError as error:
        return _refuse(error.reason)
    except KeysUnavailable:
        return _refuse("The identity provider's keys could not be fetched.", 503)
    sub = claims["sub"] if _text(claims.get("sub")) else None
    sid = claims["sid"] if _text(claims.get("sid")) else None
    try:
        if not _first_use(claims.get("jti") or token):
            return _refuse("This logout token was already used.")
        if sid:
            ended = session_index.revoke_idp_session(config["AUTH0_ISSUER"], sid, sub)
        else:
            user_key = session_index.get_user_key(config["AUTH0_ISSUER"], str(sub))
            ended = session_index.revoke_user(user_key)
    except redis.RedisError:
        log.exception("session store unreachable during back-channel logout")
        return _refuse("The session store is unavailable; try again.", 503)
    audit.record("backchannel_logout", target=sub, idp_sid=sid, ended=len(ended))
    metrics.count_backchannel_logout(accepted=True)
    return headers.no_store(jsonify(ended=len(ended)))


# The IdP, not a browser, posts here: the logout token is the credential, not a CSRF token.
csrf.exempt(backchannel_logout)


def _first_use(jti: Any) -> bool:
    # A replayed token must not end sessions the user started after the real logout.
    key = global_key("backchannel", "jti", hashlib.sha256(str(jti).encode()).hexdigest())
    return bool(get_store().client.set(key, b"1", nx=True, ex=MAX_AGE + 2 * LEEWAY))


def init_app(app: Flask) -> None:
    """Register the back-channel logout receiver."""
    app.register_blueprint(bp)
