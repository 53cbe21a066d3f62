"""Back-channel logout: the devstack IdP posts logout tokens over HTTP to the app, served live."""

from __future__ import annotations

import json
import logging
import time

import pytest
from werkzeug.wrappers import Request, Response

from devstack.testing import USERS, AuthActions, serve, sign_in, stored_session
from webapp import backchannel, session_index

REFUSED = "back-channel logout refused"


@pytest.fixture
def receiver(app, devstack):
    """The app served over HTTP, registered as the IdP's back-channel logout URL."""
    with serve(app) as url:
        devstack.idp("POST", "_devstack/backchannel", json={"urls": [f"{url}/backchannel-logout"]})
        yield url
        devstack.idp("POST", "_devstack/backchannel", json={"urls": []})


@pytest.fixture
def captured(devstack):
    """Logout tokens the IdP sends, caught by a stand-in receiver instead of the app."""
    tokens: list[str] = []

    @Request.application
    def catch(request: Request) -> Response:
        tokens.append(request.form["logout_token"])
        return Response("ok")

    with serve(catch) as url:
        devstack.idp("POST", "_devstack/backchannel", json={"urls": [url]})
        yield tokens
        devstack.idp("POST", "_devstack/backchannel", json={"urls": []})


def signed_in(client) -> bool:
    return "Signed in as" in client.get("/").get_data(as_text=True)


def idp_sid(app, client) -> str:
    return stored_session(app, client)["user"]["sid"]


def send(devstack, **body) -> int:
    """Ask the IdP to end SSO sessions and send a logout token now; return how many it sent."""
    return devstack.idp("POST", "_devstack/backchannel-logout", json=body).json()["sent"]


def test_signing_out_at_the_idp_ends_the_app_session(app, client, auth, devstack, receiver):
    auth.login("alice")
    bob = sign_in(app, devstack, "bob")
    assert signed_in(client)
    auth.browser.get(devstack.issuer + "v2/logout", timeout=10).raise_for_status()
    assert not signed_in(client)
    assert signed_in(bob)
    with app.app_context():
        assert [e["sub"] for e in session_index.list_sessions()] == [USERS["bob"]["sub"]]


def test_logout_by_sub_ends_all_of_the_users_sessions(app, client, auth, devstack, receiver):
    bobs = [sign_in(app, devstack, "bob") for _ in range(2)]
    auth.login("alice")
    assert send(devstack, sub=USERS["bob"]["sub"]) == 1
    assert [signed_in(bob) for bob in bobs] == [False, False]
    assert signed_in(client)
    assert "backchannel_logout" in client.get("/admin/sessions").get_data(as_text=True)


def test_logout_by_sid_ends_only_that_idp_session(app, devstack, receiver):
    first, second = (sign_in(app, devstack, "bob") for _ in range(2))
    assert send(devstack, sub=USERS["bob"]["sub"], sid=idp_sid(app, first)) == 1
    assert (signed_in(first), signed_in(second)) == (False, True)


def test_logout_by_sid_of_another_user_ends_nothing(app, devstack, captured):
    bob = sign_in(app, devstack, "bob")
    carol = sign_in(app, devstack, "carol")
    assert send(devstack, sub=USERS["carol"]["sub"], sid=idp_sid(app, bob)) == 1
    (token,) = captured
    response = app.test_client().post("/backchannel-logout", data={"logout_token": token})
    assert (response.status_code, response.json) == (200, {"ended": 0})
    assert signed_in(bob) and signed_in(carol)


HOSTILE = {
    "wrong aud": {"claims": {"aud": "another-client"}},
    "aud list without us": {"claims": {"aud": ["another-client", "yet-another"]}},
    "wrong iss": {"claims": {"iss": "https://evil.example/"}},
    "bad signature": {"signing": "flip_signature"},
    "foreign key": {"signing": "foreign_key"},
    "unknown kid": {"signing": "unknown_kid"},
    "alg none": {"signing": "alg_none"},
    "hs256 with the public key": {"signing": "hs256_public_key"},
    "missing events": {"drop": ["events"]},
    "other event": {"claims": {"events": {"http://schemas.openid.net/event/other": {}}}},
    "event not an object": {
        "claims": {"events": {"http://schemas.openid.net/event/backchannel-logout": "yes"}}
    },
    "nonce present": {"claims": {"nonce": "n-0S6_WzA2Mj"}},
    "stale iat": {"claims": {"iat": int(time.time()) - 3600}},
    "iat in the future": {"claims": {"iat": int(time.time()) + 3600}},
    "missing iat": {"drop": ["iat"]},
    "expired": {"claims": {"exp": int(time.time()) - 600}},
    "no sub and no sid": {"drop": ["sub", "sid"]},
    "access token typ": {"header": {"typ": "at+jwt"}},
}


@pytest.mark.parametrize("switch", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_logout_tokens_end_nothing(app, client, auth, devstack, receiver, switch, caplog):
    auth.login("alice")
    devstack.idp("POST", "_devstack/misbehave", json={"logout_token": switch})
    with caplog.at_level(logging.WARNING, logger=backchannel.__name__):
        assert send(devstack, sub=USERS["alice"]["sub"]) == 1
    assert signed_in(client)
    assert [r.getMessage() for r in caplog.records if REFUSED in r.getMessage()]


def test_a_valid_token_is_accepted_once(app, client, auth, devstack, captured):
    auth.login("alice")
    send(devstack, sub=USERS["alice"]["sub"])
    (token,) = captured
    receiver = app.test_client()
    assert receiver.post("/backchannel-logout", data={"logout_token": token}).status_code == 200
    assert not signed_in(client)
    auth.login("alice")  # a new session must not fall to a replay of the old logout
    replay = receiver.post("/backchannel-logout", data={"logout_token": token})
    assert replay.status_code == 400 and "already used" in replay.json["error_description"]
    assert signed_in(client)


@pytest.mark.parametrize(
    "form",
    [{}, {"logout_token": ""}, {"logout_token": "not-a-jwt"}, {"logout_token": "a.b.c"}],
    ids=["missing", "empty", "garbage", "three garbage parts"],
)
def test_malformed_requests_get_a_json_400(app, form):
    response = app.test_client().post("/backchannel-logout", data=form)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"


def test_an_id_token_is_not_a_logout_token(app, client, auth):
    auth.login("alice")
    id_token = stored_session(app, client)["tokens"]["id_token"]
    response = app.test_client().post("/backchannel-logout", data={"logout_token": id_token})
    assert response.status_code == 400
    assert signed_in(client)


def test_audit_line_for_a_back_channel_logout(app, devstack, receiver, caplog):
    sign_in(app, devstack, "bob")
    with caplog.at_level(logging.INFO, logger="webapp.audit"):
        send(devstack, sub=USERS["bob"]["sub"])
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "webapp.audit"]
    assert (line["event"], line["target"], line["ended"]) == (
        "backchannel_logout",
        USERS["bob"]["sub"],
        1,
    )


def test_other_browsers_are_untouched(app, devstack, receiver):
    alice = AuthActions(app.test_client(), devstack)
    alice.login("alice")
    send(devstack, sub=USERS["bob"]["sub"])
    assert signed_in(alice.client)
