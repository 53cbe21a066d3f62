"""The store's client for each Redis mode: what start-up and outages look like without servers
(tests/test_redis_modes.py runs the portal on real TLS, Sentinel and Cluster deployments)."""

from __future__ import annotations

import time

import pytest

from devstack.processes import free_port
from devstack.testing import AuthActions, app_config
from webapp import config, create_app, store


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


def _reads(r) -> int:
    """Read events the server has processed: about one per client round trip."""
    return r.info("stats")["total_reads_processed"]


def _calls(r) -> dict[str, int]:
    return {k: v["calls"] for k, v in r.info("commandstats").items() if k != "cmdstat_info"}


def round_trips(r, action) -> tuple[int, dict[str, int]]:
    """Round trips and commands that action costs Redis (INFO's own read subtracted)."""
    baseline = -_reads(r) + _reads(r)  # what asking costs by itself
    calls = _calls(r)
    before = _reads(r)
    action()
    trips = _reads(r) - before - baseline
    after = _calls(r)
    return trips, {k[8:]: n - calls.get(k, 0) for k, n in after.items() if n != calls.get(k, 0)}


def test_sizing_memory_per_session_and_round_trips_per_page_view(devstack, redis_server, travel):
    """The figures README's "Scaling" section quotes; run with -s to see them."""
    r = redis_server.client()
    r.flushdb()
    app = create_app(app_config(devstack, redis_server, RATE_LIMIT_SIGN_IN="1000 per minute"))

    def signed_in_bob():
        client = app.test_client()
        AuthActions(client, devstack).login("bob")
        assert client.get("/").status_code == 200  # credentials assumed and kept
        return client

    clients = [signed_in_bob() for _ in range(5)]  # connections, scripts, shared keys: made once
    before, count = r.info("memory")["used_memory"], 20
    clients += [signed_in_bob() for _ in range(count)]
    marginal = (r.info("memory")["used_memory"] - before) / count
    assert clients[0].get("/resources").status_code == 200  # fills one listing cache
    handle = store.get_handle(clients[0].get_cookie("session").value)
    parts = {
        part: r.memory_usage(store.session_key(handle, part), samples=0) or 0
        for part in ("session", "aws", "entry", "listing")
    }
    home, home_calls = round_trips(r, lambda: clients[0].get("/"))
    listing, listing_calls = round_trips(r, lambda: clients[0].get("/resources"))
    travel(61)  # a minute on: the activity time and the index entry are written back
    minute, minute_calls = round_trips(r, lambda: clients[0].get("/"))
    print(
        f"\nmemory per session: {marginal / 1024:.1f} KiB (used_memory, {count} more sessions);"
        f" its keys: {', '.join(f'{k} {v} B' for k, v in parts.items())}"
        f"\nround trips per signed-in page view: / {home} {home_calls},"
        f" /resources (listing cached) {listing} {listing_calls},"
        f" / once a minute {minute} {minute_calls}"
    )
    assert sum(parts.values()) < 32 * 1024 and marginal < 64 * 1024
    assert home <= 3 and listing <= 3 and minute <= 5
