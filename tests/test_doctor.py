"""Tests for `flask doctor`: the devstack over HTTP, real Redis, stacks broken on purpose."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import boto3
import pytest
import requests
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import FlaskGroup

from devstack.processes import free_port, spawn, start_redis
from devstack.testing import Devstack, RedisServer, app_config, fill_login, idp_tokens
from webapp import create_app
from webapp.doctor import run_token_checks, sign_in
from webapp.doctor.trust import ACTION as ACTION_WEB
from webapp.doctor.trust import check_role

ACCOUNT = "123456789012"
READER = f"arn:aws:iam::{ACCOUNT}:role/portal-reader"
NOBODY = f"arn:aws:iam::{ACCOUNT}:role/portal-nobody"
# No AWS credentials from this machine: only what a test hands the doctor counts.
NO_AWS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
    "DOCTOR_AWS_PROFILE": None,
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
    "AWS_WEB_IDENTITY_TOKEN_FILE": None,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def doctor_keys(stack: Devstack) -> dict[str, str]:
    """The devstack's read-only IAM keys for the doctor, as environment variables."""
    return stack.aws("GET", "_devstack/credentials").json()["doctor"]


def run_doctor(
    app: Flask, *args: str, env: dict[str, Any] | None = None, input: str | None = None
) -> Result:
    """`flask doctor ARGS` on app, with only the AWS credentials in env."""
    runner = app.test_cli_runner()
    return runner.invoke(args=["doctor", *args], env={**NO_AWS, **(env or {})}, input=input)


def line(result: Result, name: str) -> str:
    """The output line of one check (and its fix, when it failed)."""
    lines = result.output.splitlines()
    for n, text in enumerate(lines):
        if text.split("  ", 1)[-1].startswith(f"{name}:"):
            fix = (
                lines[n + 1] if n + 1 < len(lines) and lines[n + 1].startswith("      fix:") else ""
            )
            return f"{text}\n{fix}" if fix else text
    raise AssertionError(f"no line for {name!r} in:\n{result.output}")


def check_lines(result: Result) -> list[str]:
    """The lines that report a check (not fixes, not the summary)."""
    return [t for t in result.output.splitlines() if t[:6] in ("pass  ", "FAIL  ", "skip  ")]


def test_passes_against_the_local_stack(app: Flask, devstack: Devstack) -> None:
    result = run_doctor(app, env=doctor_keys(devstack))
    assert result.exit_code == 0, result.output
    names = [t[6:].split(":", 1)[0] for t in check_lines(result)]
    assert names == [
        "IdP discovery",
        "IdP signing algorithm",
        "IdP signing keys (JWKS)",
        "IdP client credentials",
        "Redis",
        "Redis eviction policy",
        "Role configuration",
        "IAM OIDC provider",
        "IAM provider audience",
        "IAM role portal-admin",
        "IAM role portal-reader",
        "IAM role sandbox-admin",
    ]
    # The demo's second account cannot be read with the first account's keys: skipped, not failed.
    assert all(t.startswith("pass  ") for t in check_lines(result)[:-1]), result.output
    assert line(result, "IAM role sandbox-admin").startswith("skip  ")
    assert "account 123456789012, not the role's (210987654321)" in result.output
    assert "invalid_grant" in line(result, "IdP client credentials")
    assert "noeviction" in line(result, "Redis eviction policy")
    assert "ms" in line(result, "Redis")
    assert result.output.splitlines()[-1] == "11 passed, 0 failed, 1 skipped."


def test_without_aws_credentials_iam_is_skipped_and_says_why(app: Flask) -> None:
    result = run_doctor(app)
    assert result.exit_code == 0, result.output
    assert all(t[:6] in ("pass  ", "skip  ") for t in check_lines(result))
    skip = line(result, "IAM")
    assert skip.startswith("skip  IAM: No AWS credentials")
    assert "DOCTOR_AWS_PROFILE" in skip and "iam:GetRole" in skip


def test_a_named_profile_reads_iam(app: Flask, devstack: Devstack, tmp_path: Path) -> None:
    keys = doctor_keys(devstack)
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[doctor]\n"
        f"aws_access_key_id = {keys['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {keys['AWS_SECRET_ACCESS_KEY']}\n"
    )
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "DOCTOR_AWS_PROFILE": "doctor"}
    result = run_doctor(app, env=env)
    assert result.exit_code == 0, result.output
    assert line(result, "IAM role portal-reader").startswith("pass  ")

    result = run_doctor(app, env={**env, "DOCTOR_AWS_PROFILE": "nobody-has-this"})
    assert result.exit_code == 1
    assert "'nobody-has-this'" in line(result, "IAM")


def test_issuer_without_the_trailing_slash_names_both_values(
    devstack: Devstack, redis_server: RedisServer
) -> None:
    app = create_app(app_config(devstack, redis_server))
    # The setting as a user might write it; the IdP's discovery says issuer with its slash.
    app.config["AUTH0_ISSUER"] = devstack.issuer.rstrip("/")
    result = run_doctor(app)
    assert result.exit_code == 1
    failure = line(result, "IdP discovery")
    assert failure.startswith("FAIL  ")
    assert f"{devstack.issuer!r}" in failure and f"{devstack.issuer.rstrip('/')!r}" in failure
    assert "only by the trailing slash" in failure
    assert f"fix: Set AUTH0_ISSUER={devstack.issuer}" in failure


def test_issuer_spelled_unlike_the_idp_fails_discovery_from_the_environment(
    devstack: Devstack, redis_server: RedisServer
) -> None:
    """Any spelling starts; the doctor's discovery check names both in one line."""
    cli = FlaskGroup(create_app=create_app, load_dotenv=False)
    env = {k: v for k, v in app_config(devstack, redis_server).items() if isinstance(v, str)}
    env.pop("AUTH0_ISSUER")
    env["OIDC_ISSUER"] = devstack.issuer.rstrip("/")
    result = CliRunner().invoke(cli, ["doctor"], env={**NO_AWS, **env})
    assert result.exit_code == 1
    failure = line(result, "IdP discovery").splitlines()[0]
    assert failure.startswith("FAIL  ") and "differ only by the trailing slash" in failure
    assert f"{devstack.issuer!r}" in failure and f"{devstack.issuer.rstrip('/')!r}" in failure


def test_an_unreachable_idp_fails_once_and_skips_what_needs_it(
    devstack: Devstack, redis_server: RedisServer
) -> None:
    app = create_app(app_config(devstack, redis_server))
    app.config["AUTH0_ISSUER"] = f"http://127.0.0.1:{free_port()}/"
    result = run_doctor(app)
    assert result.exit_code == 1
    assert "did not answer (ConnectionError)" in line(result, "IdP discovery")
    for name in ("IdP signing algorithm", "IdP signing keys (JWKS)", "IdP client credentials"):
        assert line(result, name) == f"skip  {name}: needs the discovery document"


def test_wrong_client_secret_is_a_bad_client(devstack: Devstack, redis_server: RedisServer) -> None:
    app = create_app(app_config(devstack, redis_server, AUTH0_CLIENT_SECRET="not-the-secret"))
    result = run_doctor(app)
    assert result.exit_code == 1
    failure = line(result, "IdP client credentials")
    assert failure.startswith("FAIL  ")
    assert "invalid_client (HTTP 401)" in failure and "AUTH0_CLIENT_SECRET" in failure
    assert "a bad client, not a bad code" in failure


@pytest.mark.parametrize(
    ("policy", "evicts"),
    [("allkeys-lru", "evicts any key"), ("volatile-lru", "evicts keys with a TTL")],
)
def test_an_evicting_redis_fails(
    devstack: Devstack, redis_server: RedisServer, policy: str, evicts: str
) -> None:
    proc, url = start_redis(None, "--maxmemory-policy", policy)
    try:
        app = create_app(app_config(devstack, redis_server, REDIS_URL=url))
        result = run_doctor(app)
    finally:
        proc.terminate()
        proc.wait(5)
    assert result.exit_code == 1
    failure = line(result, "Redis eviction policy")
    assert failure.startswith(f"FAIL  Redis eviction policy: maxmemory-policy is {policy}")
    assert evicts in failure and "fix: " in failure and "noeviction" in failure
    assert line(result, "Redis").startswith("pass  ")


def test_redis_not_answering_fails(devstack: Devstack, redis_server: RedisServer) -> None:
    app = create_app(
        app_config(devstack, redis_server, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    )
    result = run_doctor(app)
    assert result.exit_code == 1
    assert line(result, "Redis").startswith("FAIL  Redis: Redis did not answer")
    assert line(result, "Redis eviction policy").startswith("skip  ")


# --- a real ID token -----------------------------------------------------------------------


def alice_tokens(stack: Devstack) -> dict[str, str]:
    """alice's tokens from the IdP's code flow, the access token for the API (a JWT)."""
    return idp_tokens(stack.issuer, "alice", audience=stack.env["AUTH0_AUDIENCE"])


def test_a_real_id_token_is_accepted_for_every_role(
    app: Flask, devstack: Devstack, tmp_path: Path
) -> None:
    token_file = tmp_path / "id_token"
    token_file.write_text(alice_tokens(devstack)["id_token"])
    result = run_doctor(app, "--token", str(token_file), env=doctor_keys(devstack))
    assert result.exit_code == 0, result.output
    assert line(result, "ID token (STS pre-flight)").startswith("pass  ")
    for role in ("portal-admin", "portal-reader", "sandbox-admin"):  # the last: second account
        success = line(result, f"STS AssumeRoleWithWebIdentity {role}")
        assert success.startswith("pass  ")
        assert f"assumed-role/{role}/alice@example.com-" in success
    assert "sts::210987654321:assumed-role/sandbox-admin/" in result.output
    assert result.output.splitlines()[-1] == "15 passed, 0 failed, 1 skipped."
    assert devstack.aws("GET", "_devstack/stats").json()["assume_role_with_web_identity"]["ok"] == 3


def test_a_role_that_refuses_the_token_is_explained_like_the_error_page(
    devstack: Devstack, redis_server: RedisServer
) -> None:
    # One role for everyone, whose trust policy pins a sub nobody has.
    app = create_app(app_config(devstack, redis_server, ROLE_RULES=None, AWS_ROLE_ARN=NOBODY))
    id_token = alice_tokens(devstack)["id_token"]
    result = run_doctor(app, "--token", "-", input=id_token)
    assert result.exit_code == 1, result.output
    failure = line(result, "STS AssumeRoleWithWebIdentity portal-nobody")
    assert failure.startswith("FAIL  ")
    assert "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity" in failure
    assert "The role portal-nobody does not trust your sign-in" in failure
    assert "fix: The role's trust policy must allow sts:AssumeRoleWithWebIdentity" in failure


def test_the_access_token_is_refused_with_the_reason(app: Flask, devstack: Devstack) -> None:
    result = run_doctor(app, "--token", "-", input=alice_tokens(devstack)["access_token"])
    assert result.exit_code == 1
    preflight = line(result, "ID token (STS pre-flight)")
    assert preflight.startswith("FAIL  ") and "This is an Auth0 access token" in preflight
    refused = line(result, "STS AssumeRoleWithWebIdentity portal-reader")
    assert "InvalidIdentityToken: Incorrect token audience" in refused
    assert "Auth0 access tokens, whose aud has two values, are always refused" in refused


def test_not_a_token_is_said_so(app: Flask) -> None:
    result = run_doctor(app, "--token", "-", input="abc")
    assert result.exit_code == 1
    assert "three dot-separated parts" in line(result, "ID token (STS pre-flight)")
    assert line(result, "STS AssumeRoleWithWebIdentity portal-admin").startswith("skip  ")


def test_sign_in_brings_a_verified_id_token_to_sts(app: Flask, devstack: Devstack) -> None:
    def browser(url: str, redirect_uri: str) -> None:
        """bob signs in at the IdP, and the browser follows the redirect to the callback."""

        def run() -> None:
            callback = fill_login(requests.Session(), url, "bob")
            requests.get(urljoin(redirect_uri, callback), timeout=10).raise_for_status()

        threading.Thread(target=run, daemon=True).start()

    env = devstack.env
    result, token = sign_in(
        devstack.issuer,
        env["AUTH0_CLIENT_ID"],
        env["AUTH0_CLIENT_SECRET"],
        port=0,
        timeout=5,
        show=browser,
        wait=30,
    )
    assert result.status == "pass", result.detail
    assert "Signed in as bob@example.com" in result.detail
    assert token is not None
    checks = {r.name: r for r in run_token_checks(app.config, token)}
    assert all(r.status == "pass" for r in checks.values()), checks
    reader = checks["STS AssumeRoleWithWebIdentity portal-reader"].detail
    admin = checks["STS AssumeRoleWithWebIdentity portal-admin"].detail
    assert (
        "do not offer" not in reader and "(the role rules do not offer it to this token)" in admin
    )


def test_sign_in_that_never_comes_back_names_the_callback_url(devstack: Devstack) -> None:
    shown: list[str] = []
    env = devstack.env
    result, token = sign_in(
        devstack.issuer,
        env["AUTH0_CLIENT_ID"],
        env["AUTH0_CLIENT_SECRET"],
        port=0,
        timeout=5,
        show=lambda url, redirect_uri: shown.append(redirect_uri),
        wait=0.2,
    )
    assert token is None and result.status == "fail"
    assert f"No sign-in came back to {shown[0]}" in result.detail
    assert f"Allow {shown[0]} as a callback URL" in result.fix


def test_token_and_sign_in_are_one_or_the_other(app: Flask) -> None:
    result = run_doctor(app, "--token", "-", "--sign-in")
    assert result.exit_code == 2
    assert "give --token or --sign-in, not both" in result.output


# --- IAM broken on purpose, in a private devstack --------------------------------------------


@pytest.fixture(scope="module")
def private_stack() -> Iterator[Devstack]:
    """A devstack of these tests' own: they change its IAM, the shared one stays as seeded."""
    proc, env = spawn("--idp-port", str(free_port()), "--aws-port", str(free_port()))
    try:
        yield Devstack(env["AUTH0_ISSUER"], env["AWS_ENDPOINT_URL"], env)
    finally:
        proc.terminate()
        try:  # its servers wait for idle keep-alive connections; nothing of it needs saving
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def iam_admin(stack: Devstack) -> Iterator[Any]:
    """An IAM client with every right: moto's policy enforcement off until the block ends."""
    enforcement = f"{stack.aws_url}/moto-api/reset-auth"
    requests.post(enforcement, data=b"inf", timeout=10).raise_for_status()
    try:
        yield boto3.client(
            "iam",
            endpoint_url=stack.aws_url,
            region_name="us-east-1",
            aws_access_key_id="admin",
            aws_secret_access_key="admin",
        )
    finally:
        requests.post(enforcement, data=b"0", timeout=10).raise_for_status()


@pytest.fixture
def private_app(private_stack: Devstack, redis_server: RedisServer) -> Flask:
    """The app pointed at the private devstack."""
    return create_app(app_config(private_stack, redis_server))


def provider_arn(stack: Devstack) -> str:
    """The seeded provider's ARN: IAM names it by the issuer without its scheme."""
    return f"arn:aws:iam::{ACCOUNT}:oidc-provider/{stack.issuer.split('://', 1)[1]}"


def set_provider(iam: Any, url: str | None, client_ids: list[str]) -> None:
    """Leave IAM exactly one OIDC provider, or none for url None (moto cannot edit one)."""
    for entry in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=entry["Arn"])
    if url is not None:
        iam.create_open_id_connect_provider(
            Url=url, ClientIDList=client_ids, ThumbprintList=["0" * 40]
        )


@contextlib.contextmanager
def provider_replaced(stack: Devstack, url: str | None, client_ids: list[str]) -> Iterator[None]:
    """IAM with another provider (or none) while the block runs, then the seeded one again."""
    with iam_admin(stack) as iam:
        set_provider(iam, url, client_ids)
    try:
        yield
    finally:
        with iam_admin(stack) as iam:
            set_provider(iam, stack.issuer, [stack.env["AUTH0_CLIENT_ID"]])


def test_provider_audience_is_the_api_identifier(
    private_stack: Devstack, private_app: Flask
) -> None:
    env = private_stack.env
    with provider_replaced(private_stack, private_stack.issuer, [env["AUTH0_AUDIENCE"]]):
        result = run_doctor(private_app, env=doctor_keys(private_stack))
    assert result.exit_code == 1
    failure = line(result, "IAM provider audience")
    assert failure.startswith("FAIL  ")
    assert f"the API identifier {env['AUTH0_AUDIENCE']!r} (AUTH0_AUDIENCE) instead of" in failure
    assert "Incorrect token audience" in failure
    assert f"--client-id {env['AUTH0_CLIENT_ID']}" in failure
    assert line(result, "IAM OIDC provider").startswith("pass  ")


@pytest.mark.parametrize(
    ("slashless", "words"),
    [(False, "IAM has no provider for"), (True, "trailing slash included")],
)
def test_provider_missing(
    private_stack: Devstack, private_app: Flask, slashless: bool, words: str
) -> None:
    issuer, client_ids = private_stack.issuer, [private_stack.env["AUTH0_CLIENT_ID"]]
    # Missing altogether, or there for the issuer written without its trailing slash.
    with provider_replaced(private_stack, issuer.rstrip("/") if slashless else None, client_ids):
        result = run_doctor(private_app, env=doctor_keys(private_stack))
    assert result.exit_code == 1
    failure = line(result, "IAM OIDC provider")
    assert failure.startswith("FAIL  ") and words in failure
    assert f"No OpenIDConnect provider found in your account for {issuer}" in failure
    assert f"fix: Add an IAM OpenID Connect provider with URL {issuer}" in failure
    assert line(result, "IAM provider audience").startswith("skip  ")


def test_role_trusting_another_provider(private_stack: Devstack, private_app: Flask) -> None:
    other = f"arn:aws:iam::{ACCOUNT}:oidc-provider/other-tenant.eu.auth0.com/"
    with iam_admin(private_stack) as iam:
        original = iam.get_role(RoleName="portal-reader")["Role"]["AssumeRolePolicyDocument"]
        policy = json.loads(json.dumps(original))
        policy["Statement"][0]["Principal"]["Federated"] = other
        iam.update_assume_role_policy(RoleName="portal-reader", PolicyDocument=json.dumps(policy))
    try:
        result = run_doctor(private_app, env=doctor_keys(private_stack))
    finally:
        with iam_admin(private_stack) as iam:
            iam.update_assume_role_policy(
                RoleName="portal-reader", PolicyDocument=json.dumps(original)
            )
    assert result.exit_code == 1
    failure = line(result, "IAM role portal-reader")
    assert failure.startswith("FAIL  ")
    assert f"trusts {other}, not this issuer's provider {provider_arn(private_stack)}" in failure
    assert "AccessDenied" in failure
    assert line(result, "IAM role portal-admin").startswith("pass  ")


# --- trust policies as IAM returns them (plain data, no AWS) ---------------------------------

URL = "acme.eu.auth0.com/"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{URL}"
CLIENT_ID, API = "k3yCl1ent1d", "https://api.acme.example"


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    """A role as GetRole returns it, with these trust statements."""
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return {"Arn": READER, "AssumeRolePolicyDocument": document, "MaxSessionDuration": 3600}


def allow(
    federated: str = PROVIDER, action: Any = ACTION_WEB, condition: Any = None
) -> dict[str, Any]:
    """One Allow statement for a federated principal."""
    if condition is None:
        condition = {"StringEquals": {f"{URL}:aud": CLIENT_ID}}
    return {
        "Effect": "Allow",
        "Principal": {"Federated": federated},
        "Action": action,
        "Condition": condition,
    }


@pytest.mark.parametrize(
    ("role", "words"),
    [
        (trust(allow()), None),
        (trust(allow(action=["sts:AssumeRoleWithWebIdentity", "sts:TagSession"])), None),
        (trust(allow(action="sts:*")), None),
        (trust(allow(condition={"StringEquals": {f"{URL.upper()}:AUD": [CLIENT_ID]}})), None),
        (trust(allow(federated="arn:aws:iam::1:oidc-provider/x/")), "trusts arn:aws:iam::1:oidc"),
        (trust({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}}), "trusts no"),
        (trust(allow(action="sts:AssumeRole")), "does not allow sts:AssumeRoleWithWebIdentity"),
        (trust(allow(condition={})), "does not pin acme.eu.auth0.com/:aud"),
        (
            trust(allow(condition={"StringLike": {f"{URL}:aud": CLIENT_ID}})),
            "in a StringEquals condition",
        ),
        (
            trust(allow(condition={"StringEquals": {f"{URL}:aud": API}})),
            "(the API identifier, AUTH0_AUDIENCE), not the client ID",
        ),
        (trust(allow(), allow(federated=PROVIDER.rstrip("/"))), None),
    ],
)
def test_trust_policies(role: dict[str, Any], words: str | None) -> None:
    result = check_role(role, url=URL, client_id=CLIENT_ID, audience=API, duration=3600)
    if words is None:
        assert result.status == "pass", result.detail
    else:
        assert result.status == "fail" and words in result.detail, result.detail
        assert result.fix.startswith("Let the trust policy allow sts:AssumeRoleWithWebIdentity")


def test_a_role_too_short_for_the_duration() -> None:
    result = check_role(trust(allow()), url=URL, client_id=CLIENT_ID, audience=API, duration=7200)
    assert result.status == "fail"
    assert "MaxSessionDuration 3600 s is shorter than STS_DURATION_SECONDS 7200 s" in result.detail
    assert result.fix.startswith("Raise the role's maximum session duration to 7200 s")
