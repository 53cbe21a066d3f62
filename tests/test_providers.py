"""The portal against issuers spelled without a trailing slash and RP-initiated logout."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from devstack.processes import spawn
from devstack.testing import TENANT, AuthActions, Devstack, app_config
from webapp import create_app

pytestmark = pytest.mark.devstack


@pytest.fixture(scope="module")
def oidc_idp():
    """The devstack IdP alone, in the oidc issuer style (no trailing '/', end_session_endpoint)."""
    proc, env = spawn("--only", "idp", "--idp-port", "0", "--issuer-style", "oidc")
    yield Devstack(env["AUTH0_ISSUER"], env["AWS_ENDPOINT_URL"], env)
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def oidc_app(oidc_idp, devstack, redis_server):
    """The portal configured with the provider-neutral OIDC_* names for that IdP."""
    redis_server.client().flushdb()
    config = app_config(devstack, redis_server)
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
    auth.login("alice")
    page = client.get("/").get_data(as_text=True)
    assert "Signed in as Alice Admin" in page
    report = client.get("/admin/tokens").get_data(as_text=True)
    assert f"{oidc_idp.issuer}</" in report or f'"{oidc_idp.issuer}"' in report

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
