"""Mutable state of the front: counters, misbehaviour switches, issued sessions, signin tokens."""

from __future__ import annotations

import threading
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
    username: str | None


@dataclass
class FrontState:
    """Everything the front remembers between requests, guarded by one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sts_counts: Counter[str] = field(default_factory=Counter)
    federation_counts: Counter[str] = field(default_factory=Counter)
    forced_error: dict[str, Any] | None = None
    delay_ms: int = 0
    latency_ms: int = 0  # added to every AWS API call, to mimic a real region's round trip
    sessions: dict[str, Session] = field(default_factory=dict)
    signin_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

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
        """Zero the counters and clear the switches (sessions stay valid)."""
        with self.lock:
            self.sts_counts.clear()
            self.federation_counts.clear()
            self.forced_error = None
            self.delay_ms = 0
            self.latency_ms = 0
