"""Benchmark groups: each prints its figures and the ratio that says whether the design holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from bench.stack import Stack

Measure = Callable[[str, Callable[[], object], int], dict[str, float]]


def sessions(stack: Stack, runs: int, measure: Measure) -> None:
    """Sessions: what a sealed Redis session adds to a page view (carol: no role, no AWS calls)."""
    app = stack.app()
    client = stack.signed_in(app, "carol")
    bare = measure("GET /healthz (no session)", lambda: client.get("/healthz"), runs)
    home = measure(
        "GET / signed in (open + seal + save the session)", lambda: client.get("/"), runs
    )
    print(f"  -> a signed-in page view costs {home['median'] / bare['median']:.1f}x a bare request")


def credentials(stack: Stack, runs: int, measure: Measure) -> None:
    """Credentials: a page view that calls STS vs one that reuses the session's credentials."""
    app = stack.app()
    client = stack.signed_in(app, "bob")
    redis = app.extensions["webapp.sessions"]["redis"]

    def with_sts() -> Any:
        for key in redis.keys("portal:aws:*"):  # forget the credentials: the next view assumes
            redis.delete(key)
        return client.get("/")

    before = stack.sts_calls()
    first = measure("GET / with AssumeRoleWithWebIdentity (credentials dropped)", with_sts, runs)
    assumed = stack.sts_calls() - before
    before = stack.sts_calls()
    cached = measure("GET / reusing the sealed credentials", lambda: client.get("/"), runs)
    print(
        f"  -> STS calls: {assumed} for {runs + 2} dropped, {stack.sts_calls() - before} "
        f"for {runs + 2} cached views; caching saves {first['median'] / cached['median']:.1f}x"
    )


def resources(stack: Stack, runs: int, measure: Measure) -> None:
    """Resources: the overview's five listers in parallel vs one at a time; client reuse."""
    from concurrent.futures import ThreadPoolExecutor

    from webapp import credentials, store
    from webapp.resources.clients import ClientCache

    app = stack.app()
    client = stack.signed_in(app, "alice")
    with client.session_transaction() as session:
        session["role_choice"] = "arn:aws:iam::123456789012:role/portal-admin"
    redis = app.extensions["webapp.sessions"]["redis"]

    def overview() -> Any:
        for key in redis.keys("portal:listing:*"):  # no listing cache: every lister calls AWS
            redis.delete(key)
        response = client.get("/resources")
        assert response.status_code == 200, response.status_code
        return response

    # A real region is tens of milliseconds away; locally it is a loopback hop. Add the round trip
    # so the figures show what the design is for (the front sleeps; no CPU is spent).
    latency = 40
    requests.post(
        f"{stack.devstack.aws_url}/_devstack/misbehave", json={"latency_ms": latency}, timeout=5
    ).raise_for_status()
    print(f"  (every AWS call given {latency} ms of simulated network latency)")
    state = app.extensions["webapp.resources"]
    parallel = measure("GET /resources, listers in parallel (the design)", overview, runs)
    default_executor, state["executor"] = state["executor"], ThreadPoolExecutor(1)
    serial = measure("GET /resources, listers one at a time (for comparison)", overview, runs)
    state["executor"] = default_executor
    requests.post(f"{stack.devstack.aws_url}/_devstack/reset", timeout=5).raise_for_status()
    cached = measure(
        "GET /resources from the 30 s listing cache", lambda: client.get("/resources"), runs
    )
    print(
        f"  -> parallel is {serial['median'] / parallel['median']:.1f}x faster than one at a time: "
        "the page costs about its slowest service (SQS makes one extra call per queue), not the "
        f"sum; the listing cache is {parallel['median'] / cached['median']:.0f}x faster again"
    )

    with app.app_context():
        creds = credentials.load_cached(store.get_handle(client.get_cookie("session").value))
    built = measure(
        "build a boto3 S3 client (new cache each time)",
        lambda: ClientCache().get(creds, "s3", "us-east-1"),
        runs,
    )
    shared = ClientCache()
    reused = measure(
        "get the S3 client from the client cache",
        lambda: shared.get(creds, "s3", "us-east-1"),
        runs,
    )
    print(
        f"  -> a cached client costs {reused['median'] * 1000:.1f} us instead of "
        f"{built['median']:.0f} ms; {shared.created} built for {runs + 2} gets"
    )


ALL = [sessions, credentials, resources]
