"""The local AWS stand-in over HTTP: STS web-identity rules, enforcement, switches, federation."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from joserfc import jwt
from joserfc.jwk import ECKey, Key, OctKey, RSAKey
from werkzeug.wrappers import Request, Response

from devstack.aws import LocalAWS, abac
from devstack.idp import create_idp_app
from devstack.testing import SEED, TENANT, USERS, idp_tokens, serve

CLIENT_ID = TENANT["client_id"]
TAGS = "https://aws.amazon.com/tags"
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
HANG_GUARD = 30  # seconds; an upper bound that only stops a hang, never a measurement

pytestmark = pytest.mark.devstack


def rsa_key(kid: str) -> RSAKey:
    """A fresh RS256 signing key with a kid."""
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class Issuer:
    """A tiny OIDC issuer: discovery and JWKS for keys the tests hold, plus the devstack IdP."""

    url: str = ""
    keys: list[Key] = field(default_factory=lambda: [rsa_key("test-rsa-1")])
    jwks_fetches: int = 0
    idp_app: Any = None

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        """WSGI entry: our discovery and JWKS; every other path goes to the devstack IdP."""
        request = Request(environ)
        if request.path == "/.well-known/openid-configuration":
            body = {"issuer": self.url, "jwks_uri": self.url + ".well-known/jwks.json"}
            return Response(json.dumps(body), mimetype="application/json")(environ, start_response)
        if request.path == "/.well-known/jwks.json":
            self.jwks_fetches += 1
            published = [key.as_dict(private=False) for key in self.keys]
            if self.idp_app is not None:
                idp_jwks = self.idp_app.test_client().get("/.well-known/jwks.json").get_json()
                published += idp_jwks["keys"]
            body = json.dumps({"keys": published})
            return Response(body, mimetype="application/json")(environ, start_response)
        if self.idp_app is None:
            return Response("not found", 404)(environ, start_response)
        return self.idp_app(environ, start_response)

    def claims(self, user: str = "bob", **overrides: Any) -> dict[str, Any]:
        """ID-token-shaped claims as Auth0 issues them, with overrides (None removes a claim)."""
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": USERS[user]["sub"],
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 3600,
            "email": USERS[user]["email"],
            # The session tags the devstack IdP sends (like an Auth0 Action).
        }
        if USERS[user].get("tags"):
            claims[TAGS] = {"principal_tags": {k: [v] for k, v in USERS[user]["tags"].items()}}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(self, claims: dict[str, Any], key: Key | None = None, **header: Any) -> str:
        """Sign claims with `key` (default: the first published key) as a compact JWT."""
        key = key or self.keys[0]
        alg = "ES256" if isinstance(key, ECKey) else "RS256"
        head = {"alg": alg, "kid": key.kid, "typ": "JWT", **header}
        return jwt.encode(head, claims, key)

    def token(self, user: str = "bob", **overrides: Any) -> str:
        """A valid ID token for `user`, with claim overrides."""
        return self.mint(self.claims(user, **overrides))


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    """The test issuer over HTTP; it also fronts the devstack IdP when that is importable."""
    issuer = Issuer()
    with serve(issuer.app) as url:
        issuer.url = url + "/"
        issuer.idp_app = create_idp_app(SEED, issuer.url)
        yield issuer


@pytest.fixture(scope="module")
def aws(issuer: Issuer) -> Iterator[LocalAWS]:
    """LocalAWS on a free port, trusting the test issuer."""
    local = LocalAWS(SEED, issuer.url, port=0)
    local.start()
    yield local
    local.stop()


@pytest.fixture(autouse=True)
def _reset(aws: LocalAWS) -> None:
    """Every test starts with zero stats and no switches."""
    requests.post(aws.endpoint_url + "/_devstack/reset", timeout=5).raise_for_status()


def client(aws: LocalAWS, service: str, creds: dict[str, str] | None = None, **kw: Any) -> Any:
    """A boto3 client on the front; unsigned when no credentials are given."""
    if creds is None:
        kw["config"] = kw.get("config", NO_RETRY).merge(Config(signature_version=UNSIGNED))
    else:
        kw |= {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds.get("SessionToken"),
        }
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name="us-east-1", **kw)


def assume(
    aws: LocalAWS, token: str, role: str = "portal-reader", session: str = "bob-session", **kw: Any
) -> dict[str, Any]:
    """AssumeRoleWithWebIdentity through the front, without botocore's retries."""
    sts = client(aws, "sts", config=kw.pop("config", NO_RETRY))
    return sts.assume_role_with_web_identity(
        RoleArn=aws.role_arn(role), RoleSessionName=session, WebIdentityToken=token, **kw
    )


def error_of(call: Callable[[], Any]) -> tuple[str, str, int]:
    """Run a call that must fail; return its error code, message and HTTP status."""
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    return (
        error["Code"],
        error.get("Message", ""),
        info.value.response["ResponseMetadata"]["HTTPStatusCode"],
    )


def stats(aws: LocalAWS) -> dict[str, Any]:
    """The front's counters."""
    return requests.get(aws.endpoint_url + "/_devstack/stats", timeout=5).json()


def eventually(condition: Callable[[], bool]) -> None:
    """Wait until condition holds; HANG_GUARD only keeps a broken stand-in from hanging the run."""
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def set_clock(aws: LocalAWS, offset: Any) -> requests.Response:
    """Move the front's clock offset seconds ahead of real time (until the next reset)."""
    return requests.post(aws.endpoint_url + "/_devstack/clock", json={"offset": offset}, timeout=5)


def misbehave(aws: LocalAWS, switches: dict[str, Any]) -> None:
    """Arm the front's misbehaviour switches."""
    resp = requests.post(aws.endpoint_url + "/_devstack/misbehave", json=switches, timeout=5)
    resp.raise_for_status()


@pytest.fixture(scope="module")
def reader(aws: LocalAWS, issuer: Issuer) -> dict[str, str]:
    """Credentials of bob as portal-reader."""
    return assume(aws, issuer.token("bob"))["Credentials"]


@pytest.fixture(scope="module")
def admin(aws: LocalAWS, issuer: Issuer) -> dict[str, str]:
    """Credentials of alice as portal-admin."""
    return assume(aws, issuer.token("alice"), "portal-admin", "alice-session")["Credentials"]


# --- accepted tokens --------------------------------------------------------------------------


def test_id_token_gets_credentials_shaped_like_sts(aws: LocalAWS, issuer: Issuer) -> None:
    result = assume(aws, issuer.token("bob"), session="bob-example.com")
    assert result["AssumedRoleUser"]["Arn"] == (
        "arn:aws:sts::123456789012:assumed-role/portal-reader/bob-example.com"
    )
    # moto answers a fixed "ARO123EXAMPLE123"; STS uses the role's unique id.
    assert re.fullmatch(
        r"AROA[A-Z0-9]{17}:bob-example\.com", result["AssumedRoleUser"]["AssumedRoleId"]
    )
    assert result["SubjectFromWebIdentityToken"] == USERS["bob"]["sub"]
    assert result["Audience"] == CLIENT_ID
    assert result["Provider"] == issuer.url
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")
    identity = client(aws, "sts", result["Credentials"]).get_caller_identity()
    assert identity["Arn"] == result["AssumedRoleUser"]["Arn"]


def test_one_element_array_aud_is_accepted(aws: LocalAWS, issuer: Issuer) -> None:
    assert assume(aws, issuer.token(aud=[CLIENT_ID]))["Audience"] == CLIENT_ID


def test_token_expired_two_minutes_ago_is_within_skew(aws: LocalAWS, issuer: Issuer) -> None:
    now = int(time.time())
    assert assume(aws, issuer.token(iat=now - 3720, exp=now - 120))["Credentials"]


def test_es256_token_is_accepted(aws: LocalAWS, issuer: Issuer) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "test-ec-1", "use": "sig"})
    issuer.keys.append(key)
    try:
        assert assume(aws, issuer.mint(issuer.claims(), key))["Credentials"]
    finally:
        issuer.keys.remove(key)


def test_unknown_kid_refetches_jwks_once(aws: LocalAWS, issuer: Issuer) -> None:
    assume(aws, issuer.token())  # the JWKS is cached now
    rotated = rsa_key("test-rsa-rotated")
    issuer.keys.append(rotated)
    fetches = issuer.jwks_fetches
    try:
        assert assume(aws, issuer.mint(issuer.claims(), rotated))["Credentials"]
        assert issuer.jwks_fetches == fetches + 1
        assume(aws, issuer.mint(issuer.claims(), rotated))
        assert issuer.jwks_fetches == fetches + 1
    finally:
        issuer.keys.remove(rotated)


# --- rejected tokens --------------------------------------------------------------------------


def test_auth0_access_token_aud_is_incorrect_even_when_listed(
    aws: LocalAWS, issuer: Issuer
) -> None:
    # List the API identifier on the provider too, as people try; STS still refuses two values.
    set_client_ids(aws, issuer, [CLIENT_ID, TENANT["audience"]])
    try:
        two = [TENANT["audience"], issuer.url + "userinfo"]
        code, message, status = error_of(lambda: assume(aws, issuer.token(aud=two)))
        assert (code, message, status) == ("InvalidIdentityToken", "Incorrect token audience", 400)
        # Alone, the same value passes the audience check (the provider lists it) and only the
        # role's trust policy, which pins aud to the client ID, refuses it.
        single = issuer.token(aud=TENANT["audience"])
        assert error_of(lambda: assume(aws, single))[:2] == (
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        )
    finally:
        set_client_ids(aws, issuer, [CLIENT_ID])


def set_client_ids(aws: LocalAWS, issuer: Issuer, client_ids: list[str]) -> None:
    """Recreate the OIDC provider with other client IDs (moto lacks AddClientIDToOpen...)."""
    moto_reset_auth(aws, "inf")
    try:
        iam = boto3.client(
            "iam",
            endpoint_url=aws.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="AKIADEVSTACKSETUP000",
            aws_secret_access_key="setup",
        )
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=aws.provider_arn)
        iam.create_open_id_connect_provider(
            Url=issuer.url, ClientIDList=client_ids, ThumbprintList=["0" * 40]
        )
    finally:
        moto_reset_auth(aws, "0")


def moto_reset_auth(aws: LocalAWS, count: str) -> None:
    """Switch moto's IAM enforcement (through the front's /moto-api pass-through)."""
    resp = requests.post(aws.endpoint_url + "/moto-api/reset-auth", data=count, timeout=5)
    resp.raise_for_status()


def _alg_none(issuer: Issuer) -> str:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(issuer.claims())}."


def _hs256(issuer: Issuer) -> str:
    key = OctKey.import_key(secrets.token_bytes(32), parameters={"kid": "test-rsa-1"})
    return jwt.encode({"alg": "HS256", "kid": "test-rsa-1"}, issuer.claims(), key)


NOT_VALIDATED = "could not be validated by AWS"
NO_KEY = "Couldn't retrieve verification key from your identity provider"
HOSTILE: dict[str, tuple[Callable[[Issuer], str], str, str]] = {
    "two-value aud": (
        lambda i: i.token(aud=[CLIENT_ID, i.url + "userinfo"]),
        "InvalidIdentityToken",
        "Incorrect token audience",
    ),
    "unlisted aud": (
        lambda i: i.token(aud="someone-else"),
        "InvalidIdentityToken",
        "Incorrect token audience",
    ),
    "missing aud": (
        lambda i: i.token(aud=None),
        "InvalidIdentityToken",
        "Missing a required claim: aud",
    ),
    "missing iss": (
        lambda i: i.token(iss=None),
        "InvalidIdentityToken",
        "Missing a required claim: iss",
    ),
    "unknown issuer": (
        lambda i: i.token(iss="https://other.example.com/"),
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for https://other.example.com/",
    ),
    "issuer without trailing slash": (
        lambda i: i.token(iss=i.url.rstrip("/")),
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for http://127.0.0.1:",
    ),
    "bad signature": (
        lambda i: i.mint(i.claims(), rsa_key("test-rsa-1")),
        "InvalidIdentityToken",
        NOT_VALIDATED,
    ),
    "unknown kid": (
        lambda i: i.mint(i.claims(), rsa_key("never-published")),
        "InvalidIdentityToken",
        NO_KEY,
    ),
    "alg none": (_alg_none, "InvalidIdentityToken", NOT_VALIDATED),
    "HS256": (_hs256, "InvalidIdentityToken", NOT_VALIDATED),
    "not a JWT": (lambda i: "not-a-jwt-at-all", "InvalidIdentityToken", NOT_VALIDATED),
    "expired 6 minutes ago": (
        lambda i: i.token(iat=int(time.time()) - 3960, exp=int(time.time()) - 360),
        "ExpiredTokenException",
        "Token is expired",
    ),
    "carol on portal-nobody": (
        lambda i: i.token("carol"),
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    ),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_token_is_rejected_like_sts(aws: LocalAWS, issuer: Issuer, case: str) -> None:
    make, want_code, want_message = HOSTILE[case]
    role = "portal-nobody" if case.startswith("carol") else "portal-reader"
    code, message, status = error_of(lambda: assume(aws, make(issuer), role))
    assert code == want_code
    assert want_message in message
    assert status == (403 if code == "AccessDenied" else 400)
    assert stats(aws)["assume_role_with_web_identity"] == {"ok": 0, want_code: 1}


@pytest.mark.parametrize(
    ("role", "session", "duration", "message"),
    [
        ("portal-reader", "auth0|64f1a2b3", 3600, "Member must satisfy regular expression"),
        ("portal-reader", "x", 3600, "Member must have length greater than or equal to 2"),
        ("portal-reader", "bob", 600, "Member must have value greater than or equal to 900"),
        ("portal-admin", "bob", 43201, "Member must have value less than or equal to 43200"),
        (
            "portal-reader",
            "bob",
            7200,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ),
    ],
)
def test_invalid_parameters_are_validation_errors(
    aws: LocalAWS, issuer: Issuer, role: str, session: str, duration: int, message: str
) -> None:
    # Without botocore's own checks, so the front's answers are what is tested.
    config = NO_RETRY.merge(Config(parameter_validation=False))
    token = issuer.token()
    call = lambda: assume(aws, token, role, session, DurationSeconds=duration, config=config)  # noqa: E731
    code, got, status = error_of(call)
    assert (code, status) == ("ValidationError", 400)
    assert message in got
    if "MaxSessionDuration" in message:
        assert got == message


def test_admin_role_allows_twelve_hours(aws: LocalAWS, issuer: Issuer) -> None:
    result = assume(aws, issuer.token("alice"), "portal-admin", "alice", DurationSeconds=43200)
    remaining = result["Credentials"]["Expiration"].timestamp() - time.time()
    assert 43000 < remaining <= 43200


def test_unknown_role_is_access_denied(aws: LocalAWS, issuer: Issuer) -> None:
    code, _, status = error_of(lambda: assume(aws, issuer.token(), "portal-missing"))
    assert (code, status) == ("AccessDenied", 403)


# --- what the credentials may do ---------------------------------------------------------------


def test_reader_sees_shared_buckets(aws: LocalAWS, reader: dict[str, str]) -> None:
    s3 = client(aws, "s3", reader)
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {"shared-docs", "shared-big", "private-finance", "portal-users"} <= names
    assert s3.list_objects_v2(Bucket="shared-docs")["KeyCount"] == 12
    body = s3.get_object(Bucket="shared-docs", Key="README.txt")["Body"].read()
    assert body == b"shared-docs/README.txt: devstack sample object\n"
    assert client(aws, "dynamodb", reader).list_tables()["TableNames"]


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s("s3").list_objects_v2(Bucket="private-finance"),
        lambda s: s("s3").get_object(Bucket="private-finance", Key="budget/2025.xlsx"),
        lambda s: s("lambda").list_functions(),
        lambda s: s("sqs").list_queues(),
        lambda s: s("ec2").describe_instances(),
        lambda s: s("dynamodb").scan(TableName="portal-projects"),
    ],
    ids=["s3-list-private", "s3-get-private", "lambda", "sqs", "ec2", "dynamodb-scan"],
)
def test_reader_is_denied_outside_its_policy(
    aws: LocalAWS, reader: dict[str, str], call: Callable[[Any], Any]
) -> None:
    code, _, status = error_of(lambda: call(lambda service: client(aws, service, reader)))
    assert code in DENIED_CODES
    assert status in (400, 403)


def test_reader_sees_only_own_prefix_of_portal_users(
    aws: LocalAWS, issuer: Issuer, reader: dict[str, str]
) -> None:
    s3 = client(aws, "s3", reader)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="portal-users", Prefix="bob/")["Contents"]]
    assert keys == ["bob/notes.txt", "bob/reports/q1.csv"]
    assert s3.get_object(Bucket="portal-users", Key="bob/notes.txt")["Body"].read()
    for call in (
        lambda: s3.get_object(Bucket="portal-users", Key="alice/notes.txt"),
        lambda: s3.list_objects_v2(Bucket="portal-users", Prefix="alice/"),
        lambda: s3.list_objects_v2(Bucket="portal-users"),
    ):
        assert error_of(call)[:1] == ("AccessDenied",)
    alice = assume(aws, issuer.token("alice"), session="alice-reader")["Credentials"]
    alice_s3 = client(aws, "s3", alice)
    assert alice_s3.get_object(Bucket="portal-users", Key="alice/notes.txt")["Body"].read()
    assert error_of(lambda: alice_s3.get_object(Bucket="portal-users", Key="bob/notes.txt"))


def test_the_prefix_follows_the_session_tag_not_the_user(aws: LocalAWS, issuer: Issuer) -> None:
    """The policy reads ${aws:PrincipalTag/username}: whatever the token's sub, the tag decides."""
    tagged = {"principal_tags": {"username": ["alice"], "team": ["x"]}}
    creds = assume(aws, issuer.token("bob", **{TAGS: tagged}))["Credentials"]
    s3 = client(aws, "s3", creds)
    assert s3.get_object(Bucket="portal-users", Key="alice/notes.txt")["Body"].read()
    assert error_of(lambda: s3.get_object(Bucket="portal-users", Key="bob/notes.txt"))


@pytest.mark.parametrize(
    "tags",
    [
        None,  # no tags claim: the variable has no value, so the statement never applies
        {"principal_tags": {"team": ["platform"]}},  # other tags only
        {"principal_tags": {"username": [""]}},  # empty value: "/*" is nobody's prefix
    ],
)
def test_without_the_username_tag_no_user_prefix_is_readable(
    aws: LocalAWS, issuer: Issuer, tags: dict[str, Any] | None
) -> None:
    creds = assume(aws, issuer.token("bob", **{TAGS: tags}))["Credentials"]
    s3 = client(aws, "s3", creds)
    for call in (
        lambda: s3.get_object(Bucket="portal-users", Key="bob/notes.txt"),
        lambda: s3.list_objects_v2(Bucket="portal-users", Prefix="bob/"),
        lambda: s3.list_objects_v2(Bucket="portal-users"),
    ):
        assert error_of(call)[:1] == ("AccessDenied",)
    # The rest of the role's policy still holds.
    assert s3.list_objects_v2(Bucket="shared-docs")["KeyCount"] == 12


def test_a_tag_is_a_prefix_of_its_own_not_of_longer_names(aws: LocalAWS, issuer: Issuer) -> None:
    s3 = client(aws, "s3", assume(aws, issuer.token("bob"))["Credentials"])
    for prefix in ("bo", "bobby/", "bob"):
        assert error_of(lambda p=prefix: s3.list_objects_v2(Bucket="portal-users", Prefix=p))
    assert s3.list_objects_v2(Bucket="portal-users", Prefix="bob/reports/")["KeyCount"] == 1


@pytest.mark.parametrize(
    ("claim", "says"),
    [
        ("not an object", "principal_tags"),
        ({"principal_tags": ["username", "bob"]}, "principal_tags"),
        ({"principal_tags": {"username": "bob"}}, "tag 'username' must have exactly one"),
        ({"principal_tags": {"username": ["bob", "alice"]}}, "exactly one string value"),
        ({"principal_tags": {"username": [7]}}, "exactly one string value"),
        ({"principal_tags": {"k" * 129: ["v"]}}, "is not allowed"),
        ({"principal_tags": {"": ["v"]}}, "is not allowed"),
        ({"principal_tags": {"aws:username": ["bob"]}}, "tag key 'aws:username'"),
        ({"principal_tags": {"user*": ["bob"]}}, "tag key 'user*'"),
        ({"principal_tags": {"username": ["b" * 257]}}, "value of tag 'username'"),
        ({"principal_tags": {"username": ["*"]}}, "value of tag 'username'"),
        ({"principal_tags": {"Team": ["a"], "team": ["b"]}}, "duplicate tag key 'team'"),
        ({"principal_tags": {"team": ["a"]}, "transitive_tag_keys": ["cost"]}, "'cost'"),
        ({"principal_tags": {"team": ["a"]}, "transitive_tag_keys": "team"}, "list of tag keys"),
    ],
)
def test_malformed_session_tags_are_refused_like_sts(
    aws: LocalAWS, issuer: Issuer, claim: Any, says: str
) -> None:
    code, message, status = error_of(lambda: assume(aws, issuer.token("bob", **{TAGS: claim})))
    assert (code, status) == ("InvalidIdentityToken", 400)
    assert says in message


def test_more_than_fifty_session_tags_are_too_large(aws: LocalAWS, issuer: Issuer) -> None:
    claim = {"principal_tags": {f"k{i}": ["v"] for i in range(51)}}
    code, _, _ = error_of(lambda: assume(aws, issuer.token("bob", **{TAGS: claim})))
    assert code == "PackedPolicyTooLarge"
    fifty = {"principal_tags": {f"k{i}": ["v"] for i in range(50)}, "transitive_tag_keys": ["k1"]}
    assert assume(aws, issuer.token("bob", **{TAGS: fifty}))["Credentials"]


def test_admin_reads_everything(aws: LocalAWS, admin: dict[str, str]) -> None:
    s3 = client(aws, "s3", admin)
    assert s3.list_objects_v2(Bucket="private-finance")["KeyCount"] == 4
    assert s3.list_objects_v2(Bucket="portal-users")["KeyCount"] == 5
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="shared-big")
    assert sum(page["KeyCount"] for page in pages) == 1500
    functions = client(aws, "lambda", admin).list_functions()["Functions"]
    assert len(functions) == 3
    queues = client(aws, "sqs", admin).list_queues()["QueueUrls"]
    assert len(queues) == 3
    reservations = client(aws, "ec2", admin).describe_instances()["Reservations"]
    names = {
        tag["Value"]
        for r in reservations
        for i in r["Instances"]
        for tag in i.get("Tags", [])
        if tag["Key"] == "Name"
    }
    assert names == {"portal-web-1", "portal-web-2", "portal-batch"}
    items = client(aws, "dynamodb", admin).scan(TableName="portal-projects")["Items"]
    assert len(items) == 3


def test_admin_cannot_write(aws: LocalAWS, admin: dict[str, str]) -> None:
    s3 = client(aws, "s3", admin)
    code, _, _ = error_of(lambda: s3.put_object(Bucket="shared-docs", Key="x.txt", Body=b"x"))
    assert code == "AccessDenied"


# --- enforcement -------------------------------------------------------------------------------


def test_unsigned_calls_are_refused(aws: LocalAWS) -> None:
    assert error_of(lambda: client(aws, "s3").list_buckets())[::2] == ("AccessDenied", 403)
    code, _, status = error_of(lambda: client(aws, "sts").get_caller_identity())
    assert (code, status) == ("MissingAuthenticationToken", 403)
    code, _, _ = error_of(lambda: client(aws, "dynamodb").list_tables())
    assert code == "MissingAuthenticationTokenException"


def test_unknown_and_forged_keys_are_refused(aws: LocalAWS, reader: dict[str, str]) -> None:
    unknown = {"AccessKeyId": "AKIAUNKNOWN000000000", "SecretAccessKey": "nope"}
    assert error_of(lambda: client(aws, "sts", unknown).get_caller_identity())[0] == (
        "InvalidClientTokenId"
    )
    assert error_of(lambda: client(aws, "s3", unknown).list_buckets())[0] == "InvalidAccessKeyId"
    forged = {**reader, "SecretAccessKey": "forged-secret"}
    assert error_of(lambda: client(aws, "sts", forged).get_caller_identity())[0] == (
        "SignatureDoesNotMatch"
    )


# --- switches and stats ------------------------------------------------------------------------

FORCED = {
    "InvalidIdentityToken": 400,
    "ExpiredTokenException": 400,
    "IDPRejectedClaim": 403,
    "IDPCommunicationError": 400,
    "AccessDenied": 403,
    "PackedPolicyTooLarge": 400,
    "MalformedPolicyDocument": 400,
    "RegionDisabledException": 403,
    "ValidationError": 400,
    "Throttling": 400,
}


@pytest.mark.parametrize(("code", "status"), FORCED.items())
def test_forced_error_comes_before_the_token_checks(
    aws: LocalAWS, issuer: Issuer, code: str, status: int
) -> None:
    misbehave(aws, {"sts_error": {"code": code, "message": f"forced {code}"}})
    # Even a hopeless token gets the forced answer: it is returned before any check.
    assert error_of(lambda: assume(aws, "junk")) == (code, f"forced {code}", status)
    assert assume(aws, issuer.token())["Credentials"]
    assert stats(aws)["assume_role_with_web_identity"] == {"ok": 1, code: 1}


def test_forced_error_times_and_status(aws: LocalAWS, issuer: Issuer) -> None:
    misbehave(aws, {"sts_error": {"code": "IDPCommunicationError", "times": 2, "status": 503}})
    for _ in range(2):
        assert error_of(lambda: assume(aws, issuer.token()))[::2] == ("IDPCommunicationError", 503)
    assert assume(aws, issuer.token())["Credentials"]
    assert stats(aws) == {
        "assume_role_with_web_identity": {"ok": 1, "IDPCommunicationError": 2},
        "federation": {"getSigninToken": 0, "login": 0},
        "aws_calls": {"max_in_flight": 1, "by_region": {"unsigned": 3}, "s3_wrong_region": 0},
    }


def test_botocore_retries_through_a_forced_idp_outage(aws: LocalAWS, issuer: Issuer) -> None:
    misbehave(aws, {"sts_error": {"code": "IDPCommunicationError", "times": 1}})
    retrying = Config(retries={"total_max_attempts": 3, "mode": "standard"})
    assert assume(aws, issuer.token(), config=retrying)["Credentials"]
    assert stats(aws)["assume_role_with_web_identity"] == {"ok": 1, "IDPCommunicationError": 1}


def test_delay_holds_calls_side_by_side_until_reset(aws: LocalAWS, issuer: Issuer) -> None:
    misbehave(aws, {"sts_delay_ms": 60_000})  # longer than any test: only reset lets them go
    token = issuer.token()
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(assume(aws, token))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    # All three inside the delay at once: the front holds calls side by side, not in turn.
    eventually(lambda: aws.state.held == 3)
    assert results == []
    requests.post(aws.endpoint_url + "/_devstack/reset", timeout=5).raise_for_status()
    for thread in threads:
        thread.join(HANG_GUARD)
    assert len(results) == 3 and all(r["Credentials"] for r in results)
    assert (aws.state.delay_ms, aws.state.held) == (0, 0)
    started = time.monotonic()
    assume(aws, token)
    assert time.monotonic() - started < HANG_GUARD  # far below the 60 s the switch would hold
    assert stats(aws)["assume_role_with_web_identity"] == {"ok": 4}


# --- federation sign-in ------------------------------------------------------------------------


def federation(aws: LocalAWS, **params: str) -> requests.Response:
    """GET the federation stand-in."""
    return requests.get(aws.endpoint_url + "/federation", params=params, timeout=10)


def session_json(creds: dict[str, str]) -> str:
    """The Session parameter of getSigninToken."""
    return json.dumps(
        {
            "sessionId": creds["AccessKeyId"],
            "sessionKey": creds["SecretAccessKey"],
            "sessionToken": creds["SessionToken"],
        }
    )


def test_federation_signin_token_and_one_time_login(aws: LocalAWS, reader: dict[str, str]) -> None:
    resp = federation(
        aws, Action="getSigninToken", SessionDuration="3600", Session=session_json(reader)
    )
    assert resp.status_code == 200, resp.text
    token = resp.json()["SigninToken"]
    destination = "https://console.aws.amazon.com/s3/"
    login = {"Action": "login", "Issuer": "http://portal", "Destination": destination}
    page = federation(aws, SigninToken=token, **login)
    assert page.status_code == 200
    assert "AWS console (local stand-in)" in page.text
    assert "arn:aws:sts::123456789012:assumed-role/portal-reader/bob-session" in page.text
    assert destination in page.text
    assert federation(aws, SigninToken=token, **login).status_code == 400
    assert stats(aws)["federation"] == {"getSigninToken": 1, "login": 1}


@pytest.mark.parametrize(
    "session",
    [
        json.dumps({"sessionId": "ASIAFAKE000000000000", "sessionKey": "x", "sessionToken": "y"}),
        "not json",
        json.dumps({"sessionId": "ASIAFAKE000000000000"}),
    ],
    ids=["bogus-credentials", "not-json", "missing-fields"],
)
def test_federation_refuses_bad_sessions(aws: LocalAWS, session: str) -> None:
    assert federation(aws, Action="getSigninToken", Session=session).status_code == 400
    assert stats(aws)["federation"] == {"getSigninToken": 0, "login": 0}


def test_federation_refuses_forged_secret_and_unknown_signin_token(
    aws: LocalAWS, reader: dict[str, str]
) -> None:
    forged = session_json({**reader, "SecretAccessKey": "forged"})
    assert federation(aws, Action="getSigninToken", Session=forged).status_code == 400
    resp = federation(
        aws, Action="login", Destination="https://console.aws.amazon.com/", SigninToken="made-up"
    )
    assert resp.status_code == 400


# --- with the devstack IdP ---------------------------------------------------------------------


def test_devstack_idp_id_token_works_and_access_token_does_not(
    aws: LocalAWS, issuer: Issuer
) -> None:
    if issuer.idp_app is None:
        pytest.skip("devstack.idp is not there yet")
    tokens = idp_tokens(issuer.url, "bob", audience=TENANT["audience"])
    result = assume(aws, tokens["id_token"], session="bob-idp")
    assert result["SubjectFromWebIdentityToken"] == USERS["bob"]["sub"]
    code, message, _ = error_of(lambda: assume(aws, tokens["access_token"]))
    assert (code, message) == ("InvalidIdentityToken", "Incorrect token audience")


# --- presigned URLs -----------------------------------------------------------------------------

# boto3 presigns S3 with SigV2 unless told otherwise; SigV4 is what AWS documents for new buckets.
S3V4 = NO_RETRY.merge(Config(signature_version="s3v4"))


def presign(
    aws: LocalAWS,
    creds: dict[str, str],
    bucket: str,
    key: str,
    method: str = "get_object",
    expires: int = 300,
    **params: Any,
) -> str:
    """A presigned SigV4 URL on the front, as the portal builds them."""
    s3 = client(aws, "s3", creds, config=S3V4)
    params = {"Bucket": bucket, "Key": key, **params}
    return s3.generate_presigned_url(method, Params=params, ExpiresIn=expires)


def s3_code(resp: requests.Response) -> tuple[int, str]:
    """Status and S3 error code of an XML error answer."""
    match = re.search(r"<Code>([^<]*)</Code>", resp.text)
    return resp.status_code, match.group(1) if match else ""


def test_presigned_get_by_admin_returns_the_object(aws: LocalAWS, admin: dict[str, str]) -> None:
    key = "budget/2025.xlsx"
    head = client(aws, "s3", admin).head_object(Bucket="private-finance", Key=key)
    disposition = 'attachment; filename="budget 2025.xlsx"'
    url = presign(aws, admin, "private-finance", key, ResponseContentDisposition=disposition)
    assert "X-Amz-Signature=" in url and "X-Amz-Security-Token=" in url
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.content == b"private-finance/budget/2025.xlsx: devstack sample object\n"
    assert resp.headers["ETag"] == head["ETag"]
    assert resp.headers["Content-Type"] == head["ContentType"]
    assert resp.headers["Content-Length"] == str(len(resp.content))
    assert resp.headers["Content-Disposition"] == disposition
    ranged = requests.get(url, headers={"Range": "bytes=0-14"}, timeout=10)
    assert (ranged.status_code, ranged.content) == (206, b"private-finance")
    head_url = presign(aws, admin, "private-finance", key, "head_object")
    headed = requests.head(head_url, timeout=10)
    assert (headed.status_code, headed.content) == (200, b"")
    assert headed.headers["Content-Length"] == str(len(resp.content))
    # The GET URL does not sign HEAD: the method is part of the canonical request.
    assert requests.head(url, timeout=10).status_code == 403


def test_presigned_urls_keep_the_reader_policy_and_own_prefix(
    aws: LocalAWS, reader: dict[str, str]
) -> None:
    resp = requests.get(presign(aws, reader, "shared-docs", "README.txt"), timeout=10)
    assert (resp.status_code, resp.content) == (
        200,
        b"shared-docs/README.txt: devstack sample object\n",
    )
    denied = requests.get(presign(aws, reader, "private-finance", "budget/2025.xlsx"), timeout=10)
    assert s3_code(denied) == (403, "AccessDenied")
    own = requests.get(presign(aws, reader, "portal-users", "bob/notes.txt"), timeout=10)
    assert own.status_code == 200
    other = requests.get(presign(aws, reader, "portal-users", "alice/notes.txt"), timeout=10)
    assert s3_code(other) == (403, "AccessDenied")


def test_tampered_presigned_url_is_signature_does_not_match(
    aws: LocalAWS, reader: dict[str, str]
) -> None:
    url = presign(aws, reader, "shared-docs", "README.txt")
    signature = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    forged = url.replace(signature, signature[::-1])
    assert s3_code(requests.get(forged, timeout=10)) == (403, "SignatureDoesNotMatch")
    other_key = url.replace("/README.txt?", "/index.html?")
    assert s3_code(requests.get(other_key, timeout=10)) == (403, "SignatureDoesNotMatch")
    forged_secret = presign(aws, {**reader, "SecretAccessKey": "forged"}, "shared-docs", "a.txt")
    assert s3_code(requests.get(forged_secret, timeout=10)) == (403, "SignatureDoesNotMatch")
    unsigned = re.sub(r"&X-Amz-Expires=\d+", "", url)
    assert s3_code(requests.get(unsigned, timeout=10)) == (400, "AuthorizationQueryParametersError")


def test_expired_presigned_url_is_refused(aws: LocalAWS, reader: dict[str, str]) -> None:
    url = presign(aws, reader, "shared-docs", "README.txt", expires=60)
    assert requests.get(url, timeout=10).status_code == 200
    set_clock(aws, 61).raise_for_status()
    resp = requests.get(url, timeout=10)
    assert s3_code(resp) == (403, "AccessDenied")
    assert "<Message>Request has expired</Message>" in resp.text
    requests.post(aws.endpoint_url + "/_devstack/reset", timeout=5).raise_for_status()
    assert requests.get(url, timeout=10).status_code == 200  # reset puts the clock back


def test_the_clock_moves_the_sts_expiry_check_too(aws: LocalAWS, issuer: Issuer) -> None:
    token = issuer.token(exp=int(time.time()) + 60)
    assert assume(aws, token)["Credentials"]
    set_clock(aws, 60 + 301).raise_for_status()  # past exp and STS's five minutes of leeway
    assert error_of(lambda: assume(aws, token))[:2] == ("ExpiredTokenException", "Token is expired")
    for offset in ("soon", None, True):
        assert set_clock(aws, offset).status_code == 400


def test_presigned_url_of_unknown_key_is_refused(aws: LocalAWS) -> None:
    unknown = {"AccessKeyId": "AKIAUNKNOWN000000000", "SecretAccessKey": "nope"}
    resp = requests.get(presign(aws, unknown, "shared-docs", "README.txt"), timeout=10)
    assert s3_code(resp) == (403, "InvalidAccessKeyId")


def test_presigned_url_of_an_expired_session_is_expired_token(
    aws: LocalAWS, issuer: Issuer
) -> None:
    creds = assume(aws, issuer.token("bob"), session="bob-expiring")["Credentials"]
    url = presign(aws, creds, "shared-docs", "README.txt")
    assert requests.get(url, timeout=10).status_code == 200
    aws.state.sessions[creds["AccessKeyId"]].expiration = time.time() - 1
    # What S3 says to a URL signed with temporary credentials that have expired since.
    assert s3_code(requests.get(url, timeout=10)) == (400, "ExpiredToken")


def test_latency_switch_slows_every_aws_call_until_reset(
    aws: LocalAWS, admin: dict[str, str]
) -> None:
    s3 = client(aws, "s3", admin)
    misbehave(aws, {"latency_ms": 300})
    started = time.monotonic()
    s3.list_buckets()
    assert time.monotonic() - started >= 0.3
    requests.post(aws.endpoint_url + "/_devstack/reset", timeout=5).raise_for_status()
    assert aws.state.latency_ms == 0


TEAM_POLICY = [
    {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": "arn:aws:s3:::team-data/${aws:PrincipalTag/team}/*",
    },
    {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::team-data",
        "Condition": {"StringEquals": {"s3:prefix": "${aws:PrincipalTag/team}/"}},
    },
    {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::team-data/*/secret/*"},
]


@pytest.mark.parametrize(
    ("tags", "action", "resource", "context", "allowed"),
    [
        ({"team": "ops"}, "s3:GetObject", "arn:aws:s3:::team-data/ops/a.txt", {}, True),
        ({"Team": "ops"}, "s3:GetObject", "arn:aws:s3:::team-data/ops/a.txt", {}, True),  # key case
        ({"team": "ops"}, "s3:PutObject", "arn:aws:s3:::team-data/ops/a.txt", {}, True),
        ({"team": "ops"}, "s3:DeleteObject", "arn:aws:s3:::team-data/ops/a.txt", {}, False),
        ({"team": "ops"}, "s3:GetObject", "arn:aws:s3:::team-data/dev/a.txt", {}, False),
        ({"team": "ops"}, "s3:GetObject", "arn:aws:s3:::team-data/ops/secret/k", {}, False),
        ({}, "s3:GetObject", "arn:aws:s3:::team-data/ops/a.txt", {}, False),
        ({"team": "*"}, "s3:GetObject", "arn:aws:s3:::team-data/ops/a.txt", {}, False),
        ({"team": "ops"}, "s3:ListBucket", "arn:aws:s3:::team-data", {"s3:prefix": "ops/"}, True),
        ({"team": "ops"}, "s3:ListBucket", "arn:aws:s3:::team-data", {"s3:prefix": "ops/x"}, False),
        ({"team": "ops"}, "s3:ListBucket", "arn:aws:s3:::team-data", {}, False),
    ],
)
def test_principal_tag_variables_are_evaluated_for_any_role_and_tag(
    tags: dict[str, str], action: str, resource: str, context: dict[str, str], allowed: bool
) -> None:
    assert abac.is_allowed(TEAM_POLICY, tags, action, resource, context) is allowed


def test_moto_gets_the_policy_widened_and_the_front_the_real_one() -> None:
    assert abac.uses_tags(TEAM_POLICY) and not abac.uses_tags([{"Resource": "*"}])
    widened = abac.widen(TEAM_POLICY)
    assert widened[0]["Resource"] == "arn:aws:s3:::team-data/*/*"
    assert "Condition" not in widened[1] and "Condition" in TEAM_POLICY[1]
