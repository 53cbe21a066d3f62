"""Credential broker: the ID token → STS AssumeRoleWithWebIdentity → cached credentials."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass

import boto3
import redis
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, current_app, session

from . import audit, auth, sessions
from .roles import load_rules, role_name, roles_for
from .sts_errors import NoRoleError, RoleChoiceNeeded, SignInAgain, StsProblem, register_handlers
from .tokens import TokenError, check_sts_compatibility, decode_unverified

log = logging.getLogger(__name__)
CREDS_PREFIX = sessions.CREDENTIALS_PREFIX
LOCK_PREFIX = "portal:lock:sts:"
RENEW_BEFORE = 300  # re-assume five minutes before the credentials expire
ID_TOKEN_MARGIN = 60  # renew an ID token this close to expiry before sending it to STS
SAFE_DURATION = 3600  # every role's MaxSessionDuration is at least one hour

__all__ = ["AwsCredentials", "NoRoleError", "RoleChoiceNeeded", "SignInAgain", "StsProblem"]


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


def init_app(app: Flask) -> None:
    """Load the role rules and build one unsigned STS client with bounded standard retries."""
    rules = load_rules(app.config["ROLE_RULES"]) if app.config["ROLE_RULES"] else []
    if not rules and not app.config["AWS_ROLE_ARN"]:
        log.warning("neither ROLE_RULES nor AWS_ROLE_ARN is set: nobody will get AWS credentials")
    client = boto3.session.Session().client(
        "sts",
        region_name=app.config["AWS_REGION"],
        endpoint_url=app.config["AWS_ENDPOINT_URL"],
        # AssumeRoleWithWebIdentity is unsigned: the ID token is the only credential.
        config=Config(
            signature_version=UNSIGNED,
            retries={"mode": "standard", "total_max_attempts": 3},
            connect_timeout=3,
            read_timeout=5,
        ),
    )
    app.extensions["webapp.sts"] = {"rules": rules, "client": client}
    register_handlers(app)


def offered_roles() -> list[str]:
    """Role ARNs the signed-in user may assume, from the verified ID token's claims."""
    claims = decode_unverified(session["tokens"]["id_token"]).claims
    state = current_app.extensions["webapp.sts"]
    return roles_for(claims, state["rules"], current_app.config["AWS_ROLE_ARN"])


def chosen_role() -> str:
    """The role to assume now; raises NoRoleError or RoleChoiceNeeded."""
    offered = offered_roles()
    if not offered:
        raise NoRoleError()
    if len(offered) == 1:
        return offered[0]
    if session.get("role_choice") in offered:
        return session["role_choice"]
    raise RoleChoiceNeeded(offered)


def get_credentials() -> AwsCredentials:
    """Credentials for the signed-in user's role: cached, else assumed once under a session lock."""
    role_arn = chosen_role()
    key = CREDS_PREFIX + session.sid
    creds = _load(key)
    if not _usable(creds, role_arn):
        try:
            with sessions.get_redis().lock(
                LOCK_PREFIX + session.sid, timeout=30, blocking_timeout=20
            ):
                creds = _load(key)  # another request of this session may have just assumed it
                if not _usable(creds, role_arn):
                    creds = _assume(role_arn)
                    _store(key, creds)
        except redis.exceptions.LockError as exc:
            raise StsProblem("Busy", "Another request is still getting credentials.") from exc
    summary = {"role_arn": creds.role_arn, "assumed_role_arn": creds.assumed_role_arn}
    if session.get("aws") != {**summary, "expiration": creds.expiration}:
        session["aws"] = {**summary, "expiration": creds.expiration}
    return creds


def _usable(creds: AwsCredentials | None, role_arn: str) -> bool:
    return (
        creds is not None
        and creds.role_arn == role_arn
        and creds.expiration - sessions.clock() > RENEW_BEFORE
    )


def _load(key: str) -> AwsCredentials | None:
    blob = sessions.get_redis().get(key)
    plaintext = current_app.session_interface.cipher.open(blob, key) if blob else None
    try:
        return AwsCredentials(**json.loads(plaintext)) if plaintext else None
    except (TypeError, ValueError):
        return None


def _store(key: str, creds: AwsCredentials) -> None:
    ttl = max(1, int(creds.expiration - time.time()))
    blob = current_app.session_interface.cipher.seal(json.dumps(asdict(creds)).encode(), key)
    sessions.get_redis().set(key, blob, ex=ttl)


def _fresh_id_token() -> str:
    """The session's ID token, renewed with the refresh token when it is (nearly) expired."""
    tokens = session["tokens"]
    exp = decode_unverified(tokens["id_token"]).claims.get("exp")
    if isinstance(exp, int | float) and exp - sessions.clock() > ID_TOKEN_MARGIN:
        return tokens["id_token"]
    if not tokens.get("refresh_token"):
        raise SignInAgain("Your sign-in has expired.")
    try:
        session["tokens"] = auth.renew_tokens(tokens["refresh_token"])
    except (TokenError, auth.RenewalFailed) as exc:
        log.info("token renewal failed: %s", exc)
        raise SignInAgain("Your sign-in has expired and could not be renewed.") from exc
    return session["tokens"]["id_token"]


def _assume(role_arn: str) -> AwsCredentials:
    id_token = _fresh_id_token()
    config = current_app.config
    verdict = check_sts_compatibility(
        id_token, provider_url=config["AUTH0_ISSUER"], audiences=[config["AUTH0_CLIENT_ID"]]
    )
    claims = decode_unverified(id_token).claims
    if not verdict.accepted:
        audit.record("role_assumed", role=role_arn, outcome="PreflightRefused")
        raise StsProblem("PreflightRefused", "", findings=verdict.findings, claims=claims)
    params = {
        "RoleArn": role_arn,
        "RoleSessionName": verdict.session_name,
        "WebIdentityToken": id_token,
        "DurationSeconds": config["STS_DURATION_SECONDS"],
    }
    client = current_app.extensions["webapp.sts"]["client"]
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
            raise StsProblem(code, message, role_arn=role_arn, claims=claims) from exc
        except BotoCoreError as exc:
            log.warning("STS unreachable: %s", exc)
            raise StsProblem("Unreachable", str(exc), role_arn=role_arn) from exc
    c = answer["Credentials"]
    audit.record("role_assumed", role=role_arn, outcome="ok")
    return AwsCredentials(
        access_key_id=c["AccessKeyId"],
        secret_access_key=c["SecretAccessKey"],
        session_token=c["SessionToken"],
        expiration=c["Expiration"].timestamp(),
        role_arn=role_arn,
        role_name=role_name(role_arn),
        assumed_role_arn=answer["AssumedRoleUser"]["Arn"],
    )
