"""Mutable state of the front: counters, misbehaviour switches, issued sessions, signin tokens."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Session:
    """Temporary credentials the front handed out, as moto issued them."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    arn: str
    role_name: str
    expiration: float
    tags: dict[str, str]  # the session tags STS attached: what ${aws:PrincipalTag/KEY} reads


@dataclass
class FrontState:
    """Everything the front remembers between requests, guarded by one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sts_counts: Counter[str] = field(default_factory=Counter)
    federation_counts: Counter[str] = field(default_factory=Counter)
    forced_error: dict[str, Any] | None = None
    delay_ms: int = 0
    held: int = 0  # AssumeRoleWithWebIdentity calls waiting out delay_ms right now
    release: threading.Event = field(default_factory=threading.Event)  # reset ends those waits
    latency_ms: int = 0  # added to every AWS API call, to mimic a real region's round trip
    clock_offset: float = 0.0  # seconds the front's clock runs ahead of real time
    deny_regions: frozenset[str] = frozenset()  # calls signed for these are AccessDenied
    in_flight: int = 0  # AWS API calls being answered right now
    max_in_flight: int = 0  # the most at once since the last reset (parallelism, seen from here)
    region_calls: Counter[str] = field(default_factory=Counter)  # AWS API calls by signed region
    wrong_region: int = 0  # S3 requests refused for being signed for another region
    sessions: dict[str, Session] = field(default_factory=dict)
    signin_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    # Keys of seeded IAM users for tools (the read-only "doctor"), served at /_devstack/credentials.
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)

    def now(self) -> float:
        """The front's clock for every expiry it checks: real time plus the offset tests set."""
        return time.time() + self.clock_offset

    @contextlib.contextmanager
    def calling(self, region: str) -> Iterator[None]:
        """Count one AWS API call (by the region it is signed for) while it is answered."""
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.region_calls[region or "unsigned"] += 1
        try:
            yield
        finally:
            with self.lock:
                self.in_flight -= 1

    def count_wrong_region(self) -> None:
        """Count one S3 request refused for its signing region."""
        with self.lock:
            self.wrong_region += 1

    def hold_sts(self) -> None:
        """Wait out the STS delay switch, counted in `held` meanwhile; reset ends the wait early."""
        with self.lock:
            delay, release = self.delay_ms, self.release
            if not delay:
                return
            self.held += 1
        try:
            release.wait(delay / 1000)
        finally:
            with self.lock:
                self.held -= 1

    def count_sts(self, outcome: str) -> None:
        """Add one AssumeRoleWithWebIdentity outcome ("ok" or an error code)."""
        with self.lock:
            self.sts_counts[outcome] += 1

    def take_forced_error(self) -> dict[str, Any] | None:
        """Consume one use of the forced STS error, if any is armed."""
        with self.lock:
            forced = self.forced_error
            if forced is None:
                return None
            forced["times"] -= 1
            if forced["times"] <= 0:
                self.forced_error = None
            return dict(forced)

    def stats(self) -> dict[str, Any]:
        """The JSON body of GET /_devstack/stats."""
        with self.lock:
            return {
                "assume_role_with_web_identity": {"ok": 0, **self.sts_counts},
                "federation": {"getSigninToken": 0, "login": 0, **self.federation_counts},
                "aws_calls": {
                    "max_in_flight": self.max_in_flight,
                    "by_region": dict(self.region_calls),
                    "s3_wrong_region": self.wrong_region,
                },
            }

    def reset(self) -> None:
        """Zero the counters, clear the switches and the clock offset (sessions stay valid)."""
        with self.lock:
            self.sts_counts.clear()
            self.federation_counts.clear()
            self.forced_error = None
            self.delay_ms = 0
            self.latency_ms = 0
            self.clock_offset = 0.0
            self.deny_regions = frozenset()
            self.max_in_flight = self.in_flight
            self.region_calls.clear()
            self.wrong_region = 0
            self.release.set()  # calls held by the delay go on now
            self.release = threading.Event()
