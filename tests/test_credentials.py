"""The credential broker against the STS-faithful local AWS, over HTTP."""

from __future__ import annotations

import pytest

from devstack.testing import TENANT, AuthActions, app_config, concurrent_pages
from webapp import create_app, credentials, store

ACCOUNT = "123456789012"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/portal-admin"
READER = f"arn:aws:iam::{ACCOUNT}:role/portal-reader"
NOBODY = f"arn:aws:iam::{ACCOUNT}:role/portal-nobody"


def sts_stats(devstack) -> dict:
    return devstack.aws("GET", "_devstack/stats").json()["assume_role_with_web_identity"]


def home(client) -> str:
    return client.get("/").get_data(as_text=True)


def make_app(devstack, redis_server, **overrides):
    redis_server.client().flushdb()
    app = create_app(app_config(devstack, redis_server, **overrides))

    @app.get("/_probe/creds")
    def probe():
        creds = credentials.get_credentials()
        return {"role": creds.role_name, "arn": creds.assumed_role_arn}

    return app


@pytest.fixture
def probe_app(devstack, redis_server):
    return make_app(devstack, redis_server)


def test_bob_gets_the_reader_role_once_over_100_page_views(client, auth, devstack):
    auth.login("bob")
    page = home(client)
    assert "portal-reader" in page
    assert f"arn:aws:sts::{ACCOUNT}:assumed-role/portal-reader/" in page
    assert "Credentials expire" in page
    for _ in range(100):
        client.get("/")
    assert sts_stats(devstack) == {"ok": 1}


def test_home_never_shows_a_secret(app, client, auth, redis_server):
    auth.login("bob")
    page = home(client)
    with app.test_request_context():
        creds = credentials.load_cached(store.get_handle(client.get_cookie("session").value))
    assert creds.secret_access_key not in page and creds.session_token not in page
    assert creds.access_key_id not in page


def test_alice_picks_among_two_roles_and_can_switch(client, auth, devstack):
    auth.login("alice")
    assert "Choose a role" in home(client)
    assert sts_stats(devstack) == {"ok": 0}
    picker = client.get("/roles").get_data(as_text=True)
    assert ADMIN in picker and READER in picker
    token = picker.split('name="csrf_token" value="')[1].split('"')[0]
    chosen = client.post("/roles", data={"csrf_token": token, "role_arn": ADMIN, "next": "/"})
    assert chosen.status_code == 302
    assert "assumed-role/portal-admin/" in home(client)
    client.post("/roles", data={"csrf_token": token, "role_arn": READER})
    assert "assumed-role/portal-reader/" in home(client)
    assert sts_stats(devstack) == {"ok": 2}


def test_role_not_offered_is_refused(client, auth):
    auth.login("bob")
    page = client.get("/roles").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/roles", data={"csrf_token": token, "role_arn": ADMIN})
    assert response.status_code == 400
    assert "portal-reader" in home(client)


def test_carol_has_no_role(client, auth, devstack):
    auth.login("carol")
    assert "Your account has no AWS role" in home(client)
    response = client.get("/roles")
    assert response.status_code == 403
    assert "no AWS role" in response.get_data(as_text=True)
    assert sts_stats(devstack) == {"ok": 0}


def test_several_role_matches_redirect_to_the_picker(probe_app, devstack):
    client = probe_app.test_client()
    AuthActions(client, devstack).login("alice")
    response = client.get("/_probe/creds")
    assert response.status_code == 302
    assert response.headers["Location"] == "/roles?next=/_probe/creds"


def test_credentials_are_reassumed_near_expiry(devstack, redis_server, travel):
    client = make_app(devstack, redis_server, SESSION_IDLE_MINUTES=240).test_client()
    AuthActions(client, devstack).login("bob")
    client.get("/")
    travel(3600 - 400)  # still more than five minutes left: reused
    client.get("/")
    assert sts_stats(devstack) == {"ok": 1}
    travel(3600 - 200)  # within five minutes of expiry: re-assumed
    assert "assumed-role/portal-reader/" in home(client)
    assert sts_stats(devstack) == {"ok": 2}


def test_expired_id_token_is_renewed_with_the_refresh_token(devstack, redis_server, travel):
    app = make_app(devstack, redis_server, SESSION_IDLE_MINUTES=240)
    client = app.test_client()
    AuthActions(client, devstack).login("bob")
    client.get("/")
    refreshes = devstack.idp("GET", "_devstack/stats").json()["token_requests"]["refresh_token"]
    travel(TENANT["id_token_lifetime"] + 120)
    # The app and the IdP move on together: the app sees the old ID token as expired, renews it
    # once, and the fresh one passes the sign-in checks and is accepted by STS.
    assert "assumed-role/portal-reader/" in home(client)
    stats = devstack.idp("GET", "_devstack/stats").json()["token_requests"]
    assert stats["refresh_token"] == refreshes + 1
    assert sts_stats(devstack) == {"ok": 2}


def test_impossible_renewal_sends_to_sign_in_without_a_loop(devstack, redis_server, travel):
    app = make_app(devstack, redis_server, SESSION_IDLE_MINUTES=240)
    client = app.test_client()
    AuthActions(client, devstack).login("bob")
    with client.session_transaction() as session:
        session["tokens"] = {**session["tokens"], "refresh_token": "revoked-or-bogus"}
    travel(TENANT["id_token_lifetime"] + 120)
    response = client.get("/_probe/creds")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/_probe/creds"
    assert "Signed in as" not in home(client)
    assert client.get("/login?next=/_probe/creds").headers["Location"].startswith(devstack.issuer)


def test_two_concurrent_requests_make_one_sts_call(app, client, auth, devstack):
    auth.login("bob")
    devstack.aws("POST", "_devstack/misbehave", json={"sts_delay_ms": 400})
    results = concurrent_pages(app, client.get_cookie("session").value, 2)
    assert len(results) == 2 and all("assumed-role/portal-reader/" in page for page in results)
    assert sts_stats(devstack) == {"ok": 1}


def test_duration_too_long_for_the_role_falls_back_once(devstack, redis_server):
    app = make_app(devstack, redis_server, STS_DURATION_SECONDS=7200)
    client = app.test_client()
    AuthActions(client, devstack).login("bob")  # the reader role allows one hour at most
    assert client.get("/_probe/creds").json["role"] == "portal-reader"
    assert sts_stats(devstack) == {"ok": 1, "ValidationError": 1}


def test_idp_communication_error_is_retried(probe_app, devstack):
    client = probe_app.test_client()
    AuthActions(client, devstack).login("bob")
    devstack.aws(
        "POST",
        "_devstack/misbehave",
        json={"sts_error": {"code": "IDPCommunicationError", "times": 1}},
    )
    assert client.get("/_probe/creds").status_code == 200
    assert sts_stats(devstack) == {"ok": 1, "IDPCommunicationError": 1}


STS_ERRORS = [
    ("InvalidIdentityToken", "Incorrect token audience", 502, TENANT["client_id"]),
    (
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for x",
        502,
        "character for character",
    ),
    ("ExpiredTokenException", "Token is expired", 401, "Sign in again"),
    ("IDPRejectedClaim", "Claim rejected", 403, "refused a claim"),
    ("IDPCommunicationError", "Unreachable", 503, "could not reach the identity provider"),
    (
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        403,
        "does not trust your sign-in",
    ),
    ("PackedPolicyTooLarge", "Serialized token too large for session", 502, "too many claims"),
    ("MalformedPolicyDocument", "bad policy", 502, "session policy"),
    ("RegionDisabledException", "STS is not activated", 503, "not enabled in region us-east-1"),
    ("ValidationError", "1 validation error", 502, "STS_DURATION_SECONDS"),
    ("Throttling", "Rate exceeded", 503, "Try again in a minute"),
]


@pytest.mark.parametrize(("code", "message", "status", "says"), STS_ERRORS)
def test_each_sts_error_becomes_a_plain_words_page(
    probe_app, devstack, code, message, status, says
):
    client = probe_app.test_client()
    AuthActions(client, devstack).login("bob")
    devstack.aws(
        "POST",
        "_devstack/misbehave",
        json={"sts_error": {"code": code, "message": message, "times": 9}},
    )
    response = client.get("/_probe/creds")
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert says in page and code in page
    with client.session_transaction() as session:
        id_token = session["tokens"]["id_token"]
    assert id_token not in page and id_token.split(".")[1] not in page


def test_real_trust_policy_mismatch_is_access_denied(devstack, redis_server):
    app = make_app(devstack, redis_server, ROLE_RULES=None, AWS_ROLE_ARN=NOBODY)
    client = app.test_client()
    AuthActions(client, devstack).login("bob")
    response = client.get("/_probe/creds")
    assert response.status_code == 403
    assert "The role portal-nobody does not trust your sign-in" in response.get_data(as_text=True)
    assert sts_stats(devstack) == {"ok": 0, "AccessDenied": 1}


def test_token_sts_would_refuse_is_not_sent(probe_app, devstack):
    # Valid for sign-in (azp names us) but a two-value aud, which STS always refuses.
    devstack.idp(
        "POST",
        "_devstack/misbehave",
        json={
            "id_token": {
                "claims": {
                    "aud": [TENANT["client_id"], "https://api.example"],
                    "azp": TENANT["client_id"],
                }
            }
        },
    )
    client = probe_app.test_client()
    assert AuthActions(client, devstack).login("bob").status_code == 302
    response = client.get("/_probe/creds")
    page = response.get_data(as_text=True)
    assert response.status_code == 502, page
    assert "would be refused by AWS" in page and "aud has 2 values" in page
    assert "Incorrect token audience" in page
    assert sts_stats(devstack) == {"ok": 0}


def test_sign_out_forgets_what_was_kept_beside_the_session(client, auth, redis_server):
    auth.login("bob")
    client.get("/resources")
    beside = (store.session_key("*", "aws"), store.session_key("*", "listing"))
    assert all(redis_server.client().keys(pattern) for pattern in beside)
    auth.logout()
    assert not any(redis_server.client().keys(pattern) for pattern in beside)
