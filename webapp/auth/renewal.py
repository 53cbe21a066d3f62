"""Token renewal: the refresh-token grant under the session's lock, and roles kept fresh.

A session's tokens are renewed when its ID token nears expiry and, so that a role removed at the
IdP is gone from the portal soon, whenever its roles are older than ROLES_MAX_AGE_MINUTES. The
grant runs under the session's lock and the new tokens are stored before the lock is released:
two requests never present the same refresh token (providers that rotate refresh tokens revoke
the whole family on reuse).
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from authlib.integrations.base_client import OAuthError
from blinker import Namespace
from flask import abort, current_app, request, session

from .. import clock, sessions
from ..store import get_store
from ..tokens import KeysUnavailable, TokenError, decode_unverified, verify_id_token
from .claims import tokens_from, user_from
from .client import IdpUnavailable, get_client, get_keys, idp_call

log = logging.getLogger(__name__)
ID_TOKEN_MARGIN = 60  # renew an ID token this close to expiry

_signals = Namespace()
#: sent with the app as sender and ``claims=`` (the renewed ID token's) after a renewal
tokens_renewed = _signals.signal("tokens-renewed")


class SignInAgain(Exception):
    """The session's tokens could not be renewed: the user must sign in again."""


def verify(id_token: str, nonce: str | None) -> dict[str, Any]:
    """The claims of an ID token that passes every sign-in check, else TokenError."""
    config = current_app.config
    return verify_id_token(
        id_token,
        keys=get_keys(),
        issuer=config["AUTH0_ISSUER"],
        client_id=config["AUTH0_CLIENT_ID"],
        nonce=nonce,
        now=clock.now(),
    )


def is_due(sess: Any) -> bool:
    """True when the session's ID token nears expiry or its roles are older than allowed."""
    exp = decode_unverified(sess["tokens"]["id_token"]).claims.get("exp")
    if not isinstance(exp, int | float) or exp - clock.now() <= ID_TOKEN_MARGIN:
        return True
    max_age = int(current_app.config["ROLES_MAX_AGE_MINUTES"]) * 60
    checked = sess.get("roles_checked_at", sess["signed_in_at"])
    return bool(clock.now() - checked >= max_age)


def ensure_fresh() -> None:
    """Renew this session's tokens if due (SignInAgain when the IdP refuses)."""
    if "user" not in session or not is_due(session):
        return
    handle = sessions.get_own_handle()
    try:
        with get_store().lock(handle, "renew", timeout=30, blocking_timeout=20):
            stored = sessions.load(handle)
            if stored is None or "user" not in stored:
                raise SignInAgain("This session has ended.")
            if not is_due(stored):  # another request of this session renewed meanwhile
                for key in ("user", "tokens", "roles_checked_at", "aws", "role_choice"):
                    _copy(stored, key)
                return
            _renew(stored["tokens"].get("refresh_token") or "")
            sessions.save_now()  # before the lock is released
    except redis.exceptions.LockError:
        abort(503, "Your sign-in is being renewed by another request. Reload in a moment.")
    except (IdpUnavailable, KeysUnavailable) as exc:
        log.warning("token renewal postponed: %s", exc)
        abort(503, "The sign-in service cannot be reached right now. Try again in a minute.")


def _copy(stored: dict[str, Any], key: str) -> None:
    if key in stored:
        session[key] = stored[key]
    else:
        session.pop(key, None)


def _renew(refresh_token: str) -> None:
    if not refresh_token:
        raise SignInAgain("Your sign-in has expired.")
    try:
        with idp_call():
            # No scope: the grant's own (RFC 6749 section 6). Asking again for the sign-in's
            # scope fails where the IdP granted less (oidc-provider drops offline_access).
            answer = get_client().fetch_access_token(
                grant_type="refresh_token", refresh_token=refresh_token, scope=None
            )
        claims = verify(answer.get("id_token") or "", nonce=None)
    except (OAuthError, TokenError) as exc:
        log.info("token renewal refused: %s", exc)
        raise SignInAgain("Your sign-in has expired and could not be renewed.") from exc
    user = session["user"]
    if (claims["iss"], claims["sub"]) != (user["iss"], user["sub"]):
        log.warning("renewed ID token names another user; ending the session")
        raise SignInAgain("The identity provider answered for another user.")
    renewed = user_from(claims, current_app.config["AUTH0_ROLES_CLAIM"])
    renewed["sid"] = renewed["sid"] or user.get("sid", "")  # refresh answers may omit sid
    session["user"] = renewed
    session["tokens"] = {
        **tokens_from(answer),
        "refresh_token": answer.get("refresh_token") or refresh_token,
    }
    session["roles_checked_at"] = clock.now()
    tokens_renewed.send(current_app._get_current_object(), claims=claims)  # type: ignore[attr-defined]


def renew_if_due() -> None:
    """Before a signed-in request: renew the tokens if due (not for sign-in pages or probes)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "sessionless", False) or (request.endpoint or "").startswith(
        ("auth.", "static")
    ):
        return
    ensure_fresh()
