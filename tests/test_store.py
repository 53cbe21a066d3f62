"""The store's client for each Redis mode: what start-up and outages look like without servers
(tests/test_redis_modes.py runs the portal on real TLS, Sentinel and Cluster deployments)."""

from __future__ import annotations

import time

import pytest

from devstack.processes import free_port
from tests.conftest import app_config
from webapp import config, create_app


@pytest.mark.parametrize("reachable", [False, True])  # True: a node, but not in cluster mode
def test_a_cluster_whose_layout_cannot_be_read_stops_start_up(devstack, redis_server, reachable):
    url = redis_server.url if reachable else f"redis://127.0.0.1:{free_port()}/0"
    settings = app_config(devstack, redis_server, REDIS_URL=url, REDIS_CLUSTER="1")
    with pytest.raises(config.ConfigError) as error:
        create_app(settings)
    message = str(error.value)
    assert message.startswith("REDIS_URL: cannot read the Redis Cluster's layout")
    assert "\n" not in message
    assert ("Cluster mode is not enabled" in message) is reachable


def test_sentinels_out_of_reach_are_a_503_not_a_start_up_failure(devstack, redis_server):
    sentinels = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    app = create_app(
        app_config(
            devstack,
            redis_server,
            REDIS_URL="redis://portal/0",
            REDIS_SENTINELS=sentinels,
            REDIS_SENTINEL_MASTER="portal",
        )
    )
    client = app.test_client()
    client.set_cookie("session", "s" * 43)
    started = time.monotonic()
    assert client.get("/").status_code == 503
    assert time.monotonic() - started < 2
    assert client.get("/readyz").json["checks"]["redis"] == "failed: MasterNotFoundError"
