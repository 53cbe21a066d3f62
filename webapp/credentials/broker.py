"""The credential broker: the ID token → STS AssumeRoleWithWebIdentity → cached credentials."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import boto3
import redis
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, current_app, session

from .. import audit, clock, metrics, sessions
from ..auth import ensure_fresh, tokens_renewed
from ..session_index import get_user_key
from ..store import get_store, global_key, session_key
from ..tokens import check_sts_compatibility, decode_unverified
from .problems import NoRoleError, RoleChoiceNeeded, StsProblem
from .roles import Rule, role_name, roles_for

log = logging.getLogger(__name__)
RENEW_BEFORE = 300  # re-assume five minutes before the credentials expire
SAFE_DURATION = 3600  # every role's MaxSessionDuration is at least one hour
REMEMBER_SECONDS = 180 * 86400  # how long the last role choice of a user is remembered


@dataclass(frozen=True)
class AwsCredentials:
    """Temporary credentials for one role, as STS returned them."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: float
    role_arn: str
    role_name: str
    assumed_role_arn: str


def build_sts_client(region: str, endpoint_url: str | None, timeout: float) -> Any:
    """One unsigned STS client with bounded standard retries and timeouts."""
    return boto3.session.Session().client(
        "sts",
        region_name=region,
        endpoint_url=endpoint_url,
        # AssumeRoleWithWebIdentity is unsigned: the ID token is the only credential.
        config=Config(
            signature_version=UNSIGNED,
            retries={"mode": "standard", "total_max_attempts": 3},
            connect_timeout=min(3, timeout),
            read_timeout=timeout,
        ),
    )


def _state() -> dict[str, Any]:
    state: dict[str, Any] = current_app.extensions["webapp.credentials"]
    return state


def role_rules() -> list[Rule]:
    """The ROLE_RULES this app was started with (empty: AWS_ROLE_ARN alone)."""
    rules: list[Rule] = _state()["rules"]
    return rules


def offered_roles() -> list[str]:
    """Role ARNs the signed-in user may assume, from the verified ID token's claims."""
    claims = decode_unverified(session["tokens"]["id_token"]).claims
    return roles_for(claims, _state()["rules"], current_app.config["AWS_ROLE_ARN"])


def chosen_role() -> str:
    """The role to assume now; raises NoRoleError or RoleChoiceNeeded."""
    offered = offered_roles()
    if not offered:
        raise NoRoleError()
    if len(offered) == 1:
        return offered[0]
    choice = session.get("role_choice")
    if isinstance(choice, str) and choice in offered:
        return choice
    remembered = remembered_role()  # the last choice of an earlier session, if still offered
    if remembered in offered:
        session["role_choice"] = remembered
        return str(remembered)
    raise RoleChoiceNeeded(offered)


def _remembered_key() -> str:
    user = session["user"]
    return global_key("user", get_user_key(user["iss"], user["sub"]), "role")


def remembered_role() -> str | None:
    """The role this user last chose, in any session (None when never or long ago)."""
    value = get_store().get(_remembered_key())
    return value if isinstance(value, str) else None


def remember_role(arn: str) -> None:
    """Keep arn as this session's role and as the user's choice for their next sign-in."""
    session["role_choice"] = arn
    get_store().put(_remembered_key(), arn, REMEMBER_SECONDS)


def load_cached(handle: str) -> AwsCredentials | None:
    """The credentials kept for a session, or None."""
    return _credentials(get_store().get(session_key(handle, "aws")))


def _credentials(data: Any) -> AwsCredentials | None:
    try:
        return AwsCredentials(**data) if isinstance(data, dict) else None
    except TypeError:
        return None


def get_credentials() -> AwsCredentials:
    """Credentials for the signed-in user's role: cached, else assumed once under a session lock."""
    role_arn = chosen_role()
    handle = sessions.get_own_handle()
    creds = _credentials(sessions.read_beside("aws"))  # usually read with the session
    cached = _usable(creds, role_arn)
    metrics.count_credential_cache(cached)
    if not cached:
        try:
            with get_store().lock(handle, "sts", timeout=30, blocking_timeout=20):
                creds = load_cached(handle)  # another request of this session may have it now
                if not _usable(creds, role_arn):
                    creds = _switch(handle, role_arn)
        except redis.exceptions.LockError as exc:
            raise StsProblem("Busy", "Another request is still getting credentials.") from exc
    assert creds is not None
    summary = {
        "role_arn": creds.role_arn,
        "assumed_role_arn": creds.assumed_role_arn,
        "expiration": creds.expiration,
    }
    if session.get("aws") != summary:
        session["aws"] = summary
    return creds


def _switch(handle: str, role_arn: str) -> AwsCredentials:
    """Credentials for role_arn kept from earlier in this session, else assumed now.

    Every role's credentials are kept in one hash beside the session (field: the role ARN), so
    switching back to a role does not call STS again while its credentials are valid; the one
    in use is also copied to the "aws" part, which is read with the session.
    """
    store, roles_key = get_store(), session_key(handle, "roles")
    creds = _credentials(store.get_field(roles_key, role_arn))
    if not _usable(creds, role_arn):
        creds = _assume(role_arn)
        store.put_field(roles_key, role_arn, asdict(creds), int(creds.expiration - clock.now()))
    assert creds is not None
    store.put(session_key(handle, "aws"), asdict(creds), creds.expiration - clock.now())
    return creds


def _usable(creds: AwsCredentials | None, role_arn: str) -> bool:
    return (
        creds is not None
        and creds.role_arn == role_arn
        and creds.expiration - clock.now() > RENEW_BEFORE
    )


def _assume(role_arn: str) -> AwsCredentials:
    ensure_fresh()  # normally done before the view; a long request may have crossed the margin
    id_token = str(session["tokens"]["id_token"])
    config = current_app.config
    verdict = check_sts_compatibility(
        id_token,
        provider_url=config["AUTH0_ISSUER"],
        audiences=[config["AUTH0_CLIENT_ID"]],
        now=clock.now(),
    )
    claims = decode_unverified(id_token).claims
    if not verdict.accepted:
        audit.record("role_assumed", role=role_arn, outcome="PreflightRefused")
        metrics.count_sts_call("PreflightRefused")
        raise StsProblem("PreflightRefused", "", findings=verdict.findings, claims=claims)
    params = {
        "RoleArn": role_arn,
        "RoleSessionName": verdict.session_name,
        "WebIdentityToken": id_token,
        "DurationSeconds": config["STS_DURATION_SECONDS"],
    }
    client = _state()["client"]
    for attempt in (1, 2):
        try:
            answer = client.assume_role_with_web_identity(**params)
            break
        except ClientError as exc:
            code, message = exc.response["Error"]["Code"], exc.response["Error"]["Message"]
            too_long = code == "ValidationError" and "MaxSessionDuration" in message
            if attempt == 1 and too_long and params["DurationSeconds"] > SAFE_DURATION:
                log.warning("%s: duration too long for this role; retrying with 1 h", role_arn)
                params["DurationSeconds"] = SAFE_DURATION
                continue
            log.warning("AssumeRoleWithWebIdentity %s refused: %s %s", role_arn, code, message)
            audit.record("role_assumed", role=role_arn, outcome=code)
            metrics.count_sts_call(code)
            raise StsProblem(code, message, role_arn=role_arn, claims=claims) from exc
        except BotoCoreError as exc:
            log.warning("STS unreachable: %s", exc)
            metrics.count_sts_call("Unreachable")
            raise StsProblem("Unreachable", str(exc), role_arn=role_arn) from exc
    c = answer["Credentials"]
    audit.record("role_assumed", role=role_arn, outcome="ok")
    metrics.count_sts_call("ok")
    return AwsCredentials(
        access_key_id=c["AccessKeyId"],
        secret_access_key=c["SecretAccessKey"],
        session_token=c["SessionToken"],
        expiration=c["Expiration"].timestamp(),
        role_arn=role_arn,
        role_name=role_name(role_arn),
        assumed_role_arn=answer["AssumedRoleUser"]["Arn"],
    )


def _drop_what_is_no_longer_offered(app: Flask, *, claims: dict[str, Any]) -> None:
    """After a renewal: forget a role choice and credentials the new claims no longer offer."""
    offered = roles_for(claims, _state()["rules"], current_app.config["AWS_ROLE_ARN"])
    if session.get("role_choice") not in offered:
        session.pop("role_choice", None)
    if (session.get("aws") or {}).get("role_arn") not in offered:
        session.pop("aws", None)
        handle = sessions.get_own_handle()
        get_store().delete(session_key(handle, "aws"), session_key(handle, "roles"))


def init_app(app: Flask, rules: list[Any]) -> None:
    """Keep the role rules and one STS client for this app; follow token renewals."""
    app.extensions["webapp.credentials"] = {
        "rules": rules,
        "client": build_sts_client(
            app.config["AWS_REGION"],
            app.config["AWS_ENDPOINT_URL"],
            app.config["HTTP_TIMEOUT_SECONDS"],
        ),
    }
    tokens_renewed.connect(_drop_what_is_no_longer_offered, sender=app)
    metrics.time_aws_calls(app, app.extensions["webapp.credentials"]["client"].meta.events)
