"""Redis: does it answer, how fast, and would it throw live session keys away when full."""

from __future__ import annotations

import time
from typing import Any

import redis

from .result import Result, failed, passed, skipped

REDIS, EVICTION = "Redis", "Redis eviction policy"
EVICTION_FIX = (
    "Give the portal a Redis with maxmemory-policy noeviction (redis.conf, CONFIG SET "
    "maxmemory-policy noeviction, or the managed service's parameter group), sized for the "
    "sessions you expect."
)


def check_redis(client: Any) -> list[Result]:
    """A PING with its round-trip time, then the maxmemory-policy."""
    try:
        start = time.perf_counter()
        client.ping()
        elapsed = time.perf_counter() - start
    except redis.RedisError as error:
        return [
            failed(
                REDIS,
                f"Redis did not answer: {type(error).__name__}: {error}",
                "Check REDIS_URL (host, port, rediss:// for TLS, password or ACL user) and "
                "that this host can reach it.",
            ),
            skipped(EVICTION, "needs Redis to answer"),
        ]
    return [passed(REDIS, f"PING answered in {elapsed * 1000:.1f} ms."), _eviction(client)]


def _eviction(client: Any) -> Result:
    policy, maxmemory = _read_policy(client)
    if policy is None:
        return skipped(
            EVICTION,
            "Redis does not say (INFO and CONFIG GET were refused); make sure its "
            "maxmemory-policy is noeviction.",
        )
    limit = f"maxmemory {maxmemory} bytes" if maxmemory else "no maxmemory set yet"
    if policy == "noeviction":
        return passed(
            EVICTION,
            f"noeviction ({limit}): when Redis is full, writes fail and new sign-ins answer "
            "503, but no live session is thrown away.",
        )
    # Every per-session key has a TTL, so volatile-* may evict exactly those; allkeys-* too.
    which = (
        "keys with a TTL, and every session key has one"
        if policy.startswith("volatile-")
        else "any key"
    )
    return failed(
        EVICTION,
        f"maxmemory-policy is {policy} ({limit}): once Redis is full it evicts {which}. Live "
        "sessions end early, and the per-user and per-IdP-session sets behind revoke and "
        "back-channel logout can vanish, so a revoked session could live on.",
        EVICTION_FIX,
    )


def _read_policy(client: Any) -> tuple[str | None, int]:
    """maxmemory-policy and maxmemory from INFO (allowed on managed Redis), else CONFIG GET."""
    try:
        info = client.info("memory")
        if "maxmemory_policy" in info:
            return str(info["maxmemory_policy"]), int(info.get("maxmemory") or 0)
    except redis.RedisError:
        pass
    try:
        config = client.config_get("maxmemory*")
    except redis.RedisError:
        return None, 0
    policy = config.get("maxmemory-policy") or config.get(b"maxmemory-policy")
    maxmemory = config.get("maxmemory") or config.get(b"maxmemory") or 0
    if isinstance(policy, bytes):
        policy = policy.decode()
    return (str(policy) if policy else None), int(maxmemory)
