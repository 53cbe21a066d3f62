"""The resource pages, signed in through the devstack IdP, against the local AWS over HTTP."""

from __future__ import annotations

import html
import json
import logging
import re
import threading
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.testing import SEED, big_bucket_keys, csrf_token
from webapp import credentials, resources, store
from webapp.resources import cache, s3
from webapp.resources.model import Page, Service

# alice has two roles; signed in here, she picks this one.
ADMIN = f"arn:aws:iam::{SEED['aws']['account_id']}:role/portal-admin"
BUCKETS = [b["name"] for b in SEED["aws"]["buckets"]]
HOME = SEED["aws"]["region"]
INSTANCES = len(SEED["aws"]["instances"]["names"]) + sum(
    len(names) for names in SEED["aws"]["instances"]["regions"].values()
)
LISTS = [  # (service, seed key) of the regional services whose seed entries have names
    ("dynamodb", "tables"),
    ("lambda", "functions"),
    ("sqs", "queues"),
    ("rds", "db_instances"),
    ("logs", "log_groups"),
]


def text(response) -> str:
    return response.get_data(as_text=True)


def panel(page: str, name: str) -> str:
    """The HTML of one service panel of the overview."""
    match = re.search(rf'<section[^>]*id="panel-{name}"[^>]*>(.*?)</section>', page, re.S)
    assert match, f"no panel for {name}"
    return match.group(1)


def stored_creds(app, client) -> credentials.AwsCredentials:
    with app.app_context():
        return credentials.load_cached(store.get_handle(client.get_cookie("session").value))


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/resources/s3/shared-docs?prefix=handbook/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_alice_sees_every_service(client, auth):
    auth.login("alice", role_arn=ADMIN)
    page = text(client.get("/resources"))
    assert "portal-admin" in page and "Not permitted" not in page and "Could not list" not in page
    for service, seed_key in LISTS:
        entries = SEED["aws"][seed_key]
        assert f'res-count">{len(entries)}<' in panel(page, service)
        for entry in entries[:5]:  # a panel shows five
            region = entry.get("region", HOME)
            assert re.search(
                rf">{re.escape(entry['name'])}(</a>)? <span class=\"res-region\">{region}<",
                panel(page, service),
            )
    assert all(name in panel(page, "s3") for name in BUCKETS)
    assert f'res-count">{INSTANCES}<' in panel(page, "ec2")


def test_alice_reads_every_bucket(client, auth):
    auth.login("alice", role_arn=ADMIN)
    for bucket in BUCKETS:
        assert client.get(f"/resources/s3/{bucket}").status_code == 200
    download = client.get("/resources/s3/private-finance/object?key=budget/2025.xlsx")
    assert download.status_code == 303
    body = requests.get(download.headers["Location"], timeout=10).text
    assert body == "private-finance/budget/2025.xlsx: devstack sample object\n"


def test_bob_sees_what_the_reader_role_may_and_may_not(client, auth):
    auth.login("bob")
    page = text(client.get("/resources"))
    assert all(name in panel(page, "s3") for name in BUCKETS)
    assert "portal-projects" in panel(page, "dynamodb")
    for service in ("lambda", "sqs", "ec2", "rds", "logs"):
        # Denied in each region, each in its own line.
        for region in ("us-east-1", "eu-west-1"):
            assert (
                f'<p class="res-denied" data-region="{region}"><span class="res-region">{region}'
                "</span> Not permitted for portal-reader.</p>"
            ) in panel(page, service)
        assert "<li>" not in panel(page, service) and "res-count" not in panel(page, service)
    for service in ("s3", "dynamodb"):
        assert "Not permitted" not in panel(page, service)
    denied = client.get("/resources/lambda")
    assert denied.status_code == 403
    assert "portal-reader is not permitted to list Lambda functions" in text(denied)


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        ("/resources/s3/shared-docs", 200, "handbook/"),
        ("/resources/s3/shared-docs?prefix=handbook/", 200, "welcome.md"),
        ("/resources/s3/portal-users?prefix=bob/", 200, "notes.txt"),
        ("/resources/s3/private-finance", 403, "not permitted to list s3://private-finance/"),
        ("/resources/s3/portal-users", 403, "not permitted to list s3://portal-users/"),
        ("/resources/s3/portal-users?prefix=alice/", 403, "s3://portal-users/alice/"),
        ("/resources/s3/shared-docs/object?key=README.txt", 303, ""),
        ("/resources/s3/portal-users/object?key=bob/reports/q1.csv", 303, ""),
        ("/resources/s3/private-finance/object?key=audit/report.pdf", 403, "not permitted"),
        ("/resources/s3/portal-users/object?key=alice/notes.txt", 403, "not permitted"),
        ("/resources/s3/shared-docs/object?key=missing.txt", 404, "no object"),
        # AWS (and moto) answer 403, not 404, for a bucket the role may not list.
        ("/resources/s3/no-such-bucket", 403, "not permitted"),
        ("/resources/dynamodb/portal-projects", 200, "project_id"),
        ("/resources/dynamodb/no-such-table", 404, "no table"),
        ("/resources/nope", 404, "no resource page"),
    ],
)
def test_bob_browsing(client, auth, path, status, expected):
    auth.login("bob")
    response = client.get(path)
    assert response.status_code == status
    assert expected in html.unescape(text(response))
    if status == 303:
        assert requests.get(response.headers["Location"], timeout=10).status_code == 200


def test_carol_gets_the_no_role_page(client, auth):
    auth.login("carol")
    for path in ("/resources", "/resources/s3", "/resources/credentials"):
        response = client.get(path)
        assert response.status_code == 403
        assert "no AWS role" in text(response) and "shared-docs" not in text(response)


def links(page: str, rel_next: bool = False) -> list[str]:
    hrefs = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>', page)
    if rel_next:
        hrefs = re.findall(r'<a [^>]*rel="next" href="([^"]+)"', page)
    return [html.unescape(h) for h in hrefs]


def test_paging_through_the_big_bucket_returns_every_key_once(client, auth):
    auth.login("alice", role_arn=ADMIN)
    keys, pending, pages = [], ["/resources/s3/shared-big?size=200"], 0
    while pending:
        page = text(client.get(pending.pop()))
        pages += 1
        keys += [parse_qs(urlsplit(h).query)["key"][0] for h in links(page) if "/object?" in h]
        folders = re.findall(r'<tr class="res-folder">\s*<td><a href="([^"]+)"', page)
        pending += [html.unescape(f) for f in folders] + links(page, rel_next=True)
    assert len(keys) == len(set(keys)) == 1500
    assert sorted(keys) == sorted(big_bucket_keys())
    assert pages == 1 + 1 + 4 * 2  # root, logs/, and two pages for each folder of 375 keys


@pytest.mark.parametrize("region", [None, "us-east-1", "eu-west-1"])
def test_list_pages_follow_next_links(client, auth, region):
    auth.login("bob")
    names, url = [], "/resources/dynamodb?size=1" + (f"&region={region}" if region else "")
    while url:
        page = text(client.get(url))
        names += re.findall(r'<a href="/resources/dynamodb/([^"?]+)\?region=([^"]+)">', page)
        url = next(iter(links(page, rel_next=True)), None)
    tables = [(t["name"], t.get("region", HOME)) for t in SEED["aws"]["tables"]]
    assert sorted(names) == sorted(t for t in tables if region in (None, t[1]))


def barrier_service(name: str, barrier: threading.Barrier) -> Service:
    def wait_then_list(client, size, token) -> Page:
        barrier.wait()  # BrokenBarrierError unless every lister runs at the same time
        return Page([s3.Bucket(f"{name}-item", None)])

    return Service(name, name.upper(), "s3", wait_then_list, s3.Bucket, s3.SERVICE.columns)


def test_overview_runs_listers_concurrently(client, auth, monkeypatch):
    auth.login("bob")
    barrier = threading.Barrier(5, timeout=5)
    fakes = [barrier_service(f"fake{i}", barrier) for i in range(5)]
    monkeypatch.setattr(resources.services, "SERVICES", [replace(f, regional=False) for f in fakes])
    page = text(client.get("/resources"))
    for i in range(5):
        assert f"fake{i}-item" in panel(page, f"fake{i}")
    assert "Could not list" not in page and not barrier.broken


def test_repeated_page_views_build_no_new_clients(app, client, auth):
    auth.login("bob")
    refresh = {"csrf_token": csrf_token(text(client.get("/resources"))), "next": "/resources"}
    clients = app.extensions["webapp.resources"]["clients"]
    built = clients.created
    assert built == sum(
        len(app.config["AWS_REGIONS"]) if s.regional else 1 for s in resources.SERVICES
    )
    for _ in range(3):
        client.post("/resources/refresh", data=refresh)  # so every view really calls AWS
        for path in ("/resources", "/resources/s3", "/resources/s3/shared-docs", "/resources/sqs"):
            client.get(path)
        client.get("/resources/dynamodb/portal-projects")
        client.get("/resources/s3/shared-docs/object?key=README.txt")
    assert clients.created == built


def test_listings_are_kept_briefly_and_sealed(client, auth, redis_server):
    auth.login("bob")
    assert "shared-docs" in panel(text(client.get("/resources")), "s3")
    keys = redis_server.client().keys(store.session_key("*", "listing"))
    assert len(keys) == 1 and 0 < redis_server.client().ttl(keys[0]) <= cache.TTL_SECONDS
    stored = redis_server.client().hgetall(keys[0])
    assert len(stored) == 3  # S3, and DynamoDB in each region; denials are not cached
    assert not any(b"shared-docs" in blob for blob in stored.values())


def test_refresh_drops_the_cache(app, client, auth, monkeypatch):
    auth.login("bob")
    calls = []
    real = s3.SERVICE

    def counting(client, size, token):
        calls.append(token)
        return real.list(client, size, token)

    counted = replace(real, list=counting)
    monkeypatch.setattr(resources.services, "SERVICES", [counted])
    page = text(client.get("/resources"))
    client.get("/resources")
    client.get("/resources/s3")
    assert len(calls) == 1
    token = csrf_token(page)
    assert client.post("/resources/refresh", data={"next": "/resources"}).status_code == 400
    answer = client.post("/resources/refresh", data={"csrf_token": token, "next": "/resources"})
    assert (answer.status_code, answer.headers["Location"]) == (303, "/resources")
    client.get("/resources")
    assert len(calls) == 2


def test_console_button_signs_in_through_federation(app, client, auth, devstack, caplog):
    caplog.set_level(logging.DEBUG)
    auth.login("bob")
    token = csrf_token(text(client.get("/resources")))
    assert client.post("/resources/console").status_code == 400
    answer = client.post("/resources/console", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Cache-Control"] == "no-store"
    location = answer.headers["Location"]
    federation = devstack.env["AWS_FEDERATION_URL"]
    assert location.startswith(federation + "?Action=login&")
    query = parse_qs(urlsplit(location).query)
    assert query["Issuer"] == ["http://localhost/"]
    assert query["Destination"] == ["https://console.aws.amazon.com/"]
    stats = devstack.aws("GET", "_devstack/stats").json()["federation"]
    assert stats == {"getSigninToken": 1, "login": 0}
    assert query["SigninToken"][0] not in caplog.text
    console = requests.get(location, timeout=10)
    assert console.status_code == 200 and "assumed-role/portal-reader/" in console.text


def test_cli_credentials_only_after_a_csrf_checked_post(app, client, auth, redis_server):
    auth.login("bob")
    shown = client.get("/resources/credentials")
    creds = stored_creds(app, client)
    page = text(shown)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert "portal-reader" in page
    assert creds.secret_access_key not in page and creds.session_token not in page
    refused = client.post("/resources/credentials")
    assert refused.status_code == 400 and creds.secret_access_key not in text(refused)
    revealed = client.post("/resources/credentials", data={"csrf_token": csrf_token(page)})
    assert revealed.status_code == 200 and revealed.headers["Cache-Control"] == "no-store"
    secret = html.unescape(text(revealed))
    assert f"export AWS_SECRET_ACCESS_KEY={creds.secret_access_key}" in secret
    assert f"$Env:AWS_SESSION_TOKEN='{creds.session_token}'" in secret
    document = re.search(r'<pre id="cred-credential_process">(.*?)</pre>', secret, re.S).group(1)
    assert json.loads(document)["SessionToken"] == creds.session_token
    assert 'data-copy="cred-bash"' in secret and "copy.js" in secret
