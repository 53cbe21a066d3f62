"""What a security review tried as an attacker, replayed: each test failed on the code it fixed."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from devstack.testing import (
    SECRET_KEY,
    TENANT,
    AuthActions,
    app_config,
    concurrent_pages,
    csrf_token,
)
from webapp import create_app, session_index, store
from webapp.store import Cipher

ADMIN_ROLE_ARN = "arn:aws:iam::123456789012:role/portal-admin"
OTHER_KEY = "another-secret-key-0123456789abcdef0123456789"
COOKIE_SHAPE = re.compile(rb"[A-Za-z0-9_-]{43}")  # what a session cookie looks like


def signed_in(client) -> bool:
    return "Signed in as" in client.get("/").get_data(as_text=True)


def refresh_grants(devstack) -> int:
    return devstack.idp("GET", "_devstack/stats").json()["token_requests"]["refresh_token"]


def pick_role(client, arn: str) -> None:
    token = csrf_token(client.get("/roles").get_data(as_text=True))
    client.post("/roles", data={"csrf_token": token, "role_arn": arn})


def everything_in(r) -> bytes:
    """Every key name and every value of a Redis, as an attacker with a copy would read them."""
    parts = []
    for key in r.keys("*"):
        kind = r.type(key)
        parts.append(key)
        if kind == b"string":
            parts.append(r.get(key))
        elif kind == b"hash":
            parts.extend(b for kv in r.hgetall(key).items() for b in kv)
        elif kind == b"set":
            parts.extend(r.smembers(key))
        elif kind == b"zset":
            parts.extend(r.zrange(key, 0, -1))
        elif kind == b"stream":
            parts.extend(b for _id, fields in r.xrange(key) for kv in fields.items() for b in kv)
    return b"\n".join(parts)


@pytest.mark.skipif(not shutil.which("redis-cli"), reason="redis-cli records the MONITOR capture")
def test_a_copy_of_redis_and_a_monitor_capture_sign_nobody_in(app, client, auth, redis_server):
    monitor = subprocess.Popen(
        ["redis-cli", "-u", redis_server.url, "monitor"], stdout=subprocess.PIPE
    )
    time.sleep(0.3)  # MONITOR must be listening before the sign-in starts
    auth.login("alice")
    pick_role(client, ADMIN_ROLE_ARN)
    assert client.get("/resources").status_code == 200
    assert client.get("/admin/tokens").status_code == 200
    monitor.terminate()
    capture = monitor.communicate(timeout=10)[0]
    dump = everything_in(redis_server.client()) + b"\n" + capture
    assert capture.count(b"\n") > 20  # the capture saw the whole visit

    cookie = client.get_cookie("session").value
    assert cookie.encode() not in dump
    stored = app.extensions["webapp.store"]
    with app.app_context():
        session = stored.get(store.session_key(store.get_handle(cookie)))
        creds = stored.get(store.session_key(store.get_handle(cookie), "aws"))
    secrets = [creds["secret_access_key"], creds["session_token"]]
    secrets += [p for t in session["tokens"].values() if isinstance(t, str) for p in t.split(".")]
    for secret in filter(None, secrets):
        assert secret.encode() not in dump

    candidates = set(COOKIE_SHAPE.findall(dump))
    assert candidates  # handles, hashes and nonces: plenty to try
    for candidate in candidates:
        attacker = app.test_client()
        attacker.set_cookie("session", candidate.decode())
        assert attacker.get("/admin/tokens").status_code == 302
        assert not signed_in(attacker)


def test_secret_key_rotation_keeps_sessions_and_reseals_with_the_new_key(devstack, redis_server):
    redis_server.client().flushdb()
    old = create_app(app_config(devstack, redis_server))
    client = old.test_client()
    AuthActions(client, devstack).login("bob")
    cookie = client.get_cookie("session").value
    key = store.session_key(store.get_handle(cookie))

    def visit(app) -> bool:
        visitor = app.test_client()
        visitor.set_cookie("session", cookie)
        return signed_in(visitor)

    unrelated = create_app(app_config(devstack, redis_server, SECRET_KEY=OTHER_KEY))
    rotated = create_app(
        app_config(devstack, redis_server, SECRET_KEY=OTHER_KEY, SECRET_KEY_FALLBACKS=SECRET_KEY)
    )
    assert Cipher(OTHER_KEY).open(redis_server.client().get(key), key) is None
    assert visit(rotated)  # the old key still opens what it sealed
    assert Cipher(OTHER_KEY).open(redis_server.client().get(key), key) is not None  # resealed
    assert visit(unrelated)  # so the old key is no longer needed for this session
    assert not visit(old)  # and a portal that only knows the old key cannot read it


def test_config_refuses_a_short_fallback_key(devstack, redis_server):
    from webapp.config import ConfigError

    with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS"):
        create_app(app_config(devstack, redis_server, SECRET_KEY_FALLBACKS="short"))


def test_a_role_removed_at_the_idp_is_gone_within_the_roles_max_age(
    app, client, auth, devstack, travel
):
    auth.login("alice")
    pick_role(client, ADMIN_ROLE_ARN)
    assert "assumed-role/portal-admin/" in client.get("/").get_data(as_text=True)
    devstack.idp(
        "POST",
        "_devstack/misbehave",
        json={"id_token": {"claims": {TENANT["roles_claim"]: ["reader"]}}},
    )
    travel(14 * 60)  # within ROLES_MAX_AGE_MINUTES (15): the roles may still be the old ones
    assert client.get("/admin/tokens").status_code == 200
    assert refresh_grants(devstack) == 0
    travel(16 * 60)
    assert client.get("/admin/tokens").status_code == 403
    page = client.get("/").get_data(as_text=True)
    assert "assumed-role/portal-reader/" in page and "portal-admin" not in page
    assert refresh_grants(devstack) == 1
    picker = client.get("/roles").get_data(as_text=True)
    assert "portal-reader" in picker and "portal-admin" not in picker
    with app.app_context():
        assert [e["roles"] for e in session_index.list_sessions()] == [["reader"]]


def test_a_renewal_answering_for_another_user_ends_the_session(client, auth, devstack, travel):
    auth.login("bob")
    devstack.idp("POST", "_devstack/misbehave", json={"id_token": {"claims": {"sub": "mallory"}}})
    travel(16 * 60)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert not signed_in(client)


def test_concurrent_requests_renew_once_under_the_session_lock(app, client, auth, devstack, travel):
    auth.login("bob")
    cookie = client.get_cookie("session").value
    devstack.idp("POST", "_devstack/slow", json={"token_ms": 300})
    travel(16 * 60)
    pages = concurrent_pages(app, cookie, 3)
    assert len(pages) == 3 and all("Signed in as" in page for page in pages)
    assert refresh_grants(devstack) == 1  # one grant; the others adopted its stored tokens


def test_anonymous_visitors_leave_nothing_long_lived(client, redis_server):
    client.get("/")
    assert redis_server.client().keys("*") == []
    for _ in range(12):
        assert client.get("/login").status_code == 302
    (key,) = redis_server.client().keys("portal:*")
    assert 0 < redis_server.client().ttl(key) <= 600


def test_at_most_five_pending_sign_ins_and_only_the_recent_ones_count(app, client, auth):
    started = [auth.start() for _ in range(7)]
    with app.app_context():
        cookie = client.get_cookie("session").value
        pending = app.extensions["webapp.store"].get(store.session_key(store.get_handle(cookie)))
    assert len(pending["pending_sign_ins"]) == 5
    oldest = auth.authorize(started[0], "alice")
    assert client.get(oldest).status_code == 400
    newest = auth.authorize(started[-1], "alice")
    assert client.get(newest).status_code == 302 and signed_in(client)


def test_a_pending_sign_in_expires_after_ten_minutes(client, auth, travel):
    authorize_url = auth.start()
    travel(11 * 60)
    callback = auth.authorize(authorize_url, "alice")
    response = client.get(callback)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_sign_in_endpoints_are_rate_limited_per_address(devstack, redis_server):
    redis_server.client().flushdb()
    app = create_app(
        app_config(
            devstack,
            redis_server,
            RATE_LIMIT_SIGN_IN="3 per minute",
            RATE_LIMIT_BACKCHANNEL="2/minute",
        )
    )
    one = app.test_client()
    assert [one.get("/login").status_code for _ in range(3)] == [302, 302, 302]
    limited = one.get("/login")
    assert limited.status_code == 429 and "Too many requests" in limited.get_data(as_text=True)
    assert one.get("/callback?state=x&code=y").status_code == 429  # the same budget
    other = app.test_client()
    assert other.get("/login", environ_base={"REMOTE_ADDR": "127.0.0.9"}).status_code == 302
    answers = [one.post("/backchannel-logout").status_code for _ in range(3)]
    assert answers == [400, 400, 429]


def test_an_idp_error_description_is_shown_only_for_a_sign_in_in_progress(client, auth):
    lure = "/callback?error=access_denied&error_description=Call+1-555-SCAM+now"
    response = client.get(lure)
    assert response.status_code == 400 and "555-SCAM" not in response.get_data(as_text=True)
    state = parse_qs(urlsplit(auth.start()).query)["state"][0]
    shown = client.get(f"{lure}&state={state}")
    assert shown.status_code == 403 and "555-SCAM" in shown.get_data(as_text=True)
