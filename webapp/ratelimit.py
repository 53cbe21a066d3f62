"""Rate limits per client address on the endpoints anyone may call without signing in.

Flask-Limiter counts in the portal's Redis (through the store's connection pool), so every
instance shares the counters; a Redis hiccup never turns into an error from the limiter itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from .store import PREFIX

# endpoint -> the setting that holds its limit, e.g. "20 per minute"
LIMITED = {
    "auth.login": "RATE_LIMIT_SIGN_IN",
    "auth.callback": "RATE_LIMIT_SIGN_IN",
    "backchannel.backchannel_logout": "RATE_LIMIT_BACKCHANNEL",
}


def init_app(app: Flask) -> None:
    """Limit the anonymous endpoints of app (run after their blueprints are registered)."""
    store = app.extensions["webapp.store"]
    limiter = Limiter(
        get_remote_address,  # the client address as ProxyFix sets it behind nginx
        app=app,
        storage_uri="redis://",
        storage_options={"connection_pool": store.client.connection_pool},
        key_prefix=PREFIX + "ratelimit",
        swallow_errors=True,
        headers_enabled=True,
    )
    for endpoint, setting in LIMITED.items():
        view: Callable[..., Any] = app.view_functions[endpoint]
        # One budget per setting: /login and /callback draw from the same one.
        limit = limiter.shared_limit(app.config[setting], scope=setting)
        app.view_functions[endpoint] = limit(view)
    app.extensions["webapp.ratelimit"] = limiter
