"""The one place that builds the Redis client: standalone, Sentinel or Cluster, from the settings.

Sessions, locks, the session index, the audit stream and the rate limiter all use the client
built here, so every mode behaves the same for all of them: the same TLS checks, the same
credentials, the same timeouts, and (with Sentinel) the same move to a new primary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.connection import parse_url
from redis.exceptions import RedisClusterException
from redis.retry import Retry
from redis.sentinel import Sentinel

from ..config import ConfigError

Client = redis.Redis | RedisCluster

# Short timeouts: an outage answers 503 quickly instead of holding the request.
TIMEOUTS: dict[str, Any] = {"socket_connect_timeout": 1, "socket_timeout": 1}


def connect(config: Mapping[str, Any]) -> Client:
    """The Redis client the settings describe (validated by config.validate)."""
    options = {**TIMEOUTS, "health_check_interval": 15, **_tls(config)}
    url = config["REDIS_URL"]
    if config["REDIS_SENTINELS"]:
        return _sentinel(config, url, options)
    if config["REDIS_CLUSTER"]:
        # redis-py reads the cluster's layout here, at start-up (the other modes connect on
        # first use); later outages are 503s that end by themselves, like in the other modes.
        try:
            return _Cluster.from_url(url, **options)
        except RedisClusterException as exc:
            raise ConfigError(f"REDIS_URL: cannot read the Redis Cluster's layout: {exc}") from None
    return redis.Redis.from_url(url, **options)


def _tls(config: Mapping[str, Any]) -> dict[str, Any]:
    """TLS options for a rediss:// URL: the server's certificate and name are always checked,
    against REDIS_CA_CERT when set, else the system's trusted CAs."""
    if not config["REDIS_URL"].startswith("rediss://"):
        return {}
    ca = {"ssl_ca_certs": config["REDIS_CA_CERT"]} if config["REDIS_CA_CERT"] else {}
    return {"ssl_cert_reqs": "required", "ssl_check_hostname": True, **ca}


def _sentinel(config: Mapping[str, Any], url: str, options: dict[str, Any]) -> redis.Redis:
    """A client that asks the Sentinels for the current primary whenever it (re)connects.

    REDIS_URL gives the data nodes' scheme (TLS or not), ACL user, password and database; its
    host and port are not used: the Sentinels name the primary. REDIS_SENTINEL_PASSWORD is the
    Sentinels' own password (their requirepass), if they have one.
    """
    parsed = parse_url(url)
    node = {k: parsed[k] for k in ("username", "password", "db") if k in parsed}
    tls = {"ssl": True} if url.startswith("rediss://") else {}
    password = config["REDIS_SENTINEL_PASSWORD"]
    # One try per Sentinel: the next Sentinel is the retry (redis-py's default for a client it
    # builds itself would back off up to ten times, holding a request for seconds).
    sentinel_options = {**TIMEOUTS, "retry": Retry(NoBackoff(), 0), **tls, **_tls(config)}
    if password:
        sentinel_options["password"] = password
    sentinel = Sentinel(
        config["REDIS_SENTINELS"],
        sentinel_kwargs=sentinel_options,
        **options,
        **tls,
        **node,
    )
    client: redis.Redis = sentinel.master_for(config["REDIS_SENTINEL_MASTER"])
    return client


class _Cluster(RedisCluster):
    """A cluster client whose outages are redis.ConnectionError, as in the other modes.

    When it finds no node to read the cluster's layout from, redis-py raises
    RedisClusterException, which is no RedisError: the session interface and the error pages,
    which turn a RedisError into a 503, would let it through as a 500.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        initialize = self.nodes_manager.initialize

        def reinitialize(*a: Any, **kw: Any) -> Any:
            try:
                return initialize(*a, **kw)
            except RedisClusterException as exc:
                raise redis.ConnectionError(str(exc)) from exc

        self.nodes_manager.initialize = reinitialize  # type: ignore[method-assign]
