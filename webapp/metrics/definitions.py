"""Every metric the portal keeps: the one place that names and describes them."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from prometheus_client import CollectorRegistry, Counter, Histogram

SIGN_IN_OUTCOMES = ("ok", "denied", "rejected_token", "code_refused", "idp_unavailable", "stale")
LIVE_SESSIONS = ("portal_live_sessions", "Signed-in sessions that have not ended.")


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
