"""Stand-in for https://signin.aws.amazon.com/federation (console sign-in with temporary keys)."""

from __future__ import annotations

import json
import secrets
from html import escape

from botocore.credentials import Credentials

from .signed import post_sts
from .state import FrontState

SIGNIN_TOKEN_SECONDS = 15 * 60


class FederationError(Exception):
    """A request the federation endpoint answers with HTTP 400."""


def get_caller_arn(moto_url: str, region: str, credentials: Credentials) -> str | None:
    """Ask moto who these credentials are (signed GetCallerIdentity); None if it refuses."""
    params = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
    response = post_sts(moto_url, region, credentials, params)
    if response.status_code != 200:
        return None
    start = response.text.find("<Arn>") + len("<Arn>")
    return response.text[start : response.text.find("</Arn>")]


def get_signin_token(
    state: FrontState, moto_url: str, region: str, session: str, duration: str | None
) -> str:
    """Trade temporary credentials for a one-time signin token, as the federation endpoint does."""
    try:
        data = json.loads(session)
        credentials = Credentials(data["sessionId"], data["sessionKey"], data["sessionToken"])
    except (ValueError, KeyError, TypeError):
        raise FederationError(
            "Session must be JSON with sessionId, sessionKey, sessionToken"
        ) from None
    if duration is not None and not (duration.isdigit() and 900 <= int(duration) <= 43200):
        raise FederationError("SessionDuration must be between 900 and 43200")
    with state.lock:
        known = state.sessions.get(credentials.access_key)
    # moto never expires assumed-role keys, so the front checks the expiry it recorded.
    if known is not None and known.expiration <= state.now():
        raise FederationError("The credentials have expired")
    arn = get_caller_arn(moto_url, region, credentials)
    if arn is None or ":assumed-role/" not in arn:
        raise FederationError("The credentials are not valid temporary credentials")
    token = secrets.token_urlsafe(48)
    with state.lock:
        state.signin_tokens[token] = (arn, state.now() + SIGNIN_TOKEN_SECONDS)
        state.federation_counts["getSigninToken"] += 1
    return token


def login(state: FrontState, token: str, destination: str) -> str:
    """Redeem a signin token once and render the stand-in console page."""
    with state.lock:
        arn, expires = state.signin_tokens.pop(token, (None, 0.0))
        if arn is None or expires < state.now():
            raise FederationError("The signin token is invalid or has expired")
        state.federation_counts["login"] += 1
    return (
        "<!doctype html><title>AWS console (local stand-in)</title>"
        "<h1>AWS console (local stand-in)</h1>"
        f"<p>Signed in as <code>{escape(arn)}</code></p>"
        f'<p>Destination: <a href="{escape(destination)}">{escape(destination)}</a></p>'
    )
