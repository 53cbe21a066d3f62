"""The portal on each supported Redis deployment, real servers started per test: TLS with an ACL
user, Sentinel through a failover, and a three-primary Cluster."""

from __future__ import annotations

import logging
import time

import pytest

from devstack.redis_modes import (
    MASTER,
    PASSWORD,
    SENTINEL_PASSWORD,
    USER,
    cluster,
    node,
    sentinel_group,
    tls_redis,
)
from devstack.testing import SEED, USERS, AuthActions, app_config, csrf_token, serve, sign_in
from webapp import create_app, store

ADMIN = f"arn:aws:iam::{SEED['aws']['account_id']}:role/portal-admin"

pytestmark = pytest.mark.redis_modes


def home(client) -> str:
    return client.get("/").get_data(as_text=True)


def handle_of(client) -> str:
    return store.get_handle(client.get_cookie("session").value)


# --- TLS and ACL ----------------------------------------------------------------------------


def test_sign_in_over_tls_as_an_acl_user(devstack, redis_server, tmp_path):
    with tls_redis(tmp_path) as tls:
        app = create_app(
            app_config(devstack, redis_server, REDIS_URL=tls.url(), REDIS_CA_CERT=str(tls.ca))
        )
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        assert AuthActions(client, devstack).login("bob").status_code == 302
        assert "Signed in as" in home(client) and "portal-reader" in home(client)
        kept = tls.client()  # the session, its credentials and the sign-in budget, over TLS
        assert kept.exists(store.session_key(handle_of(client)))
        assert kept.exists(store.session_key(handle_of(client), "aws"))
        assert list(kept.scan_iter(match="LIMITS:*"))


@pytest.mark.parametrize(
    ("ca", "password", "error", "reason"),
    [
        ("other", PASSWORD, "ConnectionError", "certificate verify failed"),
        (None, PASSWORD, "ConnectionError", "certificate verify failed"),  # the system's CAs
        ("right", "wrong-password", "AuthenticationError", "invalid username-password pair"),
    ],
)
def test_tls_refusals_are_503s_with_one_clear_log_line(
    devstack, redis_server, tmp_path, caplog, ca, password, error, reason
):
    with tls_redis(tmp_path) as tls:
        ca_cert = {"right": str(tls.ca), "other": str(tls.other_ca), None: None}[ca]
        config = app_config(devstack, redis_server, REDIS_URL=tls.url(USER, password))
        app = create_app({**config, "REDIS_CA_CERT": ca_cert})
        client = app.test_client()
        with caplog.at_level(logging.WARNING, logger="webapp.pages"):
            ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json["checks"]["redis"] == f"failed: {error}"
        (line,) = [r.getMessage() for r in caplog.records if r.name == "webapp.pages"]
        assert line.startswith("not ready: redis: ") and reason in line and "\n" not in line
        client.set_cookie("session", "s" * 43)  # a returning visitor's session is looked up
        assert client.get("/").status_code == 503


# --- Sentinel -------------------------------------------------------------------------------


@pytest.mark.parametrize("sentinel_password", [SENTINEL_PASSWORD, "wrong-password"])
def test_sentinel_over_tls_with_passwords(devstack, redis_server, tmp_path, sentinel_password):
    with tls_redis(tmp_path, sentinel=True) as tls:
        app = create_app(
            app_config(
                devstack,
                redis_server,
                REDIS_URL=f"rediss://{USER}:{PASSWORD}@{MASTER}/0",
                REDIS_CA_CERT=str(tls.ca),
                REDIS_SENTINELS=f"127.0.0.1:{tls.sentinel}",
                REDIS_SENTINEL_MASTER=MASTER,
                REDIS_SENTINEL_PASSWORD=sentinel_password,
            )
        )
        client = app.test_client()
        if sentinel_password == SENTINEL_PASSWORD:
            assert AuthActions(client, devstack).login("bob").status_code == 302
            assert "Signed in as" in home(client)
            assert tls.client().exists(store.session_key(handle_of(client)))
        else:  # no Sentinel answers: no primary
            ready = client.get("/readyz")
            assert ready.json["checks"]["redis"] == "failed: MasterNotFoundError"


def test_a_sentinel_failover_keeps_sessions_and_sign_ins(devstack, redis_server, tmp_path):
    with sentinel_group(tmp_path) as group:
        app = create_app(
            app_config(
                devstack,
                redis_server,
                REDIS_URL=f"redis://{MASTER}/0",  # host unused: the Sentinels name the primary
                REDIS_SENTINELS=group.setting,
                REDIS_SENTINEL_MASTER=MASTER,
            )
        )
        alice = app.test_client()
        AuthActions(alice, devstack).login("alice")
        assert "Signed in as" in home(alice)
        group.replicate()  # the replica has the session before the primary dies

        started = time.monotonic()
        group.servers.kill(group.primary)
        seen = set()
        deadline = started + 60
        while True:
            response = alice.get("/")
            page = response.get_data(as_text=True)
            # Never a signed-out page: Redis either answers with the session or not at all.
            assert response.status_code == 503 or "Signed in as" in page, page[:300]
            seen.add(response.status_code)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        window = time.monotonic() - started
        assert response.status_code == 200, f"no answer {window:.1f} s after the failover"
        assert group.master_port() == group.replica
        print(f"\nSentinel failover: the portal answered again {window:.1f} s after SIGKILL {seen}")

        bob = AuthActions(app.test_client(), devstack)
        assert bob.login("bob").status_code == 302
        assert "Signed in as" in home(bob.client) and "portal-reader" in home(bob.client)
        assert node(group.replica).exists(store.session_key(handle_of(bob.client)))


# --- Cluster --------------------------------------------------------------------------------


def test_every_feature_on_a_cluster_without_crossslot(devstack, redis_server, tmp_path, caplog):
    with cluster(tmp_path) as nodes, caplog.at_level(logging.DEBUG):
        app = create_app(app_config(devstack, redis_server, REDIS_URL=nodes.url, REDIS_CLUSTER="1"))
        alice = AuthActions(app.test_client(), devstack)
        assert alice.login("alice").status_code == 302
        client = alice.client

        picker = client.get("/roles").get_data(as_text=True)
        chosen = client.post("/roles", data={"csrf_token": csrf_token(picker), "role_arn": ADMIN})
        assert chosen.status_code == 302 and "assumed-role/portal-admin/" in home(client)
        resources = client.get("/resources")
        assert resources.status_code == 200 and "Could not list" not in resources.text

        bob = sign_in(app, devstack, "bob")
        carols = [sign_in(app, devstack, "carol") for _ in range(2)]
        assert "Signed in as" in home(bob) and all("Signed in as" in home(c) for c in carols)
        spread = nodes.keys_by_node()
        page = client.get("/admin/sessions").get_data(as_text=True)
        for name in ("alice", "bob", "carol"):
            assert USERS[name]["sub"] in page

        revoked = client.post(
            f"/admin/sessions/{handle_of(bob)}/revoke", data={"csrf_token": csrf_token(page)}
        )
        assert revoked.status_code == 302 and "Signed in as" not in home(bob)

        with serve(app) as url:  # the IdP posts the logout token to the app over HTTP
            devstack.idp(
                "POST", "_devstack/backchannel", json={"urls": [f"{url}/backchannel-logout"]}
            )
            try:
                assert devstack.idp_logout(sub=USERS["carol"]["sub"]) == 1
            finally:
                devstack.idp("POST", "_devstack/backchannel", json={"urls": []})
        assert [("Signed in as" in home(carol)) for carol in carols] == [False, False]

        page = client.get("/admin/sessions").get_data(as_text=True)
        table = page.split("Recent events")[0]
        assert USERS["bob"]["sub"] not in table and USERS["carol"]["sub"] not in table
        assert "session_revoked" in page and "backchannel_logout" in page

        assert alice.logout().status_code == 302
        assert "Signed in as" not in home(client)
        assert devstack.sts_stats() == {"ok": 2}  # alice's admin role, bob's reader role

        # The keys really were spread over the nodes, and nothing met a cross-slot refusal.
        assert sum(1 for keys in spread.values() if keys) >= 2, spread
        assert "CROSSSLOT" not in caplog.text and "must map to the same" not in caplog.text
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []

    # Every node is gone now: a quick 503, as with a standalone Redis, not a 500.
    visitor = app.test_client()
    visitor.set_cookie("session", "s" * 43)
    started = time.monotonic()
    assert visitor.get("/").status_code == 503
    assert time.monotonic() - started < 2
    assert visitor.get("/readyz").json["checks"]["redis"] == "failed: ConnectionError"
