"""Prometheus metrics: what the portal counts and times, and /metrics for the scraper.

Every definition is here; the places where things happen call one function each. Under gunicorn,
PROMETHEUS_MULTIPROC_DIR makes every worker write its values to files there and a scrape adds
them up (gunicorn's child_exit hook marks a dead worker's files). Without it (tests, `flask run`)
each app counts in a registry of its own.

Live sessions are not a gauge that workers set: no worker knows them all, so a livesum of
per-worker numbers could not be right. They are read from the session index when scraped, and
every worker and every instance reports the same number (aggregate instances with max, not sum).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as render
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from . import headers, sessions
from .config import ConfigError

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

SIGN_IN_OUTCOMES = ("ok", "denied", "rejected_token", "code_refused", "idp_unavailable", "stale")
STARTED = "webapp.metrics.started"  # environ key: when the WSGI call began
AWS_STARTED = "webapp.metrics.aws_started"  # botocore's per-call context: when, what
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,63}")  # an AWS error code; anything else is "Other"


class Metrics:
    """Every metric the portal keeps, on one registry (None: the multiprocess files)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        def counter(name: str, text: str, *labels: str) -> Counter:
            return Counter(name, text, labels, registry=registry)

        self.registry = registry
        self.count_live_sessions: Callable[[], int] | None = None  # asked at each scrape
        self.sign_ins = counter("portal_sign_ins", "Sign-ins by outcome.", "outcome")
        self.sts_calls = counter(
            "portal_sts_calls",
            "AssumeRoleWithWebIdentity by outcome: ok, STS's error code, Unreachable, or "
            "PreflightRefused (the token was not sent).",
            "outcome",
        )
        self.credential_cache = counter(
            "portal_credential_cache", "AWS credentials found cached (hit) or not.", "result"
        )
        self.listing_cache = counter(
            "portal_listing_cache", "Overview panels found in the listing cache or not.", "result"
        )
        self.listings = counter(
            "portal_resource_listings",
            "Overview listings asked of AWS, by service and outcome.",
            "service",
            "outcome",
        )
        self.backchannel = counter(
            "portal_backchannel_logouts", "Back-channel logout requests.", "result"
        )
        self.responses = counter(
            "portal_responses", "Answers by endpoint and status.", "endpoint", "status"
        )
        self.request_seconds = Histogram(
            "portal_request_duration_seconds",
            "Time to answer a request, by endpoint.",
            ["endpoint"],
            registry=registry,
        )
        self.aws_seconds = Histogram(
            "portal_aws_call_duration_seconds",
            "Time of AWS API calls (STS included), retries included, by service and operation.",
            ["service", "operation"],
            registry=registry,
        )
        # Series that exist from the start, so that rates and alerts see zeros, not gaps.
        for family, values in [
            (self.sign_ins, SIGN_IN_OUTCOMES),
            (self.credential_cache, ("hit", "miss")),
            (self.listing_cache, ("hit", "miss")),
            (self.backchannel, ("accepted", "refused")),
        ]:
            for value in values:
                family.labels(value)


def get_metrics(app: Flask | None = None) -> Metrics:
    """The metrics of app (default: the current one)."""
    metrics: Metrics = (app or current_app).extensions["webapp.metrics"]
    return metrics


def count_sign_in(outcome: str) -> None:
    """Count a sign-in by outcome (one of SIGN_IN_OUTCOMES)."""
    get_metrics().sign_ins.labels(outcome).inc()


def count_sts_call(outcome: str) -> None:
    """Count an STS call: "ok" or its error code."""
    get_metrics().sts_calls.labels(outcome if _CODE.fullmatch(outcome) else "Other").inc()


def count_credential_cache(hit: bool) -> None:
    """Count a credential lookup that found usable cached credentials, or not."""
    get_metrics().credential_cache.labels("hit" if hit else "miss").inc()


def count_listing_cache(found: list[Any]) -> None:
    """Count the overview's cache lookups (None: not cached)."""
    hits = sum(value is not None for value in found)
    get_metrics().listing_cache.labels("hit").inc(hits)
    get_metrics().listing_cache.labels("miss").inc(len(found) - hits)


def count_listing(service: str, outcome: str) -> None:
    """Count one service listing by outcome (ok, denied, error, timeout)."""
    get_metrics().listings.labels(service, outcome).inc()


def count_backchannel_logout(accepted: bool) -> None:
    """Count a back-channel logout request, accepted or refused."""
    get_metrics().backchannel.labels("accepted" if accepted else "refused").inc()


def time_aws_calls(app: Flask, events: Any) -> None:
    """Time every AWS call of the clients built with this botocore event emitter."""
    histogram = get_metrics(app).aws_seconds

    def started(model: Any, context: dict[str, Any], **_: Any) -> None:
        context[AWS_STARTED] = (time.perf_counter(), model.service_model.service_name, model.name)

    def ended(context: dict[str, Any], **_: Any) -> None:
        start, service, operation = context.pop(AWS_STARTED, (None, "", ""))
        if start is not None:
            histogram.labels(service, operation).observe(time.perf_counter() - start)

    events.register("before-call", started)
    events.register("after-call", ended)  # an answer, an error status included
    events.register("after-call-error", ended)  # no answer: connection failure, timeout


def watch_live_sessions(app: Flask, count: Callable[[], int]) -> None:
    """Report count() as the number of live sessions at every scrape."""
    get_metrics(app).count_live_sessions = count


@bp.get("/metrics")
@sessions.sessionless
def scrape() -> Any:
    """The metrics in Prometheus' text format, for allowed addresses only (else 404)."""
    if not _allowed():
        abort(404)
    metrics = get_metrics()
    counted = metrics.registry or MultiProcessCollector(None)  # type: ignore[no-untyped-call]
    body = render(_Scrape(counted, metrics.count_live_sessions))
    return headers.no_store(Response(body, content_type=CONTENT_TYPE_LATEST))


def _allowed() -> bool:
    # Behind nginx, ProxyFix has made remote_addr the client's address: a scrape from outside
    # that nginx passed on is refused. The peer that connected must be allowed too, or anyone
    # who reaches gunicorn's bind could claim any address in X-Forwarded-For.
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR")
    addresses = [request.remote_addr, *([peer] if peer is not None else [])]
    return all(_in(address, current_app.config["METRICS_ALLOW"]) for address in addresses)


def _in(address: str | None, networks: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False  # a unix socket peer, or none
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


class _Scrape:
    """What one scrape shows: the counted metrics, and the live sessions read now."""

    def __init__(self, counted: Collector, count_live: Callable[[], int] | None) -> None:
        self.counted, self.count_live = counted, count_live

    def collect(self) -> Iterator[Metric]:
        """The metrics of this scrape."""
        yield from self.counted.collect()
        if self.count_live is None:
            return
        try:
            live = self.count_live()
        except redis.RedisError as exc:
            log.warning("live sessions not counted: %s", exc)
            return
        yield GaugeMetricFamily(
            "portal_live_sessions", "Signed-in sessions that have not ended.", value=live
        )


def _stamp(wsgi_app: Any) -> Any:
    """Wrap the WSGI app to note when each call began (before the session is opened)."""

    def stamped(environ: dict[str, Any], start_response: Any) -> Any:
        environ[STARTED] = time.perf_counter()
        return wsgi_app(environ, start_response)

    return stamped


def _count_response(response: Any) -> Any:
    if request.endpoint != "metrics.scrape":
        endpoint = request.endpoint or "unmatched"
        get_metrics().responses.labels(endpoint, str(response.status_code)).inc()
    return response


def _observe(exc: BaseException | None) -> None:
    # Taken, not read: a context that is pushed again (the test client keeps the last one)
    # tears down again, and must not count twice.
    started = request.environ.pop(STARTED, None)
    if started is not None and request.endpoint != "metrics.scrape":
        endpoint = request.endpoint or "unmatched"  # a 404 or 405: no raw paths as labels
        get_metrics().request_seconds.labels(endpoint).observe(time.perf_counter() - started)


def init_app(app: Flask) -> None:
    """Keep the metrics (PROMETHEUS_MULTIPROC_DIR's files, or in-process), serve /metrics."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and not os.path.isdir(directory):
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR: no such directory {directory!r}")
    multiprocess = bool(directory)
    app.extensions["webapp.metrics"] = Metrics(None if multiprocess else CollectorRegistry())
    app.wsgi_app = _stamp(app.wsgi_app)  # type: ignore[method-assign]
    app.after_request(_count_response)
    app.teardown_request(_observe)
    app.register_blueprint(bp)
