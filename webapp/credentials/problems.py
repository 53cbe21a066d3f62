"""Why the portal could not get AWS credentials, in plain words, and the pages that say so."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask, current_app, redirect, render_template, request, url_for


class NoRoleError(Exception):
    """No role rule matches the user's claims."""


class RoleChoiceNeeded(Exception):
    """Several roles match and the user has not picked one yet."""

    def __init__(self, offered: Sequence[str]) -> None:
        super().__init__("several roles match")
        self.offered = list(offered)


class StsProblem(Exception):
    """STS (or the pre-flight check) refused: what explains it, never the token itself."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        findings: Sequence[Any] = (),
        role_arn: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.role_arn = code, message, role_arn
        self.findings = [f for f in findings if not f.ok]
        self.claims = dict(claims or {})


# code → (HTTP status, title, what to do). {iss}, {aud}, {sub}, {role}, {region} are filled in.
GUIDANCE: dict[str, tuple[int, str, str]] = {
    "PreflightRefused": (
        502,
        "Your sign-in token would be refused by AWS",
        "The portal checked the token before sending it and found the problems below. "
        "They are configuration problems between the identity provider and AWS IAM.",
    ),
    "InvalidIdentityToken": (
        502,
        "AWS does not accept tokens from this identity provider",
        "This is a configuration problem between Auth0 and AWS IAM, not something you did.",
    ),
    "ExpiredTokenException": (
        401,
        "Your sign-in has expired",
        "Sign in again to get a fresh token. If this keeps happening, the server clocks differ.",
    ),
    "IDPRejectedClaim": (
        403,
        "The identity provider rejected a claim",
        "AWS reports that the identity provider refused a claim in your token. "
        "Ask your administrator to check the user's profile and the Auth0 Actions.",
    ),
    "IDPCommunicationError": (
        503,
        "AWS could not reach the identity provider",
        "This is usually brief. Try again in a minute.",
    ),
    "AccessDenied": (
        403,
        "The role {role} does not trust your sign-in",
        "The role's trust policy must allow sts:AssumeRoleWithWebIdentity for the federated "
        "principal of {iss}, with conditions that match aud = {aud} (and sub = {sub} if it "
        "checks the user).",
    ),
    "PackedPolicyTooLarge": (
        502,
        "Your token carries too much for AWS",
        "The token has too many claims or session tags for an AWS session. "
        "Ask your administrator to remove session tags or large custom claims.",
    ),
    "MalformedPolicyDocument": (502, "AWS refused the session policy", "Ask your administrator."),
    "RegionDisabledException": (
        503,
        "STS is not enabled in region {region}",
        "An account administrator must activate STS in this region, or AWS_REGION must change.",
    ),
    "ValidationError": (
        502,
        "AWS refused the request",
        "Ask your administrator to check the role ARN and STS_DURATION_SECONDS.",
    ),
    "Throttling": (503, "AWS is busy", "Too many requests right now. Try again in a minute."),
    "Unreachable": (503, "AWS cannot be reached", "Try again in a minute."),
    "Busy": (503, "Still getting your credentials", "Reload the page in a moment."),
}

# Sub-cases of InvalidIdentityToken, recognised by STS's message text.
INVALID_TOKEN_CAUSES = {
    "Incorrect token audience": "The IAM OIDC provider for {iss} must list {aud} (the Auth0 "
    "application's client ID) as an audience. Auth0 access tokens, whose aud has two values, "
    "are always refused; this portal sends the ID token, whose aud is the client ID.",
    "No OpenIDConnect provider found": "Create an IAM OIDC identity provider whose URL is "
    "exactly {iss}, as the token spells it (a trailing slash or none, character for character).",
    "Missing a required claim": "The token lacks a claim STS needs: {message}.",
    "verification key": "AWS could not fetch the signing keys named by {iss}'s discovery document. "
    "The identity provider must be reachable from the internet.",
}


def describe(
    code: str,
    message: str,
    *,
    claims: Mapping[str, Any],
    role_arn: str | None,
    region: str,
) -> tuple[int, str, str]:
    """HTTP status, title and advice for an STS error code, with claim, role and region filled in.

    The error pages and `flask doctor` both word STS problems through this.
    """
    status, title, advice = GUIDANCE.get(
        code, (502, "AWS refused to issue credentials", "Ask your administrator.")
    )
    values = _values(message, claims, role_arn, region)
    if code == "InvalidIdentityToken":
        for needle, cause in INVALID_TOKEN_CAUSES.items():
            if needle in message:
                advice = cause
    return status, title.format(**values), advice.format(**values)


def _values(
    message: str, claims: Mapping[str, Any], role_arn: str | None, region: str
) -> dict[str, Any]:
    return {
        "iss": claims.get("iss", "?"),
        "aud": claims.get("aud", "?"),
        "sub": claims.get("sub", "?"),
        "role": (role_arn or "?").rsplit("/", 1)[-1],
        "region": region,
        "message": message,
    }


def explain(problem: StsProblem) -> dict[str, Any]:
    """Title, status, advice and the claims involved, for the problem page."""
    region = current_app.config["AWS_REGION"]
    status, title, advice = describe(
        problem.code,
        problem.message,
        claims=problem.claims,
        role_arn=problem.role_arn,
        region=region,
    )
    values = _values(problem.message, problem.claims, problem.role_arn, region)
    return {
        "status": status,
        "title": title,
        "advice": advice,
        "code": problem.code,
        "message": problem.message,
        "findings": problem.findings,
        "involved": {k: values[k] for k in ("iss", "aud", "sub") if k in problem.claims},
        "role_arn": problem.role_arn,
    }


def _no_role(exc: NoRoleError) -> Any:
    return render_template("credentials/no_role.html"), 403


def _choose(exc: RoleChoiceNeeded) -> Any:
    return redirect(url_for("credentials.pick", next=request.full_path.rstrip("?")))


def _problem(exc: StsProblem) -> Any:
    page = explain(exc)
    return render_template("credentials/problem.html", **page), page["status"]


def register_handlers(app: Flask) -> None:
    """Turn the broker's exceptions into pages (or a redirect) wherever a view raises them."""
    app.register_error_handler(NoRoleError, _no_role)
    app.register_error_handler(RoleChoiceNeeded, _choose)
    app.register_error_handler(StsProblem, _problem)
