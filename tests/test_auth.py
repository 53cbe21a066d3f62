"""Sign-in and sign-out through the devstack IdP's real login form, and every hostile answer."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from devstack.processes import free_port
from devstack.testing import TENANT, USERS, app_config
from webapp import create_app
from webapp.auth import safe_next


def signed_in(client) -> bool:
    """Whether the home page shows a signed-in user."""
    return "Signed in as" in client.get("/").get_data(as_text=True)


def test_sign_in_home_and_sign_out(client, auth, devstack):
    authorize_url = auth.start()
    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(devstack.issuer + "authorize?")
    assert query["scope"] == ["openid profile email offline_access"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["audience"] == [TENANT["audience"]]
    assert query["state"] and query["nonce"]

    response = client.get(auth.authorize(authorize_url, "alice"))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    page = home.get_data(as_text=True)
    assert "Signed in as Alice Admin" in page and USERS["alice"]["sub"] in page
    assert "Session ends" in page
    assert home.headers["Cache-Control"] == "no-store"
    assert "Cookie" in home.headers["Vary"]

    out = auth.logout()
    assert out.status_code == 302
    location = urlsplit(out.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == devstack.issuer + "v2/logout"
    params = parse_qs(location.query)
    assert params == {"client_id": [TENANT["client_id"]], "returnTo": ["http://localhost/"]}
    # The IdP accepts that returnTo and sends the browser home.
    back = auth.browser.get(out.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code in (302, 303) and back.headers["Location"] == "http://localhost/"
    assert not signed_in(client)


def test_next_is_honoured_for_a_local_path(auth):
    response = auth.login("bob", next_path="/?tab=me")
    assert response.headers["Location"] == "/?tab=me"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "https:/evil.example",
        "javascript:alert(1)",
        "/\r\nLocation: https://evil.example",
        "",
    ],
)
def test_next_never_leaves_the_site(auth, target):
    response = auth.login("bob", next_path=target or None)
    assert response.headers["Location"] == "/"
    assert safe_next(target) == "/"


def hostile(devstack, **switch):
    devstack.idp("POST", "_devstack/misbehave", json={"id_token": switch})


NOW = int(time.time())
HOSTILE_ID_TOKENS = {
    "wrong iss": {"claims": {"iss": "https://evil.example/"}},
    "iss without trailing slash": "strip-slash",
    "aud of another client": {"claims": {"aud": "some-other-client"}},
    "aud missing": {"drop": ["aud"]},
    "aud array without azp": {"claims": {"aud": [TENANT["client_id"], "other"]}, "drop": ["azp"]},
    "azp of another client": {"claims": {"aud": [TENANT["client_id"], "x"], "azp": "x"}},
    "flipped signature byte": {"signing": "flip_signature"},
    "key not in the JWKS": {"signing": "foreign_key"},
    "alg none": {"signing": "alg_none"},
    "HS256 keyed with the RSA public key": {"signing": "hs256_public_key"},
    "expired beyond leeway": {"claims": {"exp": NOW - 120, "iat": NOW - 3700}},
    "iat in the future": {"claims": {"iat": NOW + 600, "exp": NOW + 4200}},
    "nonce wrong": {"claims": {"nonce": "not-the-nonce-we-sent"}},
    "nonce missing": {"drop": ["nonce"]},
    "sub missing": {"drop": ["sub"]},
}


@pytest.mark.parametrize("case", HOSTILE_ID_TOKENS, ids=list(HOSTILE_ID_TOKENS))
def test_hostile_id_token_is_rejected(client, auth, devstack, case):
    switch = HOSTILE_ID_TOKENS[case]
    if switch == "strip-slash":
        switch = {"claims": {"iss": devstack.issuer.rstrip("/")}}
    hostile(devstack, **switch)
    response = auth.login("alice")
    assert response.status_code == 401
    assert "Sign-in rejected" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert not signed_in(client)


def test_valid_token_after_a_rejected_one_still_signs_in(client, auth, devstack):
    hostile(devstack, signing="flip_signature")
    assert auth.login("alice").status_code == 401
    devstack.idp("POST", "_devstack/reset")
    assert auth.login("alice").status_code == 302
    assert signed_in(client)


def test_unknown_kid_refetches_the_jwks_once_then_rejects(client, auth, devstack):
    hostile(devstack, signing="unknown_kid")
    before = devstack.idp("GET", "_devstack/stats").json()["jwks_fetches"]
    assert auth.login("alice").status_code == 401
    assert auth.login("alice").status_code == 401
    fetched = devstack.idp("GET", "_devstack/stats").json()["jwks_fetches"] - before
    # One fetch to load the keys, one refetch for the unknown kid; the second attempt is refused
    # from the cache because a refetch happened less than a minute ago.
    assert fetched == 2


def test_rotated_key_is_picked_up_by_one_refetch(client, auth, devstack):
    assert auth.login("alice").status_code == 302  # the app now holds the old key set
    auth.logout()
    devstack.idp("POST", "_devstack/rotate-keys", json={"keep_old": False})
    before = devstack.idp("GET", "_devstack/stats").json()["jwks_fetches"]
    assert auth.login("alice", next_path=None).status_code == 302
    assert devstack.idp("GET", "_devstack/stats").json()["jwks_fetches"] - before == 1


def test_callback_without_state_is_refused(client):
    response = client.get("/callback?code=abc")
    assert response.status_code == 400
    assert "Sign in again" in response.get_data(as_text=True)


def test_callback_with_another_browsers_state_is_refused(app, auth, devstack):
    callback = auth.authorize(auth.start(), "alice")
    other_browser = app.test_client()
    response = other_browser.get(callback)
    assert response.status_code == 400
    assert "Signed in as" not in other_browser.get("/").get_data(as_text=True)


def test_replayed_callback_is_refused(client, auth):
    callback = auth.authorize(auth.start(), "alice")
    assert client.get(callback).status_code == 302
    auth.logout()
    replay = client.get(callback)
    assert replay.status_code == 400
    assert not signed_in(client)


def test_access_denied_gets_a_friendly_page(client, auth):
    authorize_url = auth.start()
    page = auth.browser.get(authorize_url, timeout=10)
    # The IdP's "Decline" button answers error=access_denied, as Auth0 does when a rule denies.
    state = parse_qs(urlsplit(authorize_url).query)["state"][0]
    response = client.get(
        f"/callback?error=access_denied&error_description=User+declined&state={state}"
    )
    assert page.status_code == 200
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "Sign-in not completed" in text and "User declined" in text
    assert not signed_in(client)


def test_login_when_the_idp_is_down_is_a_503_page(devstack, redis_server):
    dead = f"http://127.0.0.1:{free_port()}/"
    app = create_app(app_config(devstack, redis_server, AUTH0_ISSUER=dead))
    response = app.test_client().get("/login")
    assert response.status_code == 503
    assert "cannot be reached" in response.get_data(as_text=True)


def test_logout_requires_csrf_token(client, auth):
    auth.login("alice")
    response = client.post("/logout")
    assert response.status_code == 400
    assert signed_in(client)


def test_login_required_and_admin_required(app, client, auth):
    from webapp.auth import admin_required, login_required

    @app.get("/_probe/user")
    @login_required
    def probe_user():
        return "user ok"

    @app.get("/_probe/admin")
    @admin_required
    def probe_admin():
        return "admin ok"

    anonymous = client.get("/_probe/admin")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?next=/_probe/admin")
    auth.login("bob")
    assert client.get("/_probe/user").get_data(as_text=True) == "user ok"
    assert client.get("/_probe/admin").status_code == 403
    auth.logout()
    auth.browser.cookies.clear()
    auth.login("alice")
    assert client.get("/_probe/admin").get_data(as_text=True) == "admin ok"
