"""/metrics: what a sign-in and a resources visit count, and who may scrape them."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from devstack.processes import free_port
from devstack.testing import SEED, app_config
from webapp import config, create_app
from webapp.resources.fanout import run_all
from webapp.resources.model import Page

ADMIN = f"arn:aws:iam::{SEED['aws']['account_id']}:role/portal-admin"

SERVICES = ["s3", "dynamodb", "lambda", "sqs", "ec2", "rds", "logs"]
PUBLIC = "203.0.113.9"  # TEST-NET-3: an address from the internet


def scrape(client, **kwargs) -> dict[tuple[str, frozenset], float]:
    """The samples of one scrape: (name, labels) -> value."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_a_sign_in_and_two_resource_visits_are_counted(client, auth):
    auth.login("alice", role_arn=ADMIN)
    assert client.get("/resources").status_code == 200
    assert client.get("/resources").status_code == 200  # credentials and listings cached
    samples = scrape(client)

    assert value(samples, "portal_sign_ins_total", outcome="ok") == 1
    assert value(samples, "portal_sign_ins_total", outcome="rejected_token") == 0  # present, 0
    assert ("portal_sign_ins_total", frozenset({("outcome", "denied")})) in samples
    assert value(samples, "portal_sts_calls_total", outcome="ok") == 1
    assert value(samples, "portal_credential_cache_total", result="miss") == 1
    assert value(samples, "portal_credential_cache_total", result="hit") == 1
    regions = len(client.application.config["AWS_REGIONS"])
    for service in SERVICES:  # S3 is listed once; the others once in each region
        listed = value(samples, "portal_resource_listings_total", service=service, outcome="ok")
        assert listed == (1 if service == "s3" else regions)
    cells = 1 + (len(SERVICES) - 1) * regions
    assert value(samples, "portal_listing_cache_total", result="miss") == cells
    assert value(samples, "portal_listing_cache_total", result="hit") == cells
    assert value(samples, "portal_live_sessions") == 1

    sts = {"service": "sts", "operation": "AssumeRoleWithWebIdentity"}
    assert value(samples, "portal_aws_call_duration_seconds_count", **sts) == 1
    assert value(samples, "portal_aws_call_duration_seconds_sum", **sts) > 0
    s3 = {"service": "s3", "operation": "ListBuckets"}
    assert value(samples, "portal_aws_call_duration_seconds_count", **s3) == 1

    overview = {"endpoint": "resources.overview"}
    assert value(samples, "portal_request_duration_seconds_count", **overview) == 2
    assert value(samples, "portal_responses_total", status="200", **overview) == 2
    assert value(samples, "portal_request_duration_seconds_count", endpoint="auth.callback") == 1
    # The scrape itself is not counted, and raw paths never become labels.
    assert not any(dict(labels).get("endpoint") == "metrics.scrape" for _, labels in samples)
    assert not any("/" in dict(labels).get("endpoint", "") for _, labels in samples)


def test_unknown_paths_share_one_label(client):
    for path in ("/no/such/page", "/wp-login.php", "/resources/x/y/z/w"):
        assert client.get(path).status_code == 404
    samples = scrape(client)
    assert value(samples, "portal_responses_total", endpoint="unmatched", status="404") == 3


def test_refused_sign_ins_are_counted_by_outcome(client, auth, devstack):
    client.get("/callback?code=abc&state=forged")  # no sign-in was started for this state
    callback = auth.authorize(auth.start(), "alice")
    client.get(callback.replace("code=", "code=tampered"))  # the IdP refuses the code
    state = parse_qs(urlsplit(auth.start()).query)["state"][0]
    client.get(f"/callback?error=access_denied&error_description=No&state={state}")
    devstack.idp("POST", "_devstack/misbehave", json={"id_token": {"signing": "flip_signature"}})
    assert auth.login("alice").status_code == 401
    samples = scrape(client)
    counts = {
        outcome: value(samples, "portal_sign_ins_total", outcome=outcome)
        for outcome in ("ok", "stale", "code_refused", "denied", "rejected_token")
    }
    assert counts == {"ok": 0, "stale": 1, "code_refused": 1, "denied": 1, "rejected_token": 1}


def test_an_unreachable_idp_is_counted(devstack, redis_server):
    app = create_app(
        app_config(devstack, redis_server, AUTH0_ISSUER=f"http://127.0.0.1:{free_port()}/")
    )
    client = app.test_client()
    assert client.get("/login").status_code == 503
    assert value(scrape(client), "portal_sign_ins_total", outcome="idp_unavailable") == 1


def test_an_sts_refusal_is_counted_by_its_error_code(client, auth, devstack):
    auth.login("bob")
    error = {"code": "AccessDenied", "message": "Not authorized", "times": 9}
    devstack.aws("POST", "_devstack/misbehave", json={"sts_error": error})
    assert client.get("/resources").status_code == 403
    samples = scrape(client)
    assert value(samples, "portal_sts_calls_total", outcome="AccessDenied") == 1
    assert value(samples, "portal_sts_calls_total", outcome="ok") == 0


def test_a_refused_backchannel_logout_is_counted(client):
    response = client.post("/backchannel-logout", data={"logout_token": "not.a.token"})
    assert response.status_code == 400
    samples = scrape(client)
    assert value(samples, "portal_backchannel_logouts_total", result="refused") == 1
    assert value(samples, "portal_backchannel_logouts_total", result="accepted") == 0


def denied() -> Page:
    raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListThings")


def broken() -> Page:
    raise ClientError({"Error": {"Code": "InternalError", "Message": "oops"}}, "ListThings")


def test_listing_outcomes_name_a_denial_an_error_and_a_timeout(app):
    released = threading.Event()

    def hung() -> Page:
        released.wait(30)  # answers only once the deadline has passed
        return Page([])

    jobs = {"ok": lambda: Page([]), "denied": denied, "error": broken, "timeout": hung}
    try:
        outcomes = run_all(app.extensions["webapp.resources"]["executor"], jobs, timeout=1)
    finally:
        released.set()
    assert {name: outcome.kind for name, outcome in outcomes.items()} == {
        name: name for name in jobs
    }


# The test client connects from 127.0.0.1 unless REMOTE_ADDR says otherwise.
@pytest.mark.parametrize(
    ("settings", "remote_addr", "served"),
    [
        ({}, "127.0.0.1", True),
        ({}, "127.8.9.10", True),
        ({}, "::1", True),
        ({}, PUBLIC, False),
        ({}, "10.0.0.5", False),
        ({"METRICS_ALLOW": "10.0.0.0/8, 192.0.2.7"}, "10.0.0.5", True),
        ({"METRICS_ALLOW": "10.0.0.0/8, 192.0.2.7"}, "192.0.2.7", True),
        ({"METRICS_ALLOW": "10.0.0.0/8, 192.0.2.7"}, "127.0.0.1", False),
    ],
)
def test_only_allowed_addresses_may_scrape(devstack, redis_server, settings, remote_addr, served):
    app = create_app(app_config(devstack, redis_server, **settings))
    response = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": remote_addr})
    assert response.status_code == (200 if served else 404)
    assert ("portal_" in response.get_data(as_text=True)) is served


# Behind nginx (PROXY_FIX=1) the client's address is X-Forwarded-For's last entry.
@pytest.mark.parametrize(
    ("peer", "forwarded_for", "served"),
    [
        ("127.0.0.1", None, True),  # Prometheus on this host, straight to gunicorn's bind
        ("127.0.0.1", PUBLIC, False),  # a visitor whose request nginx passed on
        ("127.0.0.1", f"127.0.0.1, {PUBLIC}", False),  # ... who claimed loopback to nginx
        (PUBLIC, "127.0.0.1", False),  # someone reaching the bind who claims to be nginx's
    ],
)
def test_behind_a_proxy_both_the_client_and_the_peer_must_be_allowed(
    devstack, redis_server, peer, forwarded_for, served
):
    app = create_app(app_config(devstack, redis_server, PROXY_FIX=1))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = app.test_client().get(
        "/metrics", headers=headers, environ_base={"REMOTE_ADDR": peer}
    )
    assert response.status_code == (200 if served else 404)


def test_the_refusal_is_the_usual_404_page(client):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": PUBLIC})
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


@pytest.mark.parametrize("allow", ["localhost", "10.0.0.0/33", "127.0.0.1,,nope"])
def test_a_malformed_allow_list_stops_start_up(allow):
    with pytest.raises(config.ConfigError, match=r"^METRICS_ALLOW: expected addresses"):
        config.validate(
            {
                "SECRET_KEY": "x" * 32,
                "AUTH0_DOMAIN": "acme.eu.auth0.com",
                "AUTH0_CLIENT_ID": "id",
                "AUTH0_CLIENT_SECRET": "secret",
                "REDIS_URL": "redis://localhost/0",
                "METRICS_ALLOW": allow,
            }
        )


def test_two_apps_count_apart(devstack, redis_server):
    first = create_app(app_config(devstack, redis_server))
    second = create_app(app_config(devstack, redis_server))
    first.test_client().get("/healthz")
    count = "portal_request_duration_seconds_count"
    assert value(scrape(first.test_client()), count, endpoint="pages.healthz") == 1
    assert value(scrape(second.test_client()), count, endpoint="pages.healthz") == 0
