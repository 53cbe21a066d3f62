"""The portal against issuers spelled without a trailing slash and RP-initiated logout."""

from __future__ import annotations

import html
import json
import logging
import os
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.processes import free_port, spawn
from devstack.testing import (
    ROOT,
    SEED,
    TENANT,
    USERS,
    AuthActions,
    Devstack,
    app_config,
    form_action,
    hidden_fields,
    stored_session,
)
from webapp import create_app
from webapp.doctor.idp import check_identity_provider

pytestmark = pytest.mark.devstack


@pytest.fixture(scope="module")
def oidc_idp():
    """A devstack in the oidc issuer style (no trailing '/', end_session_endpoint), as the demo's
    `--issuer-style oidc` runs it: its AWS trusts that issuer."""
    ports = ("--idp-port", str(free_port()), "--aws-port", str(free_port()))
    proc, env = spawn(*ports, "--issuer-style", "oidc")
    yield Devstack(env["AUTH0_ISSUER"], env["AWS_ENDPOINT_URL"], env)
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def oidc_app(oidc_idp, redis_server):
    """The portal configured with the provider-neutral OIDC_* names for that devstack."""
    redis_server.client().flushdb()
    config = app_config(oidc_idp, redis_server)
    for name in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "AUDIENCE", "ROLES_CLAIM"):
        config.pop(f"AUTH0_{name}")
        config[f"OIDC_{name}"] = oidc_idp.env[f"AUTH0_{name}"]
    return create_app(config)


def test_the_issuer_has_no_trailing_slash(oidc_idp):
    discovery = oidc_idp.idp("GET", ".well-known/openid-configuration").json()
    assert not oidc_idp.issuer.endswith("/") and discovery["issuer"] == oidc_idp.issuer
    assert discovery["end_session_endpoint"] == oidc_idp.issuer + "/oidc/logout"


def test_sign_in_and_rp_initiated_sign_out(oidc_app, oidc_idp):
    client = oidc_app.test_client()
    auth = AuthActions(client, oidc_idp)
    assert auth.start().startswith(oidc_idp.issuer + "/authorize?")
    auth.login("bob")
    page = client.get("/").get_data(as_text=True)
    assert "Signed in as Bob Reader" in page
    assert "assumed-role/portal-reader/" in page  # STS took the slash-less issuer's token
    assert f"<code>{oidc_idp.issuer}</code>" in page  # the session's issuer, as spelled

    out = auth.logout()
    assert out.status_code == 302
    location = urlsplit(out.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        oidc_idp.issuer + "/oidc/logout"
    )
    params = parse_qs(location.query)
    assert params["client_id"] == [TENANT["client_id"]]
    assert params["post_logout_redirect_uri"] == ["http://localhost/"]
    assert params["id_token_hint"][0].count(".") == 2
    # The IdP takes the hint, ends its session and sends the browser home.
    back = auth.browser.get(out.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code in (302, 303) and back.headers["Location"] == "http://localhost/"
    assert "Signed in as" not in client.get("/").get_data(as_text=True)
    # SSO is over: the next sign-in shows the login form again.
    again = auth.browser.get(auth.start(), allow_redirects=False, timeout=10)
    assert again.status_code == 200 and 'name="password"' in again.text


@pytest.mark.parametrize("spelling", ["add a slash", "drop the slash"])
def test_an_issuer_spelled_unlike_discovery_refuses_sign_in_in_one_line(
    spelling, oidc_idp, devstack, redis_server, caplog
):
    """Start-up takes any spelling; the first sign-in compares it with discovery, exactly."""
    if spelling == "add a slash":
        idp, wrong = oidc_idp, oidc_idp.issuer + "/"
    else:
        idp, wrong = devstack, devstack.issuer.rstrip("/")
    app = create_app(app_config(idp, redis_server, AUTH0_ISSUER=wrong))
    with caplog.at_level(logging.ERROR, logger="webapp.auth.views"):
        response = app.test_client().get("/login")
    assert response.status_code == 503
    assert "Location" not in response.headers
    (record,) = [r for r in caplog.records if r.name == "webapp.auth.views"]
    line = record.getMessage()
    assert "\n" not in line and repr(wrong) in line and repr(idp.issuer) in line
    assert "differ only by the trailing slash" in line
    # Nor is such an instance ready, from its first probe on: it stays out of rotation.
    with caplog.at_level(logging.WARNING, logger="webapp.pages"):
        ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["identity_provider"] == "failed: IssuerMismatch"
    (probe,) = [r.getMessage() for r in caplog.records if r.name == "webapp.pages"]
    assert "\n" not in probe and repr(wrong) in probe and repr(idp.issuer) in probe


# --- A provider nobody here wrote: panva's oidc-provider (npm), run with Node -----------------
PROVIDER_DIR = ROOT / "devstack" / "oidc_provider"
PORTAL = "http://localhost"  # the test client's own name: its callback and its home page
ROLE_RULES = """
[[rules]]
claim = "realm_access.roles"
match = "contains"
value = "admin"
role_arn = "arn:aws:iam::123456789012:role/portal-admin"

[[rules]]
claim = "realm_access.roles"
match = "contains"
value = "reader"
role_arn = "arn:aws:iam::123456789012:role/portal-reader"
"""
NODE_CLIENT = {"client_id": "keycloak-style-portal", "client_secret": "node-provider-secret"}


@pytest.fixture(scope="module")
def node_idp(devstack):
    """oidc-provider on a free port, issuer without '/', trusted by the devstack AWS."""
    node = shutil.which("node")
    if node is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("Node and oidc-provider are needed: run .ci/setup.sh test")
    port = free_port()
    config = {
        "port": port,
        "client": {
            **NODE_CLIENT,
            "redirect_uris": [f"{PORTAL}/callback"],
            "post_logout_redirect_uris": [f"{PORTAL}/"],
        },
        "users": SEED["users"],
    }
    env = {**os.environ, "PROVIDER_CONFIG": json.dumps(config)}
    proc = subprocess.Popen(
        [node, "server.mjs"], cwd=PROVIDER_DIR, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("oidc-provider ready "), line
        issuer = line.split()[-1]
        devstack.aws(
            "POST",
            "_devstack/providers",
            json={"url": issuer, "client_id": NODE_CLIENT["client_id"]},
        )
        yield issuer
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


@pytest.fixture
def node_app(node_idp, devstack, redis_server, tmp_path):
    redis_server.client().flushdb()
    rules = tmp_path / "rules.toml"
    rules.write_text(ROLE_RULES)
    config = app_config(devstack, redis_server, ROLE_RULES=str(rules), SESSION_IDLE_MINUTES=240)
    for name in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "AUDIENCE", "ROLES_CLAIM"):
        config.pop(f"AUTH0_{name}")
    config.update(
        OIDC_ISSUER=node_idp,
        OIDC_CLIENT_ID=NODE_CLIENT["client_id"],
        OIDC_CLIENT_SECRET=NODE_CLIENT["client_secret"],
        OIDC_ROLES_CLAIM="realm_access.roles",
    )
    return create_app(config)


def node_sign_in(browser: requests.Session, authorize_url: str, username: str) -> str:
    """Through oidc-provider's login form, as a browser would; the callback path and query."""
    page = browser.get(authorize_url, timeout=10)  # /auth → /interaction/UID
    assert page.status_code == 200 and "/interaction/" in page.url, page.text[:300]
    answer = browser.post(
        form_action(page.text, page.url),
        data={"username": username, "password": USERS[username]["password"]},
        allow_redirects=False,
        timeout=10,
    )
    while answer.headers.get("Location", "").startswith("http://127.0.0.1"):
        answer = browser.get(answer.headers["Location"], allow_redirects=False, timeout=10)
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{PORTAL}/callback"
    return f"{location.path}?{location.query}"


def test_sign_in_assume_renew_and_sign_out_against_oidc_provider(
    node_app, node_idp, devstack, travel
):
    client = node_app.test_client()
    auth = AuthActions(client, devstack)
    discovery = requests.get(node_idp + "/.well-known/openid-configuration", timeout=5).json()
    assert discovery["issuer"] == node_idp and not node_idp.endswith("/")

    # Sign in: bob's roles come from realm_access.roles, and the rule gives him the reader role.
    authorize_url = auth.start()
    assert authorize_url.startswith(discovery["authorization_endpoint"] + "?")
    assert client.get(node_sign_in(auth.browser, authorize_url, "bob")).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Signed in as Bob Reader" in page
    assert "assumed-role/portal-reader/" in page  # STS took oidc-provider's ID token
    assert "<code>username=bob</code>" in page  # with its session tags
    listing = client.get("/resources/s3/portal-users?prefix=bob/")
    assert listing.status_code == 200 and "notes.txt" in listing.get_data(as_text=True)
    assert client.get("/resources/s3/portal-users?prefix=alice/").status_code == 403
    stored = stored_session(node_app, client)
    assert stored["user"]["iss"] == node_idp and stored["user"]["roles"] == ["reader"]
    first_refresh = stored["tokens"]["refresh_token"]
    assert first_refresh

    # Renew twice (roles older than ROLES_MAX_AGE_MINUTES): rotation hands out a new refresh
    # token each time, and the portal must keep the newest or the second renewal would fail.
    travel(20 * 60)
    assert "Signed in as Bob Reader" in client.get("/").get_data(as_text=True)
    second_refresh = stored_session(node_app, client)["tokens"]["refresh_token"]
    assert second_refresh and second_refresh != first_refresh
    travel(40 * 60)
    assert "Signed in as Bob Reader" in client.get("/").get_data(as_text=True)
    third = stored_session(node_app, client)["tokens"]
    assert third["refresh_token"] not in (first_refresh, second_refresh)
    # Near the credentials' expiry they are assumed again, with the renewed ID token.
    ok_before = devstack.sts_stats().get("ok", 0)
    travel(3600 - 200)
    assert "assumed-role/portal-reader/" in client.get("/").get_data(as_text=True)
    assert devstack.sts_stats().get("ok", 0) == ok_before + 1

    # Sign out: RP-initiated logout at oidc-provider's end_session_endpoint.
    held = stored_session(node_app, client)["tokens"]["id_token"]
    out = auth.logout()
    location = urlsplit(out.headers["Location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}"
        == (discovery["end_session_endpoint"])
    )
    params = parse_qs(location.query)
    assert params["post_logout_redirect_uri"] == [f"{PORTAL}/"]
    assert params["client_id"] == [NODE_CLIENT["client_id"]]
    assert params["id_token_hint"] == [held]
    confirm = auth.browser.get(out.headers["Location"], timeout=10)
    assert confirm.status_code == 200, confirm.text[:300]
    form = hidden_fields(confirm.text)
    done = auth.browser.post(
        form_action(confirm.text, confirm.url),
        data={**form, "logout": "yes"},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code in (302, 303) and done.headers["Location"] == f"{PORTAL}/"
    assert "Signed in as" not in client.get("/").get_data(as_text=True)
    # The provider's session is over too: signing in again asks for the password.
    again = auth.browser.get(auth.start(), timeout=10)
    assert "/interaction/" in again.url and 'name="password"' in again.text


def test_home_and_admin_token_page_show_the_session_tags(client, auth, devstack):
    auth.login("alice")
    home = client.get("/").get_data(as_text=True)
    assert "Session tags" in home
    assert "<code>username=alice</code>, <code>team=platform</code>" in home
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "<code>username=alice</code>, <code>team=platform</code>" in page
    assert "Session tags" in page and "sts:TagSession" in page  # the verdict's finding
    # carol's token carries no tags claim: no row on her home page.
    other = AuthActions(client.application.test_client(), devstack)
    other.login("carol")
    assert "Session tags" not in other.client.get("/").get_data(as_text=True)


def test_without_a_logout_endpoint_sign_out_goes_home(app, client, auth):
    """Google's discovery names no end_session_endpoint, and /v2/logout is Auth0's alone."""
    auth.login("bob")
    oauth_client = app.extensions["webapp.auth"]["client"]
    oauth_client.load_server_metadata()
    issuer = app.config["AUTH0_ISSUER"].rstrip("/")
    # As Google's discovery would read: another token endpoint layout, no end_session_endpoint.
    oauth_client.server_metadata["token_endpoint"] = issuer + "/token"
    oauth_client.server_metadata.pop("end_session_endpoint", None)
    out = auth.logout()
    assert out.status_code == 302 and out.headers["Location"] == "http://localhost/"
    assert "Signed in as" not in client.get("/").get_data(as_text=True)


def test_doctor_passes_the_slashless_issuer_spelled_as_discovery_says(oidc_idp):
    results = check_identity_provider(
        oidc_idp.issuer, TENANT["client_id"], TENANT["client_secret"], timeout=5
    )
    assert [r.status for r in results] == ["pass"] * 4, results
    wrong = check_identity_provider(
        oidc_idp.issuer + "/", TENANT["client_id"], TENANT["client_secret"], timeout=5
    )[0]
    assert wrong.status == "fail" and "differ only by the trailing slash" in wrong.detail


@pytest.mark.parametrize(
    ("tags", "named"),
    [
        ({"principal_tags": {"username": ["bob", "alice"]}}, "'username'"),
        ({"principal_tags": {"aws:username": ["bob"]}}, "'aws:username'"),
        ({"principal_tags": {"team": ["a"]}, "transitive_tag_keys": ["username"]}, "'username'"),
    ],
)
def test_a_token_with_tags_sts_would_refuse_is_not_sent(client, auth, devstack, tags, named):
    """The home page names the offending tag; STS is never called with the token."""
    claims = {"https://aws.amazon.com/tags": tags}
    devstack.idp("POST", "_devstack/misbehave", json={"id_token": {"claims": claims}})
    auth.login("bob")
    page = html.unescape(client.get("/").get_data(as_text=True))
    assert "would be refused by AWS" in page
    assert "Session tags: " in page and named in page
    assert devstack.sts_stats().get("ok", 0) == 0
    assert "<code>username=bob</code>" not in page  # the session has no tags STS would refuse
