"""`flask doctor`: checks of a live configuration, each a plain function returning Results.

The checks follow the data path: the identity provider, Redis, the role configuration, AWS IAM
as STS will read it and, given a real ID token, STS itself. The command only prints them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..credentials.broker import build_sts_client
from .iam import check_iam, get_iam_client
from .idp import check_identity_provider
from .result import Result, Status
from .roles import check_role_config
from .signin import SIGN_IN, sign_in
from .store import check_redis
from .token import check_token

__all__ = ["SIGN_IN", "Result", "Status", "run_checks", "run_token_checks", "sign_in"]


def run_checks(
    config: Mapping[str, Any], redis_client: Any, *, profile: str | None = None
) -> Iterator[Result]:
    """Every check of this configuration, one Result at a time, in the order of the data path."""
    timeout = config["HTTP_TIMEOUT_SECONDS"]
    issuer, client_id = config["AUTH0_ISSUER"], config["AUTH0_CLIENT_ID"]
    yield from check_identity_provider(
        issuer, client_id, config["AUTH0_CLIENT_SECRET"], timeout=timeout
    )
    yield from check_redis(redis_client)
    roles, _, role_arns = check_role_config(config["ROLE_RULES"], config["AWS_ROLE_ARN"])
    yield roles
    region, endpoint_url = config["AWS_REGION"], config["AWS_ENDPOINT_URL"]
    iam, why_not = get_iam_client(
        profile, region=region, endpoint_url=endpoint_url, timeout=timeout
    )
    if iam is None:
        assert why_not is not None
        yield why_not
        return
    yield from check_iam(
        iam,
        issuer=issuer,
        client_id=client_id,
        audience=config["AUTH0_AUDIENCE"],
        role_arns=role_arns,
        duration=config["STS_DURATION_SECONDS"],
    )


def run_token_checks(config: Mapping[str, Any], token: str) -> list[Result]:
    """The portal's STS pre-flight verdict on a real ID token, then STS's answer for each role."""
    _, rules, _ = check_role_config(config["ROLE_RULES"], config["AWS_ROLE_ARN"])
    region, timeout = config["AWS_REGION"], config["HTTP_TIMEOUT_SECONDS"]
    return check_token(
        token,
        issuer=config["AUTH0_ISSUER"],
        client_id=config["AUTH0_CLIENT_ID"],
        rules=rules,
        default_role=config["AWS_ROLE_ARN"],
        sts=build_sts_client(region, config["AWS_ENDPOINT_URL"], timeout),
        duration=config["STS_DURATION_SECONDS"],
        region=region,
    )
