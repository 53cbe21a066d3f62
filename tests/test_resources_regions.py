"""Regions: listings across AWS_REGIONS, the ?region= filter, and S3 buckets in their own region."""

from __future__ import annotations

import base64
import html
import json
import re

import boto3
import pytest
import requests
from botocore.config import Config

from devstack.testing import SEED, AuthActions, app_config, csrf_token, idp_tokens
from webapp import clock, create_app
from webapp.resources import SERVICES
from webapp.resources.locations import BucketRegions

ADMIN = f"arn:aws:iam::{SEED['aws']['account_id']}:role/portal-admin"
HOME = SEED["aws"]["region"]
EU_BUCKET = next(b for b in SEED["aws"]["buckets"] if b.get("region") == "eu-west-1")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def panel(page: str, name: str) -> str:
    match = re.search(rf'<section[^>]*id="panel-{name}"[^>]*>(.*?)</section>', page, re.S)
    assert match, f"no panel for {name}"
    return match.group(1)


def aws_calls(devstack) -> dict:
    return devstack.aws("GET", "_devstack/stats").json()["aws_calls"]


@pytest.mark.parametrize(
    "regions",
    [["us-east-1"], ["us-east-1", "eu-west-1"], ["us-east-1", "eu-west-1", "ap-southeast-2"]],
)
def test_the_overview_asks_every_region_at_once(devstack, redis_server, regions):
    redis_server.client().flushdb()
    app = create_app(app_config(devstack, redis_server, AWS_REGIONS=",".join(regions)))
    client = app.test_client()
    AuthActions(client, devstack).login("alice", role_arn=ADMIN)
    page = text(client.get("/resources"))  # builds the clients, signs nothing new after this
    client.post("/resources/refresh", data={"csrf_token": csrf_token(page), "next": "/"})
    devstack.aws("POST", "_devstack/reset")
    # Each AWS call now takes a full second at the stand-in, which counts how many it is
    # answering at once: all of them, if the overview sends them in parallel.
    devstack.aws("POST", "_devstack/misbehave", json={"latency_ms": 1000})
    page = text(client.get("/resources"))
    calls = aws_calls(devstack)
    devstack.aws("POST", "_devstack/reset")
    assert "Could not list" not in page and "Not permitted" not in page
    regional = sum(s.regional for s in SERVICES)
    expected = {region: regional for region in regions}
    expected[HOME] += 1  # S3's ListBuckets, once, in AWS_REGION
    assert calls["by_region"] == expected
    assert calls["max_in_flight"] == sum(expected.values())


def test_a_denied_region_is_its_own_cell(client, auth, devstack):
    auth.login("alice", role_arn=ADMIN)
    devstack.aws("POST", "_devstack/misbehave", json={"deny_regions": ["eu-west-1"]})
    page = text(client.get("/resources"))
    for service in ("dynamodb", "lambda", "sqs", "ec2", "rds", "logs"):
        cell = panel(page, service)
        denied = '<span class="res-region">eu-west-1</span> Not permitted for portal-admin.'
        assert f'<p class="res-denied" data-region="eu-west-1">{denied}</p>' in cell
        assert 'data-region="us-east-1"' not in cell
        assert '<span class="res-region">us-east-1</span></li>' in cell  # home still listed
        assert '<span class="res-region">eu-west-1</span></li>' not in cell
    assert "Not permitted" not in panel(page, "s3")  # global: listed in AWS_REGION only
    listed = client.get("/resources/lambda")
    assert listed.status_code == 200
    assert "portal-thumbnailer" in text(listed) and "portal-eu-invoicer" not in text(listed)
    assert "this role may not list Lambda functions in eu-west-1" in text(listed)
    refused = client.get("/resources/lambda?region=eu-west-1")
    assert refused.status_code == 403 and "not permitted to list Lambda functions" in text(refused)
    assert client.get("/resources/lambda?region=us-east-1").status_code == 200


def test_the_region_filter(client, auth):
    auth.login("alice", role_arn=ADMIN)
    eu = text(client.get("/resources/sqs?region=eu-west-1"))
    assert "SQS queues in eu-west-1" in eu
    assert "portal-eu-orders" in eu and "portal-events" not in eu
    both = text(client.get("/resources/sqs"))
    assert "portal-eu-orders" in both and "portal-events" in both


def token(tokens: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(tokens).encode()).decode()


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/resources/sqs?region=mars", 400, "not an AWS region name"),
        ("/resources/sqs?region=eu-west-1%0a", 400, "not an AWS region name"),
        ("/resources/sqs?region=ap-south-1", 404, "does not list region ap-south-1"),
        ("/resources/s3?region=us-east-1", 400, "global"),
        ("/resources/dynamodb/portal-eu-orders?region=ap-south-1", 404, "does not list region"),
        ("/resources/sqs?token=not-base64-json!", 400, "not valid here"),
        (f"/resources/sqs?token={token(['x'])}", 400, "not valid here"),
        (f"/resources/sqs?token={token({'ap-south-1': 'x'})}", 400, "not valid here"),
        (f"/resources/sqs?region=us-east-1&token={token({'eu-west-1': 'x'})}", 400, "not valid"),
    ],
)
def test_bad_region_arguments_get_a_clear_answer(client, auth, path, status, words):
    auth.login("alice", role_arn=ADMIN)
    response = client.get(path)
    assert response.status_code == status
    assert words in text(response) and "Traceback" not in text(response)


def test_a_table_page_asks_the_table_s_region(client, auth):
    auth.login("alice", role_arn=ADMIN)
    page = text(client.get("/resources/dynamodb"))
    assert '<a href="/resources/dynamodb/portal-eu-orders?region=eu-west-1">' in page
    detail = client.get("/resources/dynamodb/portal-eu-orders?region=eu-west-1")
    assert detail.status_code == 200 and "order_id" in text(detail)
    assert client.get("/resources/dynamodb/portal-eu-orders").status_code == 404  # not at home


def test_new_regional_services_list_and_deny_like_the_others(client, auth):
    auth.login("alice", role_arn=ADMIN)
    for path, seed_key in (("/resources/rds", "db_instances"), ("/resources/logs", "log_groups")):
        page = text(client.get(path))
        for entry in SEED["aws"][seed_key]:
            assert entry["name"] in page
    assert "mysql" in text(client.get("/resources/rds?region=eu-west-1"))


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_download_from_a_bucket_in_another_region(app, client, auth, devstack, user):
    auth.login(user, **({"role_arn": ADMIN} if user == "alice" else {}))
    name = EU_BUCKET["name"]
    listing = client.get(f"/resources/s3/{name}?prefix=2025/")
    assert listing.status_code == 200
    page = text(listing)
    assert "q1.pdf" in page and '<span class="res-region">eu-west-1</span>' in page
    download = client.get(f"/resources/s3/{name}/object?key=2025/q1.pdf")
    assert download.status_code == 303
    assert "%2Feu-west-1%2Fs3%2F" in download.headers["Location"]  # signed for the bucket's region
    body = requests.get(download.headers["Location"], timeout=10)
    assert body.status_code == 200 and body.text == f"{name}/2025/q1.pdf: devstack sample object\n"
    # Right the first time: S3 (the stand-in) never had to refuse a wrong-region request.
    assert aws_calls(devstack)["s3_wrong_region"] == 0
    # Looked up once, then cached: more views of the bucket ask S3 nothing more about it.
    assert app.extensions["webapp.resources"]["bucket_regions"].lookups == 1
    client.get(f"/resources/s3/{name}")
    client.get(f"/resources/s3/{name}/object?key=README.txt")
    assert app.extensions["webapp.resources"]["bucket_regions"].lookups == 1


def test_home_region_buckets_stay_in_the_home_region(client, auth, devstack):
    auth.login("bob")
    download = client.get("/resources/s3/shared-docs/object?key=README.txt")
    assert download.status_code == 303 and f"%2F{HOME}%2Fs3%2F" in download.headers["Location"]
    assert "us-east-1" in text(client.get("/resources/s3/shared-docs"))


def test_the_stand_in_refuses_a_wrong_region_as_s3_does(devstack):
    tokens = idp_tokens(devstack.issuer, "bob")
    answer = boto3.client(
        "sts", endpoint_url=devstack.aws_url, region_name=HOME
    ).assume_role_with_web_identity(
        RoleArn=ADMIN.replace("portal-admin", "portal-reader"),
        RoleSessionName="bob",
        WebIdentityToken=tokens["id_token"],
    )["Credentials"]
    keys = {
        "aws_access_key_id": answer["AccessKeyId"],
        "aws_secret_access_key": answer["SecretAccessKey"],
        "aws_session_token": answer["SessionToken"],
    }
    s3v4 = Config(signature_version="s3v4")

    def s3(region: str):
        return boto3.client(
            "s3", endpoint_url=devstack.aws_url, region_name=region, config=s3v4, **keys
        )

    where = {"Bucket": EU_BUCKET["name"], "Key": "README.txt"}
    wrong = requests.get(s3(HOME).generate_presigned_url("get_object", Params=where), timeout=10)
    assert wrong.status_code == 400 and wrong.headers["x-amz-bucket-region"] == "eu-west-1"
    assert "<Code>AuthorizationQueryParametersError</Code>" in wrong.text
    assert "the region 'us-east-1' is wrong; expecting 'eu-west-1'" in wrong.text
    url = s3("eu-west-1").generate_presigned_url("get_object", Params=where)
    right = requests.get(url, timeout=10)
    assert right.status_code == 200
    # Signed in headers for the wrong region: refused too; botocore then retries in the region
    # the answer names (it cannot do that for a URL handed to a browser).
    assert aws_calls(devstack)["s3_wrong_region"] == 1
    listed = s3(HOME).list_objects_v2(Bucket=EU_BUCKET["name"])
    assert {o["Key"] for o in listed["Contents"]} == set(EU_BUCKET["keys"])
    assert aws_calls(devstack)["s3_wrong_region"] == 2
    # GetBucketLocation answers from any region: it is how a client finds the right one.
    location = s3(HOME).get_bucket_location(Bucket=EU_BUCKET["name"])
    assert location["LocationConstraint"] == "eu-west-1"


def test_bucket_regions_are_kept_bounded_and_for_a_while(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    regions, asked = BucketRegions(max_size=2, ttl=60), []

    def lookup(bucket: str) -> str | None:
        asked.append(bucket)
        return None if bucket == "unknown" else f"region-of-{bucket}"

    assert regions.get("a", lookup) == "region-of-a" and regions.get("a", lookup) == "region-of-a"
    assert regions.get("unknown", lookup) is None and regions.get("unknown", lookup) is None
    assert asked == ["a", "unknown", "unknown"]  # an answer is kept; "cannot tell" is not
    regions.get("b", lookup)
    regions.get("a", lookup)  # most recently used now: b goes first
    regions.get("c", lookup)
    regions.get("a", lookup)
    assert asked == ["a", "unknown", "unknown", "b", "c"]
    regions.get("b", lookup)
    assert asked[-1] == "b"  # b was dropped for c
    now[0] += 61
    regions.get("b", lookup)
    assert asked[-2:] == ["b", "b"]  # expired: asked again
    regions.forget("b")
    regions.get("b", lookup)
    assert asked[-3:] == ["b", "b", "b"]
