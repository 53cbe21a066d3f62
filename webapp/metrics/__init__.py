"""Prometheus metrics: what the portal counts and times, and /metrics for the scraper.

Every definition is in `definitions`; the places where things happen call one function of this
package each, and `scrape` serves /metrics. Under gunicorn, PROMETHEUS_MULTIPROC_DIR makes every
worker write its values to files there and a scrape adds them up (gunicorn's child_exit hook
marks a dead worker's files). Without it (tests, `flask run`) each app counts in a registry of
its own.

Live sessions are not a gauge that workers set: no worker knows them all, so a livesum of
per-worker numbers could not be right. They are read from the session index when scraped, and
every worker and every instance reports the same number (aggregate instances with max, not sum).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from prometheus_client import CollectorRegistry

from ..config import ConfigError
from .definitions import SIGN_IN_OUTCOMES, Metrics, get_metrics
from .scrape import bp

__all__ = [
    "SIGN_IN_OUTCOMES",
    "Metrics",
    "count_backchannel_logout",
    "count_credential_cache",
    "count_listing",
    "count_listing_cache",
    "count_sign_in",
    "count_sts_call",
    "get_metrics",
    "init_app",
    "time_aws_calls",
    "watch_live_sessions",
]

STARTED = "webapp.metrics.started"  # environ key: when the WSGI call began
AWS_STARTED = "webapp.metrics.aws_started"  # botocore's per-call context: when, what
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,63}")  # an AWS error code; anything else is "Other"


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
