"""A real ID token: the portal's STS pre-flight verdict, then one real STS call per role."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..credentials.problems import describe
from ..credentials.roles import Rule, role_name, roles_for
from ..tokens import check_sts_compatibility, decode_unverified
from ..tokens.times import utc_iso
from .result import Result, failed, passed, skipped
from .roles import get_role_arns

PREFLIGHT = "ID token (STS pre-flight)"


def check_token(
    token: str,
    *,
    issuer: str,
    client_id: str,
    rules: Sequence[Rule],
    default_role: str | None,
    sts: Any,
    duration: int,
    region: str,
) -> list[Result]:
    """The verdict the portal reaches before calling STS, and what STS answers for each role."""
    verdict = check_sts_compatibility(token, provider_url=issuer, audiences=[client_id])
    role_arns = get_role_arns(rules, default_role)
    names = [f"STS AssumeRoleWithWebIdentity {role_name(arn)}" for arn in role_arns]
    if verdict.session_name is None:  # not a JWT at all: nothing to send
        reason = verdict.findings[0].detail
        return [
            failed(PREFLIGHT, reason, "Pass the ID token (three dot-separated parts)."),
            *(skipped(name, "needs a JWT") for name in names),
        ]
    claims = decode_unverified(token).claims
    if verdict.accepted:
        first = passed(PREFLIGHT, f"STS would accept it; RoleSessionName {verdict.session_name!r}.")
    else:
        _, title, advice = describe(
            "PreflightRefused", "", claims=claims, role_arn=None, region=region
        )
        refusals = " ".join(f"{f.title}: {f.detail}" for f in verdict.findings if not f.ok)
        first = failed(PREFLIGHT, f"{title}. {refusals}", advice)
    offered = roles_for(claims, rules, default_role)
    results = [first]
    for name, arn in zip(names, role_arns, strict=True):
        params = {
            "RoleArn": arn,
            "RoleSessionName": verdict.session_name,
            "WebIdentityToken": token,
            "DurationSeconds": duration,
        }
        note = "" if arn in offered else " (the role rules do not offer it to this token)"
        try:
            answer = sts.assume_role_with_web_identity(**params)
        except ClientError as error:
            code, message = error.response["Error"]["Code"], error.response["Error"]["Message"]
            _, title, advice = describe(code, message, claims=claims, role_arn=arn, region=region)
            results.append(failed(name, f"{code}: {message} — {title}.{note}", advice))
            continue
        except BotoCoreError as error:
            _, title, advice = describe(
                "Unreachable", str(error), claims=claims, role_arn=arn, region=region
            )
            results.append(failed(name, f"{title}: {error}", advice))
            continue
        until = utc_iso(answer["Credentials"]["Expiration"].timestamp() // 1)
        user = answer["AssumedRoleUser"]["Arn"]
        results.append(passed(name, f"Credentials issued for {user}, valid until {until}.{note}"))
    return results
