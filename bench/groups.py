"""Benchmark groups: each prints its figures and the ratio that says whether the design holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    print(f"  → a signed-in page view costs {home['median'] / bare['median']:.1f}x a bare request")


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
        f"  → STS calls: {assumed} for {runs + 2} dropped, {stack.sts_calls() - before} "
        f"for {runs + 2} cached views; caching saves {first['median'] / cached['median']:.1f}x"
    )


ALL = [sessions, credentials]
