"""AWS IAM as STS will see it: the OIDC provider for the issuer, its audiences, the roles' trust."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from ..credentials.roles import account_id, role_name
from .result import Result, failed, passed, skipped
from .trust import check_role

IAM, PROVIDER, AUDIENCE = "IAM", "IAM OIDC provider", "IAM provider audience"
READ_ACTIONS = "iam:ListOpenIDConnectProviders, iam:GetOpenIDConnectProvider, iam:GetRole"
# Errors that say the doctor's own credentials cannot read IAM, not that the portal is wrong.
NOT_ALLOWED = {
    "AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "SignatureDoesNotMatch",
    "ExpiredToken", "UnrecognizedClientException",
}  # fmt: skip


def get_iam_client(
    profile: str | None, *, region: str, endpoint_url: str | None, timeout: float
) -> tuple[Any | None, Result | None]:
    """An IAM client on DOCTOR_AWS_PROFILE or the ambient credentials, else why there is none."""
    try:
        session = boto3.session.Session(profile_name=profile or None, region_name=region)
        found = session.get_credentials()
    except ProfileNotFound:
        return None, failed(
            IAM,
            f"DOCTOR_AWS_PROFILE names the profile {profile!r}, which the AWS config files lack.",
            "Name a profile from ~/.aws/config or ~/.aws/credentials that may read IAM.",
        )
    except BotoCoreError as error:
        return None, failed(IAM, f"The AWS credentials could not be loaded: {error}", "Fix them.")
    if found is None:
        return None, skipped(
            IAM,
            "No AWS credentials to read IAM with, so the OIDC provider and the roles' trust "
            f"were not checked: set DOCTOR_AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            f") to credentials allowed {READ_ACTIONS}.",
        )
    config = Config(
        connect_timeout=min(3, timeout),
        read_timeout=timeout,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    return session.client("iam", endpoint_url=endpoint_url, config=config), None


def provider_url(issuer: str) -> str:
    """The issuer as IAM spells a provider URL and condition-key prefix: no scheme, slash kept."""
    return issuer.split("://", 1)[-1]


def check_iam(
    iam: Any,
    *,
    issuer: str,
    client_id: str,
    audience: str | None,
    role_arns: Sequence[str],
    duration: int,
) -> list[Result]:
    """The provider and its audiences, then each role's trust and maximum session duration."""
    try:
        listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    except (BotoCoreError, ClientError) as error:
        return [_cannot_read(IAM, error)]
    url = provider_url(issuer)
    results = _provider(iam, [p["Arn"] for p in listed], issuer, url, client_id, audience)
    # The account these credentials read is the one their providers live in: a role of another
    # account (ROLE_RULES may span several) cannot be read with them and is skipped, not failed.
    readable = {account_id(p["Arn"]) for p in listed}
    for arn in role_arns:
        if readable and account_id(arn) not in readable:
            account = ", ".join(sorted(readable))
            results.append(
                skipped(
                    f"IAM role {role_name(arn)}",
                    f"These AWS credentials read account {account}, not the role's "
                    f"({account_id(arn)}); run the doctor with keys of that account.",
                )
            )
            continue
        results.append(_role(iam, arn, url, client_id, audience, duration))
    return results


def _cannot_read(name: str, error: Exception) -> Result:
    code = error.response["Error"]["Code"] if isinstance(error, ClientError) else ""
    if code in NOT_ALLOWED:
        return skipped(
            name, f"These AWS credentials may not read IAM ({code}); they need {READ_ACTIONS}."
        )
    return failed(
        name,
        f"IAM could not be read: {error}",
        "Check AWS_ENDPOINT_URL (unset for real AWS) and that this host can reach IAM.",
    )


def _provider(
    iam: Any, arns: list[str], issuer: str, url: str, client_id: str, audience: str | None
) -> list[Result]:
    by_url = {arn.split(":oidc-provider/", 1)[-1]: arn for arn in arns}
    if url not in by_url:
        near = [u for u in by_url if u.rstrip("/").lower() == url.rstrip("/").lower()]
        fix = (
            f"Add an IAM OpenID Connect provider with URL {issuer} and audience {client_id} (the "
            f"client ID): aws iam create-open-id-connect-provider --url {issuer} "
            f"--client-id-list {client_id}"
        )
        if near:
            detail = (
                f"IAM has a provider for {near[0]!r}, but tokens from {issuer!r} need "
                f"{url!r}, "
                + ("trailing slash included" if url.endswith("/") else "without a trailing slash")
            )
            fix += (
                "; provider URLs cannot be edited, so point the roles at it and delete the old one."
            )
        else:
            known = ", ".join(map(repr, by_url)) or "none"
            detail = f"IAM has no provider for {url!r} (it has: {known})"
        detail += (
            "; STS would answer InvalidIdentityToken: No OpenIDConnect provider found in your "
            f"account for {issuer}."
        )
        return [failed(PROVIDER, detail, fix), skipped(AUDIENCE, "needs the provider")]
    arn = by_url[url]
    try:
        provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    except (BotoCoreError, ClientError) as error:
        return [_cannot_read(PROVIDER, error), skipped(AUDIENCE, "needs the provider")]
    found = passed(
        PROVIDER, f"{arn} has URL {provider.get('Url', url)!r}, which is the issuer {issuer!r}."
    )
    return [found, _audience(arn, list(provider.get("ClientIDList", [])), client_id, audience)]


def _audience(arn: str, ids: list[str], client_id: str, audience: str | None) -> Result:
    if client_id in ids:
        return passed(AUDIENCE, f"The client ID {client_id!r} (AUTH0_CLIENT_ID) is among {ids!r}.")
    if audience and audience in ids:
        detail = (
            f"The provider's audiences {ids!r} list the API identifier {audience!r} "
            f"(AUTH0_AUDIENCE) instead of the client ID {client_id!r}"
        )
    else:
        detail = f"The provider's audiences {ids!r} lack the client ID {client_id!r}"
    detail += (
        ": the portal sends the ID token, whose aud is the client ID, so STS would answer "
        "InvalidIdentityToken: Incorrect token audience."
    )
    fix = (
        "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn "
        f"{arn} --client-id {client_id}"
    )
    return failed(AUDIENCE, detail, fix)


def _role(
    iam: Any, arn: str, url: str, client_id: str, audience: str | None, duration: int
) -> Result:
    name = f"IAM role {role_name(arn)}"
    try:
        role = iam.get_role(RoleName=role_name(arn))["Role"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            return _cannot_read(name, error)
        return failed(
            name,
            f"{arn} does not exist; STS would answer AccessDenied.",
            "Create the role, or correct its ARN in ROLE_RULES / AWS_ROLE_ARN.",
        )
    except BotoCoreError as error:
        return _cannot_read(name, error)
    if role["Arn"] != arn:
        account = account_id(role["Arn"])
        if account != account_id(arn):
            return skipped(name, f"These AWS credentials read account {account}, not the role's.")
        return failed(name, f"The role's ARN is {role['Arn']}, not {arn}.", "Use its ARN exactly.")
    return check_role(role, url=url, client_id=client_id, audience=audience, duration=duration)
