"""Admin pages: access, token verdicts, sessions and revoke, audit trail, escaping, no leaks."""

from __future__ import annotations

import json
import logging
import re

import pytest
from flask import session

from devstack.testing import USERS, AuthActions, csrf_token, sign_in, stored_session
from webapp import audit, session_index, store

XSS = "<script>alert(1)</script>"
AWS = {
    "role_arn": "arn:aws:iam::123456789012:role/portal-reader",
    "assumed_role_arn": "arn:aws:sts::123456789012:assumed-role/portal-reader/alice-1a2b3c4d",
    "access_key_id": "ASIATESTACCESSKEY000",
    "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY01",
    "session_token": "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789abcdefghij",
    "expiration": 1924992000.0,  # 2031-01-01T00:00:00Z
}


def handle_of(client) -> str:
    return store.get_handle(client.get_cookie("session").value)


def give_aws_credentials(app, client, redis_server) -> None:
    """Seal AWS credentials into a client's stored session, as the STS broker does."""
    key = store.session_key(handle_of(client))
    data = {**stored_session(app, client), "aws": AWS}
    blob = app.extensions["webapp.store"].seal(data, key)
    redis_server.client().set(key, blob, keepttl=True)


def token_section(page: str, kind: str) -> str:
    """The part of an admin page about one token."""
    match = re.search(rf"<h2>{kind}</h2>(.*?)</section>", page, re.S)
    assert match, f"no {kind} section"
    return match.group(1)


ROUTES = ["/admin/tokens", "/admin/sessions", "/admin/sessions/{carol}"]


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize(("user", "status"), [(None, 302), ("bob", 403), ("alice", 200)])
def test_admin_pages_are_for_admins_only(app, client, auth, devstack, path, user, status):
    carol = sign_in(app, devstack, "carol")
    if user:
        auth.login(user)
    response = client.get(path.format(carol=handle_of(carol)))
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("action", ["revoke", "revoke_user"])
@pytest.mark.parametrize("user", [None, "bob"])
def test_non_admins_cannot_revoke(app, client, auth, devstack, action, user):
    carol = sign_in(app, devstack, "carol")
    form = {}
    if user:
        auth.login(user)
        form["csrf_token"] = csrf_token(client.get("/").get_data(as_text=True))
    with app.app_context():
        (carol_entry,) = [
            e for e in session_index.list_sessions() if e["sub"] == USERS["carol"]["sub"]
        ]
    path = {
        "revoke": f"/admin/sessions/{carol_entry['handle']}/revoke",
        "revoke_user": f"/admin/users/{carol_entry['user_key']}/revoke",
    }[action]
    response = client.post(path, data=form)
    assert response.status_code in ((403,) if user else (400, 401))
    assert "Signed in as" in carol.get("/").get_data(as_text=True)


def test_nothing_in_the_request_makes_bob_an_admin(client, auth):
    auth.login("bob")
    client.set_cookie("roles", "admin")
    response = client.get(
        "/admin/tokens?roles=admin&admin=1",
        headers={"X-Roles": "admin", "X-Forwarded-User": USERS["alice"]["sub"]},
    )
    assert response.status_code == 403


def test_own_tokens_decoded_with_both_verdicts(client, auth):
    auth.login("alice")
    page = client.get("/admin/tokens").get_data(as_text=True)
    id_token = token_section(page, "ID token")
    assert 'STS verdict: <span class="ok">accepted</span>' in id_token
    assert 'class="ok">Signature: verified' in id_token
    assert USERS["alice"]["sub"] in id_token
    assert "https://aws-portal.example/roles" in id_token  # namespaced custom claim
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(expires in (59|60) min\)", id_token)
    access = token_section(page, "Access token")
    assert 'STS verdict: <span class="bad">refused</span>' in access
    assert "its aud has 2 values" in access
    assert "Incorrect token audience" in access
    assert 'class="ok">Signature: verified' in access
    assert "Refresh token</th><td>present" in page
    assert 'AWS credentials</th><td class="muted">none yet' in page


def test_a_forged_token_in_the_session_is_shown_unverified(app, client, auth, redis_server):
    auth.login("alice")
    data = stored_session(app, client)
    header, payload, signature = data["tokens"]["access_token"].split(".")
    data["tokens"]["access_token"] = f"{header}.{payload}.{signature[:-6]}AAAAAA"
    key = store.session_key(handle_of(client))
    redis_server.client().set(key, app.extensions["webapp.store"].seal(data, key), keepttl=True)
    access = token_section(client.get("/admin/tokens").get_data(as_text=True), "Access token")
    assert 'class="bad">Signature: not verified' in access


def test_sessions_page_lists_and_filters(app, client, auth, devstack):
    sign_in(app, devstack, "bob")
    sign_in(app, devstack, "carol")
    auth.login("alice")
    page = client.get("/admin/sessions").get_data(as_text=True)
    for name in ("alice", "bob", "carol"):
        assert USERS[name]["name"] in page and USERS[name]["sub"] in page
    for query, shown in [
        ("bob@", "bob"),
        ("CAROL", "carol"),
        (USERS["alice"]["sub"][-4:], "alice"),
    ]:
        page = client.get("/admin/sessions", query_string={"q": query}).get_data(as_text=True)
        table = page.split("Live sessions")[1].split("Recent events")[0]
        assert [n for n in USERS if USERS[n]["sub"] in table] == [shown]


def test_revoke_ends_the_other_session_at_its_next_request(app, client, auth, devstack):
    bob = sign_in(app, devstack, "bob")
    auth.login("alice")
    page = client.get("/admin/sessions").get_data(as_text=True)
    response = client.post(
        f"/admin/sessions/{handle_of(bob)}/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302
    assert "Signed in as" not in bob.get("/").get_data(as_text=True)
    page = client.get("/admin/sessions").get_data(as_text=True)
    assert USERS["bob"]["sub"] not in page.split("Recent events")[0]
    assert "session_revoked" in page and "Ended a session of Bob Reader" in page


def test_revoke_without_csrf_token_is_refused(app, client, auth, devstack):
    bob = sign_in(app, devstack, "bob")
    auth.login("alice")
    response = client.post(f"/admin/sessions/{handle_of(bob)}/revoke")
    assert response.status_code == 400
    assert "Signed in as" in bob.get("/").get_data(as_text=True)


def test_revoke_all_of_a_users_sessions(app, client, auth, devstack):
    bobs = [sign_in(app, devstack, "bob") for _ in range(2)]
    carol = sign_in(app, devstack, "carol")
    auth.login("alice")
    with app.app_context():
        (entry, _) = [e for e in session_index.list_sessions() if e["sub"] == USERS["bob"]["sub"]]
    page = client.get("/admin/sessions").get_data(as_text=True)
    client.post(f"/admin/users/{entry['user_key']}/revoke", data={"csrf_token": csrf_token(page)})
    for bob in bobs:
        assert "Signed in as" not in bob.get("/").get_data(as_text=True)
    assert "Signed in as" in carol.get("/").get_data(as_text=True)
    page = client.get("/admin/sessions").get_data(as_text=True)
    assert "Ended 2 session(s) of Bob Reader" in page and "user_sessions_revoked" in page


def test_revoking_your_own_session_signs_you_out(client, auth):
    auth.login("alice")
    page = client.get("/admin/sessions").get_data(as_text=True)
    client.post(
        f"/admin/sessions/{handle_of(client)}/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert "Signed in as" not in client.get("/").get_data(as_text=True)


def test_opening_another_session_shows_its_claims_and_is_audited(
    app, client, auth, devstack, caplog
):
    bob = sign_in(app, devstack, "bob")
    auth.login("alice")
    with caplog.at_level(logging.INFO, logger="webapp.audit"):
        page = client.get(f"/admin/sessions/{handle_of(bob)}").get_data(as_text=True)
        client.get("/admin/sessions/" + handle_of(client))  # one's own session: not audited
    assert "Session of Bob Reader" in page
    assert USERS["bob"]["sub"] in token_section(page, "ID token")
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "webapp.audit"]
    assert line["event"] == "admin_viewed_session"
    assert (line["actor"], line["target"]) == (USERS["alice"]["sub"], USERS["bob"]["sub"])
    assert "admin_viewed_session" in client.get("/admin/sessions").get_data(as_text=True)


def test_unknown_session_is_not_found(client, auth):
    auth.login("alice")
    assert client.get("/admin/sessions/" + "0" * 32).status_code == 404


def test_audit_trail_shows_sign_in_sign_out_and_role_assumed(app, client, auth, devstack):
    bob = AuthActions(app.test_client(), devstack)
    bob.login("bob")
    bob.client.get("/")  # the broker assumes bob's role: a real role_assumed event
    bob.logout()
    auth.login("alice")
    page = client.get("/admin/sessions").get_data(as_text=True)
    rows = page.split("Recent events")[1].split("<tr>")[2:]
    bobs = [row for row in rows if USERS["bob"]["sub"] in row]  # newest first
    names = [next(e for e in ("sign_out", "role_assumed", "sign_in") if e in row) for row in bobs]
    assert names == ["sign_out", "role_assumed", "sign_in"]
    assert "outcome=ok role=arn:aws:iam::123456789012:role/portal-reader" in bobs[1]


def test_audit_stream_is_capped(app, redis_server):
    with app.test_request_context("/"):
        for n in range(1500):
            audit.record("role_assumed", role=str(n), outcome="ok")
        recent = audit.list_recent(50)
    assert redis_server.client().xlen(audit.STREAM) < 1200
    assert [e["role"] for e in recent[:2]] == ["1499", "1498"] and len(recent) == 50


def test_claims_are_escaped(app, client, auth, devstack):
    devstack.idp("POST", "_devstack/misbehave", json={"id_token": {"claims": {"name": XSS}}})
    auth.login("alice")
    pages = [
        client.get("/admin/tokens"),
        client.get("/admin/sessions", query_string={"q": XSS}),
        client.get("/admin/sessions"),
        client.get(f"/admin/sessions/{handle_of(client)}"),
    ]
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for response in pages:
        html = response.get_data(as_text=True)
        assert XSS not in html and escaped in html


def test_no_admin_page_shows_a_token_a_secret_or_a_session_id(
    app, client, auth, devstack, redis_server
):
    bob = sign_in(app, devstack, "bob")
    assert "portal-reader" in bob.get("/").get_data(as_text=True)  # the broker assumed his role
    with app.app_context():
        real = app.extensions["webapp.store"].get(store.session_key(handle_of(bob), "aws"))
    auth.login("alice")
    give_aws_credentials(app, client, redis_server)  # a session that holds the secrets itself
    html = "".join(
        client.get(path).get_data(as_text=True)
        for path in (
            "/admin/tokens",
            "/admin/sessions",
            f"/admin/sessions/{handle_of(bob)}",
            f"/admin/sessions/{handle_of(client)}",
        )
    )
    assert real["assumed_role_arn"] in html and AWS["assumed_role_arn"] in html
    assert "2031-01-01T00:00:00Z (expires in" in html
    secrets = [AWS["secret_access_key"], AWS["session_token"]]
    secrets += [real["secret_access_key"], real["session_token"]]
    for someone in (client, bob):
        secrets.append(someone.get_cookie("session").value)
        for token in stored_session(app, someone)["tokens"].values():
            if isinstance(token, str) and token:
                secrets.extend([token, *token.split(".")])
    assert len(secrets) > 14
    for secret in secrets:
        assert secret not in html


def test_revoke_sticks_even_during_a_request_in_flight(app, devstack):
    @app.get("/_test/in-flight")
    def in_flight():
        with app.app_context():  # the admin's revoke lands while this request runs
            session_index.revoke(store.get_handle(session.sid))
        return "done"

    bob = sign_in(app, devstack, "bob")
    bob.get("/_test/in-flight")
    assert "Signed in as" not in bob.get("/").get_data(as_text=True)


def test_hostile_claims_in_the_access_token_render_as_text(client, auth, devstack):
    hostile = {"nbf": 1e300, "auth_time": "yesterday", "https://x.example/" + XSS: [XSS, {"a": 1}]}
    devstack.idp("POST", "_devstack/misbehave", json={"access_token": {"claims": hostile}})
    auth.login("alice")
    response = client.get("/admin/tokens")
    access = token_section(response.get_data(as_text=True), "Access token")
    assert response.status_code == 200 and XSS not in access
    assert "1e+300 (not a usable time)" in access and "&#34;yesterday&#34;" in access
    assert "https://x.example/&lt;script&gt;" in access
