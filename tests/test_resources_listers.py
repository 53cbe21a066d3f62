"""Listers, the client cache, the parallel runner and the CLI/console helpers, without a request."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from devstack.testing import SEED, big_bucket_keys, idp_tokens
from webapp.credentials import cli as cli_credentials
from webapp.credentials import console
from webapp.filters import filesize
from webapp.resources import dynamodb, ec2, lambda_, logs, rds, s3, sqs
from webapp.resources.clients import ClientCache
from webapp.resources.fanout import run_all, run_job
from webapp.resources.model import Page, is_denied
from webapp.tokens.times import utc_text as utc

ACCOUNT = SEED["aws"]["account_id"]
HOME, REGIONS = SEED["aws"]["region"], SEED["aws"]["regions"]
BUCKETS = {b["name"]: b for b in SEED["aws"]["buckets"]}
HANG_GUARD = 30  # seconds: a bound that only stops a hang, never a measurement


def assume(devstack, username: str, role: str) -> SimpleNamespace:
    """Sign in at the IdP as username, then trade the ID token for role's credentials."""
    tokens = idp_tokens(devstack.issuer, username)
    answer = boto3.client(
        "sts", endpoint_url=devstack.aws_url, region_name="us-east-1"
    ).assume_role_with_web_identity(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}",
        RoleSessionName=username,
        WebIdentityToken=tokens["id_token"],
    )["Credentials"]
    return SimpleNamespace(
        access_key_id=answer["AccessKeyId"],
        secret_access_key=answer["SecretAccessKey"],
        session_token=answer["SessionToken"],
        expiration=answer["Expiration"].timestamp(),
        role_name=role,
    )


@pytest.fixture(scope="module")
def clients(devstack):
    """clients(user, service): a client for alice's admin role or bob's reader role."""
    creds = {
        "alice": assume(devstack, "alice", "portal-admin"),
        "bob": assume(devstack, "bob", "portal-reader"),
    }
    cache = ClientCache(endpoint_url=devstack.aws_url)
    return lambda user, service, region=HOME: cache.get(creds[user], service, region)


def seeded(seed_key: str, region: str) -> list[str]:
    """Names of the seed's entries of one kind in one region."""
    return [e["name"] for e in SEED["aws"][seed_key] if e.get("region", HOME) == region]


def collect(list_page, page_size: int) -> tuple[list, int]:
    """Follow next tokens to the end; return every item and the number of pages."""
    items, token, pages = [], None, 0
    while True:
        page = list_page(page_size, token)
        items += page.items
        pages += 1
        if not page.next_token:
            return items, pages
        assert pages < 100, "the lister never stopped handing out tokens"
        token = page.next_token


def test_alice_sees_every_service(clients):
    buckets = s3.list_buckets(clients("alice", "s3"), 50)
    assert {b.name for b in buckets.items} == set(BUCKETS)  # every region's, from any region
    for region in REGIONS:
        tables = dynamodb.list_tables(clients("alice", "dynamodb", region), 50)
        assert {t.name for t in tables.items} == set(seeded("tables", region))
        functions = lambda_.list_functions(clients("alice", "lambda", region), 50).items
        assert {f.name for f in functions} == set(seeded("functions", region))
        assert all(f.runtime == "python3.12" and f.memory_mb == 128 for f in functions)
        assert all(f.last_modified and f.last_modified > time.time() - 86400 for f in functions)
        queues = sqs.list_queues(clients("alice", "sqs", region), 50).items
        assert {q.name: q.messages for q in queues} == {
            q["name"]: len(q["messages"])
            for q in SEED["aws"]["queues"]
            if q.get("region", HOME) == region
        }
        instances = ec2.list_instances(clients("alice", "ec2", region), 50).items
        spec = SEED["aws"]["instances"]
        names = spec["names"] if region == HOME else spec["regions"].get(region, [])
        assert sorted(i.name for i in instances) == sorted(names)
        assert {(i.instance_type, i.state) for i in instances} == {("t3.micro", "running")}
        assert all(i.instance_id.startswith("i-") for i in instances)
        databases = rds.list_db_instances(clients("alice", "rds", region), 50).items
        assert {d.name for d in databases} == set(seeded("db_instances", region))
        assert all(
            d.status == "available" and d.instance_class.startswith("db.") for d in databases
        )
        groups = logs.list_log_groups(clients("alice", "logs", region), 50).items
        assert {g.name: g.retention_days for g in groups} == {
            g["name"]: g.get("retention_days")
            for g in SEED["aws"]["log_groups"]
            if g.get("region", HOME) == region
        }
        assert all(g.created and g.created > time.time() - 86400 for g in groups)


@pytest.mark.parametrize(
    ("service", "lister", "seed_key"),
    [
        ("dynamodb", dynamodb.list_tables, "tables"),
        ("sqs", sqs.list_queues, "queues"),
        ("logs", logs.list_log_groups, "log_groups"),
        # Lambda is left out: moto ignores MaxItems and always answers with every function.
    ],
)
def test_one_item_pages_walk_every_item_once(clients, service, lister, seed_key):
    client = clients("alice", service)
    items, pages = collect(lambda size, token: lister(client, size, token), 1)
    names = [item.name for item in items]
    assert sorted(names) == sorted(seeded(seed_key, HOME))
    assert pages >= len(names)


def test_flat_listing_of_the_big_bucket_pages_past_1000_keys(clients):
    client = clients("alice", "s3")
    first = s3.list_objects(client, "shared-big", "", 1000, delimiter="")
    assert len(first.items) == 1000 and first.next_token
    items, pages = collect(
        lambda size, token: s3.list_objects(client, "shared-big", "", size, token, delimiter=""),
        1000,
    )
    keys = [e.key for e in items]
    assert pages == 2 and len(keys) == len(set(keys)) == 1500
    assert sorted(keys) == sorted(big_bucket_keys())


def test_browsing_the_big_bucket_by_folder_returns_every_key_once(clients):
    client = clients("alice", "s3")
    root = s3.list_objects(client, "shared-big", "", 100)
    folders = [e.key for e in root.items if e.folder]
    assert sorted(folders) == sorted({"logs/", "exports/", "images/"})
    objects, pending = [], list(folders)
    while pending:
        prefix = pending.pop()
        items, _ = collect(
            lambda size, token, p=prefix: s3.list_objects(client, "shared-big", p, size, token),
            100,
        )
        pending += [e.key for e in items if e.folder]
        objects += [e for e in items if not e.folder]
    keys = [e.key for e in objects]
    assert len(keys) == len(set(keys)) and sorted(keys) == sorted(big_bucket_keys())
    assert all(e.size == len(f"shared-big/{e.key}: devstack sample object\n") for e in objects)
    assert all(e.last_modified > time.time() - 86400 for e in objects)


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("lambda", lambda c: lambda_.list_functions(c, 50)),
        ("sqs", lambda c: sqs.list_queues(c, 50)),
        ("ec2", lambda c: ec2.list_instances(c, 50)),
        ("rds", lambda c: rds.list_db_instances(c, 50)),
        ("logs", lambda c: logs.list_log_groups(c, 50)),
        ("s3", lambda c: s3.list_objects(c, "private-finance", "", 50)),
        ("s3", lambda c: s3.list_objects(c, "portal-users", "", 50)),
        ("s3", lambda c: s3.list_objects(c, "portal-users", "alice/", 50)),
        ("s3", lambda c: s3.check_readable(c, "private-finance", "audit/report.pdf")),
        ("s3", lambda c: s3.check_readable(c, "portal-users", "alice/notes.txt")),
    ],
)
def test_what_the_reader_role_may_not_do_is_a_denial(clients, service, call):
    with pytest.raises(ClientError) as caught:
        call(clients("bob", service))
    assert is_denied(caught.value)
    assert run_job(lambda: call(clients("bob", service))).denied


def test_what_the_reader_role_may_do(clients):
    client = clients("bob", "s3")
    assert {b.name for b in s3.list_buckets(client, 50).items} == set(BUCKETS)
    own = s3.list_objects(client, "portal-users", "bob/", 50).items
    assert {e.key for e in own} == {"bob/notes.txt", "bob/reports/"}
    s3.check_readable(client, "portal-users", "bob/notes.txt")
    s3.check_readable(client, "shared-docs", "README.txt")
    detail = dynamodb.describe_table(clients("bob", "dynamodb"), "portal-projects")
    assert (detail.status, detail.key_schema) == ("ACTIVE", [("project_id", "HASH", "S")])


def test_presigned_download_serves_the_object(clients):
    url = s3.get_download_url(clients("bob", "s3"), "shared-docs", "handbook/welcome.md")
    assert "X-Amz-Expires=300" in url
    body = requests.get(url, timeout=10)
    assert body.status_code == 200
    assert body.text == "shared-docs/handbook/welcome.md: devstack sample object\n"


def test_other_errors_are_not_denials(clients):
    outcome = run_job(lambda: s3.list_objects(clients("alice", "s3"), "no-such-bucket", "", 5))
    assert not outcome.denied and outcome.error.startswith("NoSuchBucket")


@pytest.mark.parametrize(
    ("code", "status", "denied"),
    [
        ("AccessDenied", 403, True),
        ("AccessDeniedException", 400, True),
        ("UnauthorizedOperation", 403, True),
        ("AuthorizationError", 403, True),
        ("403", 403, True),
        ("SomethingNew", 403, True),
        ("ExpiredToken", 403, False),
        ("InvalidClientTokenId", 403, False),
        ("ThrottlingException", 400, False),
        ("InternalError", 500, False),
    ],
)
def test_is_denied(code, status, denied):
    response = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    assert is_denied(ClientError(response, "Op")) is denied


@pytest.mark.parametrize(
    ("prefix", "crumbs"),
    [
        ("", []),
        ("logs/", [("logs", "logs/")]),
        ("logs/2024/", [("logs", "logs/"), ("2024", "logs/2024/")]),
        ("a//b/", [("a", "a/"), ("(empty)", "a//"), ("b", "a//b/")]),
        ("logs/20", [("logs", "logs/"), ("20", "logs/20")]),
    ],
)
def test_breadcrumbs(prefix, crumbs):
    assert s3.get_breadcrumbs(prefix) == crumbs


def fake_creds(key: str, expires_in: float = 3600) -> SimpleNamespace:
    return SimpleNamespace(
        access_key_id=key,
        secret_access_key="secret",
        session_token="token",
        expiration=time.time() + expires_in,
    )


def test_client_cache_reuses_bounds_and_expires():
    cache = ClientCache(max_size=2, endpoint_url="http://127.0.0.1:9")
    a, b = fake_creds("AKIAA"), fake_creds("AKIAB")
    first = cache.get(a, "s3", "us-east-1")
    assert cache.get(a, "s3", "us-east-1") is first and cache.created == 1
    assert cache.get(a, "s3", "eu-west-1") is not first and cache.created == 2
    cache.get(a, "s3", "us-east-1")  # most recently used now; eu-west-1 goes next
    cache.get(b, "s3", "us-east-1")
    assert len(cache) == 2 and cache.created == 3
    assert cache.get(a, "s3", "us-east-1") is first and cache.created == 3
    expired = fake_creds("AKIAC", expires_in=-1)
    cache.get(expired, "s3", "us-east-1")
    cache.get(expired, "s3", "us-east-1")
    assert cache.created == 5  # expired credentials never get a reused client


def test_client_cache_builds_one_client_under_concurrent_requests():
    cache = ClientCache(endpoint_url="http://127.0.0.1:9")
    creds, start, got = fake_creds("AKIAD"), threading.Barrier(8, timeout=5), []

    def worker() -> None:
        start.wait()
        got.append(cache.get(creds, "dynamodb", "us-east-1"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert cache.created == 1 and len({id(c) for c in got}) == 1 and len(got) == 8


def barrier_jobs(n: int, timeout: float) -> tuple[dict, threading.Barrier]:
    """n jobs that can only all finish if all n run at the same time (else BrokenBarrierError)."""
    barrier = threading.Barrier(n, timeout=timeout)

    def job(i: int) -> Page:
        barrier.wait()
        return Page([i])

    return {f"svc{i}": (lambda i=i: job(i)) for i in range(n)}, barrier


def test_run_all_runs_listers_concurrently():
    jobs, _ = barrier_jobs(5, timeout=HANG_GUARD)  # passes as soon as all five arrive
    with ThreadPoolExecutor(5) as pool:
        outcomes = run_all(pool, jobs, timeout=HANG_GUARD)
    assert {name: o.page.items for name, o in outcomes.items()} == {
        f"svc{i}": [i] for i in range(5)
    }


def test_the_barrier_check_catches_serial_execution():
    # With one worker the others can never arrive: the barrier breaks whatever its timeout.
    jobs, _ = barrier_jobs(3, timeout=0.1)
    with ThreadPoolExecutor(1) as pool:  # one worker: the jobs run one after another
        outcomes = run_all(pool, jobs, timeout=10)
    assert all(o.page is None and "BrokenBarrierError" in o.error for o in outcomes.values())


def test_run_all_reports_a_slow_service_and_keeps_the_rest():
    release = threading.Event()
    jobs = {"slow": lambda: release.wait(10) and Page(["late"]), "fast": lambda: Page(["ok"])}
    with ThreadPoolExecutor(2) as pool:
        outcomes = run_all(pool, jobs, timeout=0.3)
        release.set()
    assert outcomes["fast"].page.items == ["ok"]
    assert outcomes["slow"].page is None and "No answer within 0.3 s" in outcomes["slow"].error


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "—"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**2, "5.0 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        (2 * 1024**6, "2048.0 PiB"),
    ],
)
def test_filesize(size, text):
    assert filesize(size) == text


def test_utc_with_and_without_seconds():
    assert utc(0, seconds=True) == "1970-01-01 00:00:00 UTC" and utc(None) == "—"
    assert utc(59) == "1970-01-01 00:00 UTC"


TRICKY = SimpleNamespace(
    access_key_id="ASIAEXAMPLE",
    secret_access_key="se'cret/+=$HOME`x`",
    session_token='tok"en\\ with $(spaces)',
    expiration=1767225600.0,  # 2026-01-01T00:00:00Z
)


def test_bash_lines_survive_the_shell():
    variables = cli_credentials.get_variables(TRICKY, "eu-west-1", None)
    script = (
        cli_credentials.format_bash(variables)
        + "\n"
        + 'printf "%s\\n%s" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN"'
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout == f"{TRICKY.secret_access_key}\n{TRICKY.session_token}"
    assert "AWS_ENDPOINT_URL" not in script and "export AWS_REGION=eu-west-1" in script


def test_powershell_lines_and_credential_process_document():
    variables = cli_credentials.get_variables(TRICKY, "eu-west-1", "http://127.0.0.1:9500")
    lines = cli_credentials.format_powershell(variables).splitlines()
    assert lines[1] == "$Env:AWS_SECRET_ACCESS_KEY='se''cret/+=$HOME`x`'"
    assert lines[-1] == "$Env:AWS_ENDPOINT_URL='http://127.0.0.1:9500'"
    document = json.loads(cli_credentials.format_credential_process(TRICKY))
    assert document == {
        "Version": 1,
        "AccessKeyId": "ASIAEXAMPLE",
        "SecretAccessKey": TRICKY.secret_access_key,
        "SessionToken": TRICKY.session_token,
        "Expiration": "2026-01-01T00:00:00Z",
    }


def test_login_url_shape():
    url = console.get_login_url(
        "https://signin.aws.amazon.com/federation",
        "tok/+=",
        "https://portal.example/",
        console.DESTINATION,
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "signin.aws.amazon.com",
        "/federation",
    )
    assert parse_qs(parts.query) == {
        "Action": ["login"],
        "Issuer": ["https://portal.example/"],
        "Destination": ["https://console.aws.amazon.com/"],
        "SigninToken": ["tok/+="],
    }


def test_signin_token_exchange_with_the_local_stand_in(devstack):
    creds = assume(devstack, "bob", "portal-reader")
    federation = devstack.env["AWS_FEDERATION_URL"]
    token = console.get_signin_token(federation, creds)
    stats = devstack.aws("GET", "_devstack/stats").json()["federation"]
    assert stats == {"getSigninToken": 1, "login": 0}
    page = requests.get(
        console.get_login_url(federation, token, "http://x/", "https://d/"), timeout=10
    )
    assert page.status_code == 200 and "assumed-role/portal-reader/bob" in page.text
    forged = SimpleNamespace(**{**vars(creds), "secret_access_key": "wrong"})
    with pytest.raises(console.FederationError, match="HTTP 400"):
        console.get_signin_token(federation, forged)
    with pytest.raises(console.FederationError, match="unreachable"):
        console.get_signin_token("http://127.0.0.1:9/federation", creds, timeout=2)
