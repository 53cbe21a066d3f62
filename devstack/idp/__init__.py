"""Auth0-compatible identity provider for development and tests, built on Authlib."""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import control, logout, oidc
from .server import create_authorization_server
from .state import EXTENSION, IdpState

__all__ = ["create_idp_app"]


def create_idp_app(seed: dict[str, Any], issuer: str) -> Flask:
    """Create the IdP app for a parsed seed.toml, answering as `issuer` (with trailing slash)."""
    app = Flask(__name__)  # its pages: devstack/idp/templates/devstack/
    state = IdpState(seed, issuer)
    state.server = create_authorization_server(state)
    app.extensions[EXTENSION] = state
    app.register_blueprint(oidc.bp)
    app.register_blueprint(logout.bp)
    app.register_blueprint(control.bp)
    return app
