"""Rate limits per client address on the endpoints anyone may call without signing in.

Flask-Limiter counts in the portal's Redis, on the store's own client, so every instance shares
the counters; a Redis hiccup never turns into an error from the limiter itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import RedisStorage, Storage

from .store import PREFIX
from .store.connect import Client

# endpoint -> the setting that holds its limit, e.g. "20 per minute"
LIMITED = {
    "auth.login": "RATE_LIMIT_SIGN_IN",
    "auth.callback": "RATE_LIMIT_SIGN_IN",
    "backchannel.backchannel_logout": "RATE_LIMIT_BACKCHANNEL",
}


class StoreStorage(RedisStorage):
    """limits' Redis storage on the store's client, whichever mode built it.

    Flask-Limiter builds its storage from a URI, and limits' own redis+sentinel:// and
    redis+cluster:// storages would build a second client from a second copy of the settings.
    This one takes the client itself (a storage option), so standalone, TLS, Sentinel and
    Cluster all count through the connections, credentials and failover of the store.
    """

    STORAGE_SCHEME = ["portal+store"]  # noqa: RUF012 (limits registers it by this name)

    def __init__(self, uri: str, client: Client, key_prefix: str = RedisStorage.PREFIX) -> None:
        Storage.__init__(self, uri)
        self.key_prefix = key_prefix
        self.target_server = "redis"
        self.dependency = self.dependencies["redis"].module
        self.storage = client
        self.initialize_storage(uri)


def init_app(app: Flask) -> None:
    """Limit the anonymous endpoints of app (run after their blueprints are registered)."""
    store = app.extensions["webapp.store"]
    limiter = Limiter(
        get_remote_address,  # the client address as ProxyFix sets it behind nginx
        app=app,
        storage_uri="portal+store://",
        storage_options={"client": store.client},
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
