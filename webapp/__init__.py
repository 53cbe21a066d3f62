"""AWS portal: sign in with Auth0, trade the ID token for AWS credentials, see your resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    admin,
    auth,
    backchannel,
    commands,
    config,
    credentials,
    errors,
    extensions,
    filters,
    headers,
    metrics,
    pages,
    ratelimit,
    request_id,
    resources,
    session_index,
    sessions,
    store,
)

# The data path, in order: each feature's init_app registers its own state, hooks and pages.
FEATURES = (
    metrics,  # first: it times every request from the start, and others count into it
    request_id,
    store,
    extensions,
    sessions,
    session_index,
    auth,
    credentials,
    resources,
    admin,
    backchannel,
    pages,
    ratelimit,
    filters,
    commands,
    errors,
    headers,
)


def create_app(
    test_config: Mapping[str, Any] | None = None, *, check_issuer: bool = False
) -> Flask:
    """Build the app from defaults and the environment (or test_config in its place).

    check_issuer (the server's entry point, wsgi.py): also stop when the IdP's discovery document
    spells the issuer otherwise. `flask doctor` leaves it off, to report that as one of its checks.
    """
    if test_config is not None:
        return _build(dict(test_config))
    try:
        app = _build(config.load_environment())
        if check_issuer:
            auth.client.check_issuer_at_start(app)
    except config.ConfigError as exc:
        raise SystemExit(str(exc)) from None  # one line naming the variable, no traceback
    return app


def _build(settings: dict[str, Any]) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(config.validate(settings))
    for feature in FEATURES:
        feature.init_app(app)
    if app.config["PROXY_FIX"]:
        n = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]
    return app
