"""/metrics: the counted metrics and the live sessions, for allowed addresses only."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterator
from typing import Any

import redis
from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import generate_latest as render
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from .. import headers, sessions
from .definitions import LIVE_SESSIONS, get_metrics

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)


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
        yield GaugeMetricFamily(*LIVE_SESSIONS, value=live)
