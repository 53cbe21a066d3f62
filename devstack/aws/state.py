"""Mutable state of the front: counters, misbehaviour switches, issued sessions, signin tokens."""

from __future__ import annotations

import threading
import time
from collections import Counter
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
    sessions: dict[str, Session] = field(default_factory=dict)
    signin_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    # Keys of seeded IAM users for tools (the read-only "doctor"), served at /_devstack/credentials.
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)

    def now(self) -> float:
        """The front's clock for every expiry it checks: real time plus the offset tests set."""
        return time.time() + self.clock_offset

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
            self.release.set()  # calls held by the delay go on now
            self.release = threading.Event()
