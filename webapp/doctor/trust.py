"""A role as STS judges it for a web identity: its trust policy and maximum session duration."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import unquote

from ..credentials.roles import role_name
from .result import Result, failed, passed

ACTION = "sts:AssumeRoleWithWebIdentity"


def check_role(
    role: dict[str, Any], *, url: str, client_id: str, audience: str | None, duration: int
) -> Result:
    """Whether the role (IAM's GetRole answer) trusts the provider for url with aud = client_id."""
    arn = role["Arn"]
    partition, account = arn.split(":")[1], arn.split(":")[4]
    provider_arn = f"arn:{partition}:iam::{account}:oidc-provider/{url}"
    problems = _trust_problems(_policy(role), provider_arn, url, client_id, audience)
    longest = int(role.get("MaxSessionDuration", 3600))
    if longest < duration:
        problems.append(
            (
                f"MaxSessionDuration {longest} s is shorter than STS_DURATION_SECONDS {duration} s "
                "(the portal falls back to one-hour credentials)",
                f"raise the role's maximum session duration to {duration} s or lower "
                "STS_DURATION_SECONDS",
            )
        )
    name = f"IAM role {role_name(arn)}"
    if problems:
        detail = "; ".join(d for d, _ in problems) + "."
        fix = "; ".join(f for _, f in problems)
        return failed(name, detail, fix[:1].upper() + fix[1:] + ".")
    return passed(
        name,
        f"Trusts {provider_arn} for {ACTION} with {url}:aud = {client_id!r}; MaxSessionDuration "
        f"{longest} s covers STS_DURATION_SECONDS {duration} s.",
    )


def _policy(role: dict[str, Any]) -> dict[str, Any]:
    document = role.get("AssumeRolePolicyDocument") or {}
    if isinstance(document, str):  # URL-encoded JSON when a client does not decode it
        document = json.loads(unquote(document))
    return document if isinstance(document, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _federated(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    return (
        [str(f) for f in _as_list(principal.get("Federated"))]
        if isinstance(principal, dict)
        else []
    )


def _pinned_audiences(statement: dict[str, Any], url: str) -> list[str]:
    """The values a StringEquals condition allows for <url>:aud (keys ignore case, as in IAM)."""
    conditions = statement.get("Condition")
    tests = conditions.get("StringEquals") if isinstance(conditions, dict) else None
    if not isinstance(tests, dict):
        return []
    key = f"{url}:aud".lower()
    return [str(v) for name, value in tests.items() if name.lower() == key for v in _as_list(value)]


def _trust_problems(
    policy: dict[str, Any], provider_arn: str, url: str, client_id: str, audience: str | None
) -> list[tuple[str, str]]:
    """What in a trust policy keeps this provider's ID tokens from assuming the role."""
    fix = (
        f"let the trust policy allow {ACTION} for Principal.Federated {provider_arn} with "
        f'Condition StringEquals {{"{url}:aud": "{client_id}"}}'
    )
    allows = [
        s
        for s in _as_list(policy.get("Statement"))
        if isinstance(s, dict) and s.get("Effect") == "Allow"
    ]
    trusting = [s for s in allows if provider_arn in _federated(s)]
    if not trusting:
        others = ", ".join(sorted({f for s in allows for f in _federated(s)}))
        whom = f"trusts {others}, not" if others else "trusts no identity provider, not"
        detail = f"The role {whom} this issuer's provider {provider_arn}; STS would answer "
        return [(detail + "AccessDenied", fix)]
    acting = [
        s
        for s in trusting
        if any(fnmatchcase(ACTION.lower(), str(a).lower()) for a in _as_list(s.get("Action")))
    ]
    if not acting:
        return [(f"The role trusts {provider_arn} but does not allow {ACTION}", fix)]
    pinned = [value for s in acting for value in _pinned_audiences(s, url)]
    if client_id in pinned:
        return []
    if pinned:
        which = " (the API identifier, AUTH0_AUDIENCE)" if audience in pinned else ""
        detail = (
            f"The trust policy pins {url}:aud to {pinned!r}{which}, not the client ID "
            f"{client_id!r}; STS would answer AccessDenied"
        )
    else:
        detail = (
            f"The trust policy does not pin {url}:aud to the client ID {client_id!r} in a "
            "StringEquals condition, so any audience the provider lists may assume the role"
        )
    return [(detail, fix)]
