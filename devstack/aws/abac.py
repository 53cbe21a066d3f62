"""`${aws:PrincipalTag/KEY}` in S3 policies, which moto's IAM enforcement cannot evaluate.

moto substitutes no policy variables, ignores Condition blocks in identity policies and sees
only the bucket ARN for ListBucket. So for every role whose inline policy uses a principal-tag
variable, the seeder gives moto a widened copy (each variable a `*`, conditions dropped) and the
front evaluates the role's real statements for S3 object reads and writes and bucket listings,
with the variables replaced by the session's tags, as IAM would: an explicit Deny wins, an Allow
is needed, a statement whose variable names a tag the session lacks does not apply, and an
unknown condition never holds. moto then applies the widened policy too: both must allow.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

VARIABLE = re.compile(r"\$\{aws:PrincipalTag/([^}]+)\}", re.IGNORECASE)
# S3 GETs on a bucket with these sub-resources are not listings.
NOT_LISTING = {
    "location", "acl", "policy", "policyStatus", "tagging", "versioning", "uploads", "cors",
    "website", "lifecycle", "logging", "notification", "encryption", "replication",
    "ownershipControls", "accelerate", "publicAccessBlock", "object-lock",
}  # fmt: skip
OBJECT_ACTIONS = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject"}
OBJECT_ACTIONS["DELETE"] = "s3:DeleteObject"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def uses_tags(statements: list[dict[str, Any]]) -> bool:
    """Whether a policy's statements use a principal-tag variable anywhere."""
    return bool(VARIABLE.search(json.dumps(statements)))


def widen(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements as moto can enforce them: each variable a wildcard, no conditions."""
    widened = json.loads(VARIABLE.sub("*", json.dumps(statements)))
    for statement in widened:
        statement.pop("Condition", None)
    return widened


def s3_request(method: str, key: str, args: dict[str, str]) -> tuple[str, str | None] | None:
    """(action, s3:prefix) of an S3 request on a bucket; None: the front leaves it to moto."""
    if key:
        action = OBJECT_ACTIONS.get(method)
        return (action, None) if action else None
    if method == "GET" and not NOT_LISTING & set(args):
        return "s3:ListBucket", args.get("prefix", "")
    return None


def _substitute(pattern: str, tags: dict[str, str]) -> str | None:
    """The pattern with the session's tag values in place; None when a tag is missing."""
    lower = {k.lower(): v for k, v in tags.items()}
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = lower.get(match.group(1).lower())
        if found is None:
            missing = True
            return ""
        # A tag value is data, never a wildcard: escape what fnmatch would read as one.
        return re.sub(r"([*?\[])", r"[\1]", found)

    text = VARIABLE.sub(value, pattern)
    return None if missing else text


def _matches(patterns: Any, value: str, tags: dict[str, str], *, fold: bool = False) -> bool:
    for pattern in _as_list(patterns):
        concrete = _substitute(str(pattern), tags)
        if concrete is None:
            continue
        if fold and fnmatch.fnmatch(value.lower(), concrete.lower()):
            return True
        if not fold and fnmatch.fnmatchcase(value, concrete):
            return True
    return False


def _condition_holds(
    condition: dict[str, Any], context: dict[str, str], tags: dict[str, str]
) -> bool:
    for operator, tests in condition.items():
        if operator not in ("StringEquals", "StringLike") or not isinstance(tests, dict):
            return False  # unknown: fail closed
        for key, expected in tests.items():
            actual = context.get(key.lower())
            if actual is None:
                return False
            patterns = _as_list(expected)
            if operator == "StringEquals":
                concrete = [_substitute(str(p), tags) for p in patterns]
                if actual not in concrete:
                    return False
            elif not _matches(patterns, actual, tags):
                return False
    return True


def is_allowed(
    statements: list[dict[str, Any]],
    tags: dict[str, str],
    action: str,
    resource: str,
    context: dict[str, str],
) -> bool:
    """IAM's verdict for one action on one resource: explicit Deny wins, else an Allow is needed."""
    allowed = False
    for statement in statements:
        if not _matches(statement.get("Action", []), action, {}, fold=True):
            continue
        if not _matches(statement.get("Resource", []), resource, tags):
            continue
        if not _condition_holds(statement.get("Condition", {}), context, tags):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed
