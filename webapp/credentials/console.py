"""The "Open AWS console" button: federation sign-in with the session's credentials."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import requests
from flask import current_app, redirect, url_for

from .. import headers
from ..auth import login_required
from ..errors import render_error
from .blueprint import bp
from .broker import get_credentials

log = logging.getLogger(__name__)
DESTINATION = "https://console.aws.amazon.com/"


class FederationError(Exception):
    """The federation endpoint did not hand out a sign-in token."""


def get_signin_token(federation_url: str, creds: Any, timeout: float = 5.0) -> str:
    """Trade temporary credentials for a one-time sign-in token (Action=getSigninToken)."""
    session = json.dumps(
        {
            "sessionId": creds.access_key_id,
            "sessionKey": creds.secret_access_key,
            "sessionToken": creds.session_token,
        }
    )
    # No SessionDuration: AWS refuses it for role credentials; the console session lasts as
    # long as the credentials do.
    try:
        answer = requests.get(
            federation_url,
            params={"Action": "getSigninToken", "Session": session},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise FederationError(
            f"the sign-in endpoint is unreachable ({type(exc).__name__})"
        ) from None
    if answer.status_code != 200:
        raise FederationError(f"the sign-in endpoint answered HTTP {answer.status_code}")
    try:
        return str(answer.json()["SigninToken"])
    except (ValueError, KeyError, TypeError):
        raise FederationError("the sign-in endpoint's answer had no SigninToken") from None


def get_login_url(federation_url: str, token: str, issuer: str, destination: str) -> str:
    """The Action=login URL that signs the browser in to the console (a secret for 15 min)."""
    query = urlencode(
        {"Action": "login", "Issuer": issuer, "Destination": destination, "SigninToken": token}
    )
    return f"{federation_url}?{query}"


@bp.post("/resources/console")
@login_required
def console() -> Any:
    """Sign the browser in to the AWS console as the session's role (never logs the URL)."""
    creds = get_credentials()
    federation_url = current_app.config["AWS_FEDERATION_URL"]
    try:
        token = get_signin_token(federation_url, creds, current_app.config["HTTP_TIMEOUT_SECONDS"])
    except FederationError as exc:
        log.warning("console sign-in failed for role %s: %s", creds.role_name, exc)
        return render_error(502, f"The AWS console sign-in did not work: {exc}. Try again.")
    issuer = url_for("pages.index", _external=True)
    response = redirect(get_login_url(federation_url, token, issuer, DESTINATION), 303)
    headers.no_store(response)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
