"""Server-side sessions: cookie, rotation, limits, sealing at rest, hostile contents, outages."""

from __future__ import annotations

import json
import pickle
import time

import pytest

from devstack.processes import free_port, start_redis
from devstack.testing import AuthActions, app_config
from webapp import create_app, store


def session_keys(redis_server) -> list[bytes]:
    return sorted(redis_server.client().keys(store.session_key("*")))


def signed_in(client) -> bool:
    return "Signed in as" in client.get("/").get_data(as_text=True)


def set_cookie_header(response) -> str:
    (header,) = response.headers.getlist("Set-Cookie")
    return header


@pytest.mark.parametrize(
    ("base_url", "name", "secure"),
    [
        ("https://portal.example", "__Host-session", True),
        ("http://portal.example", "__Host-session", True),  # plain http elsewhere: still Secure
        ("http://localhost", "session", False),  # local development only
        ("http://127.0.0.1:5000", "session", False),
    ],
)
def test_cookie_attributes(app, base_url, name, secure):
    response = app.test_client().get("/login", base_url=base_url)
    header = set_cookie_header(response)
    parts = [p.strip() for p in header.split(";")]
    assert parts[0].startswith(name + "=")
    attributes = {p.split("=")[0].lower() for p in parts[1:]}
    assert "httponly" in attributes and "path=/" in [p.lower() for p in parts]
    assert "samesite=lax" in [p.lower() for p in parts]
    assert "domain" not in attributes and "expires" not in attributes
    assert ("secure" in attributes) is secure


def test_sign_in_rotates_the_session_id(client, auth, redis_server):
    authorize_url = auth.start()
    before = client.get_cookie("session").value
    assert session_keys(redis_server) == [store.session_key(store.get_handle(before)).encode()]
    client.get(auth.authorize(authorize_url, "alice"))
    after = client.get_cookie("session").value
    assert after != before
    assert session_keys(redis_server) == [store.session_key(store.get_handle(after)).encode()]


def test_logout_deletes_the_key_and_the_old_cookie_is_signed_out(app, client, auth, redis_server):
    auth.login("alice")
    cookie = client.get_cookie("session").value
    response = auth.logout()
    assert "session=;" in response.headers["Set-Cookie"]
    assert session_keys(redis_server) == []
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert not signed_in(replay)


def test_idle_timeout(client, auth, travel):
    auth.login("alice")
    travel(29 * 60)
    assert signed_in(client)  # activity resets the idle clock
    travel(29 * 60 + 29 * 60)
    assert signed_in(client)
    travel(29 * 60 + 29 * 60 + 31 * 60)
    assert not signed_in(client)


def test_absolute_timeout_despite_activity(client, auth, travel):
    auth.login("alice")
    for step in range(1, 12 * 3 + 1):  # a click every 20 minutes for 12 hours
        travel(step * 20 * 60 - 5)
        assert signed_in(client), step
    travel(12 * 3600 + 60)
    assert not signed_in(client)


def test_redis_holds_no_token_in_plaintext(app, client, auth, redis_server):
    auth.login("alice")
    r = redis_server.client()
    (key,) = session_keys(redis_server)
    blob = r.get(key)
    stored = app.extensions["webapp.store"].unseal(blob, key.decode())
    tokens = stored["tokens"]
    assert tokens["id_token"] and tokens["access_token"] and tokens["refresh_token"]
    dump = b"".join(r.dump(k) or b"" for k in r.keys("*")) + b"".join(
        r.get(k) or b"" for k in r.keys("*") if r.type(k) == b"string"
    )
    for token in tokens.values():
        if isinstance(token, str):
            for piece in token.split("."):
                assert piece.encode() not in dump
    assert b"alice" not in dump


class LeavesAMark:
    """Unpickling this creates a file: the side effect must never happen."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def hostile_payloads(app, key: str, marker: str) -> dict[str, bytes]:
    cipher = app.extensions["webapp.store"].cipher
    return {
        "garbage": b"\x00\xff not a session",
        "pickle": pickle.dumps({"user": LeavesAMark(marker)}),
        "plain json": json.dumps({"user": {"iss": "x", "sub": "y"}}).encode(),
        "sealed list": cipher.seal(b"[1, 2, 3]", key),
        "sealed wrong shape": cipher.seal(json.dumps({"user": "alice", "tokens": 1}).encode(), key),
        "sealed for another key": cipher.seal(b"{}", store.session_key("another")),
        "truncated": cipher.seal(b"{}", key)[:20],
    }


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "pickle",
        "plain json",
        "sealed list",
        "sealed wrong shape",
        "sealed for another key",
        "truncated",
    ],
)
def test_hostile_session_data_means_signed_out(app, client, auth, redis_server, tmp_path, kind):
    auth.login("alice")
    (key,) = session_keys(redis_server)
    marker = tmp_path / "unpickled"
    redis_server.client().set(key, hostile_payloads(app, key.decode(), str(marker))[kind])
    response = client.get("/")
    assert response.status_code == 200
    assert "Signed in as" not in response.get_data(as_text=True)
    assert not marker.exists()


def test_session_with_a_malformed_cookie_is_new(app, redis_server):
    client = app.test_client()
    client.set_cookie("session", "../../etc/passwd")
    before = sorted(redis_server.client().keys("*"))
    assert client.get("/").status_code == 200
    assert sorted(redis_server.client().keys("*")) == before  # no session was stored for it


def test_redis_outage_is_a_quick_503_and_recovers_without_restart(devstack, redis_server):
    port = free_port()
    proc, _ = start_redis(port)
    app = create_app(app_config(devstack, redis_server, REDIS_URL=f"redis://127.0.0.1:{port}/0"))
    client = app.test_client()
    assert AuthActions(client, devstack).login("alice").status_code == 302
    assert signed_in(client)
    proc.terminate()
    proc.wait(5)

    for path in ("/", "/login"):
        started = time.monotonic()
        response = client.get(path)
        assert response.status_code == 503, path
        assert time.monotonic() - started < 2
        assert "Temporarily unavailable" in response.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["redis"].startswith("failed")

    proc, _ = start_redis(port)  # an empty Redis: the old session is gone, the app carries on
    try:
        assert client.get("/").status_code == 200
        assert not signed_in(client)
        assert client.get("/readyz").status_code == 200
    finally:
        proc.terminate()
        proc.wait(5)
