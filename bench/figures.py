"""The figures issue #12 asks for, each measured on the running stack (bench/stack.py)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.load import wrk
from bench.stack import WORKERS, Stack, rss_mb
from devstack.deploying import HOST
from devstack.testing import SECRET_KEY, AuthActions
from webapp.sessions import COOKIE_NAME

SIGNED_IN = "Signed in as"  # the home page's heading for a signed-in person


@dataclass(frozen=True)
class Figure:
    """One line of the table."""

    key: str
    what: str
    value: str
    target: str
    passed: bool
    note: str = ""


@dataclass(frozen=True)
class Sizes:
    """How long and how much: the issue's figures by default, smaller for --quick."""

    page_views: int = 1000
    p3_seconds: float = 8
    p3_rounds: int = 3
    p4_runs: int = 3
    r7_sessions: int = 200
    r7_seconds: float = 60


QUICK = Sizes(page_views=100, p3_seconds=2, p3_rounds=1, p4_runs=1, r7_sessions=20, r7_seconds=3)


def sts_calls(stack: Stack, sizes: Sizes) -> Figure:
    """P1: five sessions share the page views of / and /resources; STS calls per session."""
    before = stack.devstack.sts_stats()["ok"]
    sessions = stack.sign_in_many(5)
    paths = ["/", "/resources"]

    def view(n: int) -> int:
        return stack.get(paths[n % 2], sessions[n % len(sessions)]).status_code

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(view, range(sizes.page_views)))
    calls = (stack.devstack.sts_stats()["ok"] - before) / len(sessions)
    bad = sum(1 for status in answers if status != 200)
    return Figure(
        "P1",
        f"STS calls per signed-in session over {sizes.page_views:,} page views",
        f"{calls:.2f}",
        "1.00",
        calls == 1 and not bad,
        f"{bad} page views failed" if bad else "",
    )


def jwks_fetches(stack: Stack) -> Figure:
    """P2: JWKS fetches by the portal per gunicorn worker (the IdP counts them). The local STS
    fetches the key set too, once (it caches it like STS): that one is not the portal's."""
    idp, _ = stack.stats()
    portal = idp["jwks_fetches"] - 1
    per_worker = portal / WORKERS
    return Figure(
        "P2",
        "JWKS fetches per gunicorn worker, no key rotation",
        f"{per_worker:.2f}",
        "≤ 1",
        per_worker <= 1,
        f"{portal} fetches by {WORKERS} workers after every sign-in and page view so far "
        "(the local STS's own fetch not counted)",
    )


def throughput_ratio(stack: Stack, sizes: Sizes) -> Figure:
    """P3: signed-in GET / (cached credentials) ÷ anonymous GET /, wrk -t2 -c8, interleaved."""
    cookies = [f"session={sid}" for sid in stack.sign_in_many(50)]
    url = stack.url + "/"
    anonymous, signed_in = [], []
    for _ in range(sizes.p3_rounds):
        anonymous.append(wrk(url, sizes.p3_seconds, 8).per_second)
        signed_in.append(wrk(url, sizes.p3_seconds, 8, cookies=cookies).per_second)
    ratio = statistics.median(signed_in) / statistics.median(anonymous)
    return Figure(
        "P3",
        "signed-in GET / req/s ÷ anonymous GET / req/s (gunicorn, wrk -c8)",
        f"{ratio:.2f}",
        "≥ 0.8",
        ratio >= 0.8,
        f"medians of {sizes.p3_rounds} interleaved rounds: "
        f"{statistics.median(signed_in):,.0f} ÷ {statistics.median(anonymous):,.0f} req/s",
    )


def overview_latency(stack: Stack, sizes: Sizes) -> Figure:
    """P4: the overview's wall time at 100 ms injected AWS latency less at 0 ms, in 100 ms."""
    [sid] = stack.sign_in_many(1)
    services = stack.get("/resources", sid).text.count('class="panel res-panel"')

    def wall(latency_ms: int) -> float:
        stack.devstack.aws("POST", "_devstack/misbehave", json={"latency_ms": latency_ms})
        samples = []
        for _ in range(sizes.p4_runs):
            stack.refresh_listings(sid)
            started = time.perf_counter()
            stack.get("/resources", sid).raise_for_status()
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    try:
        at_0, at_100 = wall(0), wall(100)
    finally:
        stack.devstack.aws("POST", "_devstack/misbehave", json={"latency_ms": 0})
    trips = (at_100 - at_0) / 0.1
    _, aws = stack.stats()
    calls = (services - 1) * len(stack.regions) + 1  # S3 is listed once, in one region
    return Figure(
        "P4",
        f"overview: (wall at 100 ms - at 0 ms) ÷ 100 ms, {services} services x "
        f"{len(stack.regions)} regions",
        f"{trips:.2f}",
        "≤ 1.5",
        trips <= 1.5,
        f"{at_0 * 1000:.0f} ms at 0 ms, {at_100 * 1000:.0f} ms at 100 ms; one after another "
        f"would be ≥ {calls} round trips; most AWS calls in flight at once: "
        f"{aws.get('aws_calls', {}).get('max_in_flight', '?')}",
    )


def client_time(stack: Stack) -> Figure:
    """P5: in-process, the resource pages' way to a boto3 client with cached credentials:
    read and unseal the session's credentials from Redis, then the client cache."""
    from webapp import create_app
    from webapp.credentials.broker import load_cached
    from webapp.resources.web import get_client
    from webapp.store import get_handle

    app = create_app({**stack.devstack.env, "SECRET_KEY": SECRET_KEY, "REDIS_URL": stack.redis.url})
    client = app.test_client()
    AuthActions(client, stack.devstack).login("bob")
    client.get("/resources")  # fetches the credentials and builds the clients
    cookie = client.get_cookie("session") or client.get_cookie(COOKIE_NAME)
    assert cookie is not None
    handle = get_handle(cookie.value)
    with app.app_context():

        def action() -> object:
            creds = load_cached(handle)
            assert creds is not None
            return get_client(creds, "s3")

        median_ms = _median_ms(action, 500)
    return Figure(
        "P5",
        "an AWS client with cached credentials (Redis read, unseal, client cache)",
        f"{median_ms:.3f} ms",
        "< 1 ms",
        median_ms < 1,
        "median of 500, in-process",
    )


def worker_memory(stack: Stack) -> Figure:
    """P6: the largest gunicorn worker's resident memory, after the load runs."""
    pids = stack.worker_pids()
    sizes = [rss_mb(pid) for pid in pids]
    replaced = len(set(pids) - set(stack.rss_at_start))
    return Figure(
        "P6",
        "gunicorn worker RSS after the load runs (largest of the workers)",
        f"{max(sizes):.0f} MB",
        "< 120 MB",
        max(sizes) < 120,
        "workers: "
        + ", ".join(f"{size:.0f}" for size in sorted(sizes))
        + " MB; at start: "
        + ", ".join(f"{size:.0f}" for size in sorted(stack.rss_at_start.values()))
        + f" MB; workers replaced during the run: {replaced}",
    )


def sessions_under_load(stack: Stack, sizes: Sizes) -> Figure:
    """R7: many signed-in sessions through nginx → gunicorn at once; errors and lost sessions."""
    sids = stack.sign_in_many(sizes.r7_sessions)
    deployed = stack.behind_nginx()
    cookies = [f"{COOKIE_NAME}={sid}" for sid in sids]
    load = wrk(
        deployed["https"] + "/",
        sizes.r7_seconds,
        sizes.r7_sessions,
        cookies=cookies,
        host=HOST,
    )
    lost = sum(1 for sid in sids if SIGNED_IN not in stack.get("/", sid).text)
    return Figure(
        "R7",
        f"{sizes.r7_sessions} signed-in sessions, {sizes.r7_seconds:.0f} s, nginx → gunicorn",
        f"{load.requests:,} requests, {load.errors} errors, {lost} lost, p99 {load.p99_ms:.0f} ms",
        "0 errors, 0 lost",
        load.errors == 0 and lost == 0,
        f"{load.per_second:,.0f} req/s over TLS, {sizes.r7_sessions} connections",
    )


def _median_ms(action: Callable[[], object], runs: int) -> float:
    for _ in range(5):
        action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)
