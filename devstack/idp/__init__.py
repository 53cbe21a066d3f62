"""Auth0-compatible identity provider for development and tests, built on Authlib."""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import control, logout, oidc
from .server import create_authorization_server
from .state import EXTENSION, STYLES, IdpState

__all__ = ["STYLES", "create_idp_app"]


def create_idp_app(seed: dict[str, Any], issuer: str, style: str = "auth0") -> Flask:
    """Create the IdP app for a parsed seed.toml, answering as `issuer`.

    style "auth0": the issuer ends with '/', and discovery names no end_session_endpoint (an
    Auth0 tenant without RP-initiated logout switched on: sign-out goes to /v2/logout).
    style "oidc": the issuer has no trailing '/' (Okta, Entra ID, Keycloak, Google) and
    discovery advertises end_session_endpoint (OpenID Connect RP-Initiated Logout).
    """
    app = Flask(__name__)  # its pages: devstack/idp/templates/devstack/
    state = IdpState(seed, issuer, style)
    state.server = create_authorization_server(state)
    app.extensions[EXTENSION] = state
    app.register_blueprint(oidc.bp)
    app.register_blueprint(logout.bp)
    app.register_blueprint(control.bp)
    return app
