"""Role trust-policy evaluation for web identities (moto does not evaluate these)."""

from __future__ import annotations

import fnmatch
from typing import Any

ACTION = "sts:AssumeRoleWithWebIdentity"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str, like: bool) -> bool:
    # IAM's StringLike knows only * and ?; escape [ so fnmatch does not treat it as a set.
    if like:
        return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))
    return value == pattern


def _condition_holds(operator: str, tests: dict[str, Any], context: dict[str, list[str]]) -> bool:
    """Evaluate one condition operator block; unknown operators never match (fail closed)."""
    qualifier, _, base = operator.rpartition(":")
    if base not in ("StringEquals", "StringLike", "StringNotEquals", "StringNotLike"):
        return False
    like = base.endswith("Like")
    negate = "Not" in base
    for key, expected in tests.items():
        actual = context.get(key.lower())
        if actual is None:
            # A missing key fails positive operators and satisfies negated ones.
            if negate:
                continue
            return False
        hits = [any(_matches(p, v, like) for p in _as_list(expected)) for v in actual]
        ok = all(hits) if qualifier == "ForAllValues" else any(hits)
        if negate:
            ok = not any(hits)
        if not ok:
            return False
    return True


def check_trust(
    policy: dict[str, Any], provider_arn: str, context: dict[str, list[str]], actions: list[str]
) -> bool:
    """True if an Allow statement grants every action in `actions` to the provider and no Deny."""
    allowed = set()
    for statement in _as_list(policy.get("Statement", [])):
        federated = _as_list((statement.get("Principal") or {}).get("Federated", []))
        if provider_arn not in federated:
            continue
        conditions = statement.get("Condition", {})
        if not all(_condition_holds(op, tests, context) for op, tests in conditions.items()):
            continue
        granted = {
            action
            for action in actions
            if any(_matches(p, action, True) for p in _as_list(statement.get("Action", [])))
        }
        if statement.get("Effect") == "Deny" and granted:
            return False
        if statement.get("Effect") == "Allow":
            allowed |= granted
    return allowed == set(actions)


def condition_context(provider_url: str, claims: dict[str, Any], aud: str) -> dict[str, list[str]]:
    """The condition keys STS exposes for a web identity (lower-cased, as IAM compares them)."""
    amr = claims.get("amr", [])
    context = {
        f"{provider_url}:aud": [aud],
        f"{provider_url}:sub": [str(claims.get("sub", ""))],
        f"{provider_url}:amr": [str(v) for v in _as_list(amr)],
    }
    return {key.lower(): values for key, values in context.items()}
