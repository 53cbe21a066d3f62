"""The live-session index: filled at sign-in, emptied at sign-out, revoke, expiry, freshness."""

from __future__ import annotations

import pytest
from flask import session

from devstack.testing import USERS, app_config, sign_in
from webapp import create_app, session_index, store


def listed(app) -> list[dict]:
    with app.app_context():
        return session_index.list_sessions()


def subs(app) -> list[str]:
    return sorted(e["sub"] for e in listed(app))


def test_sign_in_registers_and_sign_out_forgets(app, client, auth, redis_server):
    auth.login("alice")
    (entry,) = listed(app)
    alice = USERS["alice"]
    assert (entry["sub"], entry["name"], entry["email"]) == (
        alice["sub"],
        alice["name"],
        alice["email"],
    )
    assert entry["roles"] == alice["roles"] and entry["idp_sid"]
    assert entry["handle"] == store.get_handle(client.get_cookie("session").value)
    auth.logout()
    assert listed(app) == []
    audit = store.global_key("audit").encode()
    assert [k for k in redis_server.client().keys("portal:*") if k != audit] == []


def test_revoked_sessions_are_gone_and_never_listed(app, client, auth, devstack, redis_server):
    auth.login("alice")
    bob = sign_in(app, devstack, "bob")
    bob_handle = store.get_handle(bob.get_cookie("session").value)
    with app.app_context():
        assert session_index.revoke(bob_handle)["sub"] == USERS["bob"]["sub"]
        assert session_index.revoke(bob_handle) is None
    assert subs(app) == [USERS["alice"]["sub"]]
    assert not redis_server.client().exists(store.session_key(bob_handle))
    assert "Signed in as" not in bob.get("/").get_data(as_text=True)
    assert subs(app) == [USERS["alice"]["sub"]]


def test_idle_expired_sessions_are_not_listed(app, client, auth, devstack, travel):
    sign_in(app, devstack, "bob")
    auth.login("alice")
    travel(20 * 60)
    client.get("/")  # alice stays active; bob does not
    assert subs(app) == sorted([USERS["alice"]["sub"], USERS["bob"]["sub"]])
    travel(32 * 60)
    assert subs(app) == [USERS["alice"]["sub"]]
    travel(20 * 60 + 32 * 60)
    assert subs(app) == []


def test_absolutely_expired_sessions_are_not_listed(devstack, redis_server, travel):
    redis_server.client().flushdb()
    app = create_app(app_config(devstack, redis_server, SESSION_MAX_HOURS=1))
    bob = sign_in(app, devstack, "bob")
    travel(20 * 60)
    bob.get("/")
    travel(30 * 60)
    alice = sign_in(app, devstack, "alice")
    for minutes in (40, 55):
        travel(minutes * 60)
        bob.get("/")
        alice.get("/")
    travel(61 * 60)
    alice.get("/")
    # Bob was active a minute ago but is past the absolute limit; his key is still in Redis.
    assert subs(app) == [USERS["alice"]["sub"]]


def test_entry_without_its_session_is_pruned(app, client, auth, redis_server):
    auth.login("alice")
    sid = client.get_cookie("session").value
    redis_server.client().delete(store.session_key(store.get_handle(sid)))
    assert listed(app) == []
    assert not redis_server.client().exists(store.session_key(store.get_handle(sid), "entry"))


def test_last_seen_is_written_at_most_once_a_minute(app, client, auth, redis_server, travel):
    auth.login("alice")
    r = redis_server.client()
    (signed_in,) = listed(app)
    r.config_resetstat()
    for seconds in (10, 30, 50):
        travel(seconds)
        client.get("/")
    writes = r.info("commandstats")
    assert "cmdstat_zadd" not in writes and "cmdstat_sadd" not in writes
    travel(50)
    assert listed(app)[0]["last_seen"] == signed_in["last_seen"]
    travel(70)
    client.get("/")
    assert r.info("commandstats")["cmdstat_zadd"]["calls"] == 1
    assert listed(app)[0]["last_seen"] > signed_in["last_seen"] + 60


def test_entries_are_sealed_at_rest(app, client, auth, redis_server):
    auth.login("alice")
    r = redis_server.client()
    audit = store.global_key("audit").encode()
    dump = b"".join(r.dump(k) or b"" for k in r.keys("portal:*") if k != audit)
    assert dump and b"alice" not in dump.lower() and b"64f1a2b3" not in dump


def test_new_aws_credentials_are_registered_at_once(app, client, auth):
    @app.get("/_test/assume")
    def assume():
        session["aws"] = {
            "role_arn": "arn:aws:iam::123456789012:role/reader",
            "assumed_role_arn": "arn:aws:sts::123456789012:assumed-role/reader/alice",
            "expiration": "2031-01-01T00:00:00Z",
        }
        return "ok"

    auth.login("alice")
    client.get("/_test/assume")
    (entry,) = listed(app)
    assert entry["role_arn"] == "arn:aws:iam::123456789012:role/reader"
    assert entry["assumed_role_arn"].endswith("assumed-role/reader/alice")
    assert entry["aws_expiration"] == "2031-01-01T00:00:00Z"


@pytest.mark.parametrize("name", ["index", "user:x", "idp:x", "*", "0" * 31])
def test_only_handles_reach_redis_key_names(app, client, auth, redis_server, name):
    auth.login("alice")
    with app.app_context():
        assert session_index.revoke(name) is None
        assert session_index.revoke_user(name) == []
        assert session_index.get_entry(name) is None
    assert subs(app) == [USERS["alice"]["sub"]]
