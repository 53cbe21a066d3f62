"""Sign-in with the identity provider: the code flow, token renewal and who may see what."""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect, request, url_for

from .. import sessions
from . import client
from .access import admin_required, login_required, safe_next
from .client import IdpUnavailable, get_keys
from .renewal import SignInAgain, ensure_fresh, renew_if_due, tokens_renewed
from .views import bp

__all__ = [
    "IdpUnavailable",
    "SignInAgain",
    "admin_required",
    "ensure_fresh",
    "get_keys",
    "init_app",
    "login_required",
    "safe_next",
    "tokens_renewed",
]


def _sign_in_again(exc: SignInAgain) -> Any:
    # Ending the session first means /login starts clean; the IdP issues fresh tokens or an
    # error page, so this can never bounce back here in a loop.
    sessions.end()
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    """Register the IdP client, the sign-in routes and the renewal of due tokens."""
    client.init_app(app)
    app.register_blueprint(bp)
    app.before_request(renew_if_due)
    app.register_error_handler(SignInAgain, _sign_in_again)
