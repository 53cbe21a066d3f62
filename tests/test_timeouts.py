"""Every outbound call gives up in time against a server that accepts and never answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ReadTimeoutError

from devstack.processes import free_port
from devstack.testing import ROOT, AuthActions, app_config, serve
from webapp import create_app
from webapp.auth import get_keys
from webapp.resources.clients import ClientCache
from webapp.tokens import KeysUnavailable

TIMEOUT = 1  # HTTP_TIMEOUT_SECONDS for these tests
HANG_GUARD = 12  # seconds: far above TIMEOUT times the retries, far below "hangs forever"


@pytest.fixture
def hung_url() -> Iterator[str]:
    """A loopback server whose kernel completes every connection that nobody ever answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        listener.close()


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def metadata_app(base: str, **overrides: str) -> Any:
    """A WSGI app serving an OIDC discovery document at base, with some endpoints replaced."""
    document = {
        "issuer": base,
        "authorization_endpoint": base + "authorize",
        "token_endpoint": base + "oauth/token",
        "jwks_uri": base + ".well-known/jwks.json",
        **overrides,
    }

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(document).encode()]

    return app


def test_idp_discovery_that_never_answers_is_a_quick_503(devstack, redis_server, hung_url):
    app = create_app(
        app_config(devstack, redis_server, AUTH0_ISSUER=hung_url, HTTP_TIMEOUT_SECONDS=TIMEOUT)
    )
    response, took = timed(lambda: app.test_client().get("/login"))
    assert response.status_code == 503 and took < HANG_GUARD
    assert "cannot be reached" in response.get_data(as_text=True)


def test_code_exchange_and_jwks_that_never_answer_give_up(devstack, redis_server, hung_url):
    dispatch: dict[str, Any] = {}
    with serve(lambda environ, start: dispatch["app"](environ, start)) as base:
        base += "/"
        dispatch["app"] = metadata_app(
            base, token_endpoint=hung_url + "oauth/token", jwks_uri=hung_url + "jwks"
        )
        app = create_app(
            app_config(devstack, redis_server, AUTH0_ISSUER=base, HTTP_TIMEOUT_SECONDS=TIMEOUT)
        )
        client = app.test_client()
        location = client.get("/login").headers["Location"]
        state = requests.utils.urlparse(location).query.split("state=")[1].split("&")[0]
        response, took = timed(lambda: client.get(f"/callback?code=abc&state={state}"))
        assert response.status_code == 503 and took < HANG_GUARD
        started = time.monotonic()
        with app.app_context(), pytest.raises(KeysUnavailable):
            get_keys().find_key("k1")
        assert time.monotonic() - started < HANG_GUARD


def test_sts_and_federation_that_never_answer_become_plain_pages(devstack, redis_server, hung_url):
    app = create_app(
        app_config(devstack, redis_server, HTTP_TIMEOUT_SECONDS=TIMEOUT, AWS_ENDPOINT_URL=hung_url)
    )
    client = app.test_client()
    AuthActions(client, devstack).login("bob")
    page, took = timed(lambda: client.get("/").get_data(as_text=True))
    assert "AWS cannot be reached" in page and took < HANG_GUARD

    app = create_app(
        app_config(
            devstack, redis_server, HTTP_TIMEOUT_SECONDS=TIMEOUT, AWS_FEDERATION_URL=hung_url
        )
    )
    client = app.test_client()
    AuthActions(client, devstack).login("bob")
    token = client.get("/").get_data(as_text=True).split('name="csrf_token" value="')[1]
    response, took = timed(
        lambda: client.post("/resources/console", data={"csrf_token": token.split('"')[0]})
    )
    assert response.status_code == 502 and took < HANG_GUARD


def test_aws_api_clients_give_up(hung_url):
    creds = type("Creds", (), {})()
    creds.access_key_id, creds.secret_access_key, creds.session_token = "AKIA", "s", "t"
    creds.expiration = time.time() + 3600
    client = ClientCache(endpoint_url=hung_url, timeout=TIMEOUT).get(creds, "s3", "us-east-1")
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        client.list_buckets()
    assert time.monotonic() - started < HANG_GUARD


@pytest.mark.deploy
def test_health_answers_while_every_thread_would_wait_on_a_hung_idp(
    devstack, redis_server, hung_url, tmp_path: Path
):
    port = free_port()
    env = {
        **os.environ,
        **app_config(devstack, redis_server, AUTH0_ISSUER=hung_url, HTTP_TIMEOUT_SECONDS=30),
    }
    env = {k: str(v) for k, v in env.items() if k != "TESTING"}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "-b", f"127.0.0.1:{port}", "-w", "1", "-k", "gthread", "--threads", "8"]
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen([*command, "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # gunicorn may accept before its worker has booted
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        stuck = [
            threading.Thread(
                target=lambda: requests.get(base + "/login", timeout=40, allow_redirects=False),
                daemon=True,
            )
            for _ in range(8)
        ]
        for thread in stuck:
            thread.start()
        time.sleep(1)  # let all eight reach the worker
        # Without the bound on IdP calls all eight threads wait 30 s and this times out.
        health = requests.get(base + "/healthz", timeout=HANG_GUARD)
        assert health.status_code == 200
    finally:
        proc.kill()
        proc.wait(10)
        log.close()
