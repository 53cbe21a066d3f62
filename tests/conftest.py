"""Shared fixtures: a private Redis, the devstack over HTTP, the app, and a sign-in helper.

The helpers behind them (and the seed) live in devstack/testing.py, which tests and bench import.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from devstack.processes import free_port, spawn, start_redis
from devstack.testing import AuthActions, Devstack, RedisServer, app_config
from webapp import clock, create_app


@pytest.fixture(scope="session")
def redis_server() -> RedisServer:
    """A private redis-server on a free port (falls back to TEST_REDIS_URL)."""
    if not shutil.which("redis-server"):
        url = os.environ.get("TEST_REDIS_URL")
        if not url:
            pytest.exit("redis-server is not installed: apt-get install redis-server", 2)
        yield RedisServer(url, None)
        return
    proc, url = start_redis()
    server = RedisServer(url, proc)
    yield server
    proc.terminate()
    proc.wait(5)


@pytest.fixture(scope="session")
def devstack() -> Devstack:
    """`python -m devstack` on free ports, as a separate process, for the whole run."""
    try:
        proc, env = spawn("--idp-port", str(free_port()), "--aws-port", str(free_port()))
    except RuntimeError as exc:
        pytest.exit(str(exc), 2)
    stack = Devstack(env["AUTH0_ISSUER"], env["AWS_ENDPOINT_URL"], env)
    yield stack
    proc.terminate()
    proc.wait(10)


@pytest.fixture(autouse=True)
def _clean_devstack(request: pytest.FixtureRequest) -> None:
    """Tests that use the devstack start with no misbehaviour switches and zeroed counters."""
    if "devstack" in request.fixturenames:
        stack = request.getfixturevalue("devstack")
        stack.idp("POST", "_devstack/reset")
        stack.aws("POST", "_devstack/reset")


@pytest.fixture
def app(devstack: Devstack, redis_server: RedisServer):
    """The app under test, on a flushed Redis."""
    redis_server.client().flushdb()
    return create_app(app_config(devstack, redis_server))


@pytest.fixture
def travel(monkeypatch: pytest.MonkeyPatch, devstack: Devstack):
    """travel(seconds): set the app's clock, and the IdP's, that far past the start of the test."""
    start = time.time()

    def to(seconds: float) -> None:
        monkeypatch.setattr(clock, "now", lambda: start + seconds)
        offset = start + seconds - time.time()
        devstack.idp("POST", "_devstack/clock", json={"offset": offset})

    return to


@pytest.fixture
def auth(client, devstack: Devstack) -> AuthActions:
    """Sign-in helper bound to the test client."""
    return AuthActions(client, devstack)
