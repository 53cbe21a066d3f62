"""AWS portal: sign in with Auth0, trade the ID token for AWS credentials, see your resources."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    admin,
    auth,
    backchannel,
    cli,
    config,
    errors,
    pages,
    registry,
    resources,
    role_picker,
    sessions,
    sts,
)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from defaults and the environment (or test_config in its place)."""
    if test_config is not None:
        return _build(dict(test_config))
    try:
        return _build(config.load_environment())
    except config.ConfigError as exc:
        raise SystemExit(str(exc)) from None  # one line naming the variable, no traceback


def _build(settings: dict[str, Any]) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(config.validate(settings))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    sessions.init_app(app)
    registry.init_app(app)
    CSRFProtect(app)
    auth.init_app(app)
    sts.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(role_picker.bp)
    app.register_blueprint(resources.bp)
    admin.init_app(app)
    backchannel.init_app(app)
    cli.init_app(app)
    errors.init_app(app)
    if app.config["PROXY_FIX"]:
        n = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    return app
