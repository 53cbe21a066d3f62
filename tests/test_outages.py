"""Outages, by really stopping and restarting the stand-ins: clear pages, and recovery by itself."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from devstack.processes import free_port, spawn
from devstack.testing import AuthActions, Devstack, app_config
from webapp import create_app, resources

HANG_GUARD = 6  # seconds: the bound for a clear answer while the IdP is down


@dataclass
class SplitStack:
    """The IdP and the AWS stand-in as two processes on fixed ports, each stoppable alone."""

    idp_port: int = field(default_factory=free_port)
    aws_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.idp_port}/"

    def start(self, which: str) -> None:
        """Start one stand-in on its port (again, after a stop)."""
        args = ["--only", which, "--idp-port", str(self.idp_port), "--aws-port", str(self.aws_port)]
        proc, env = spawn(*args, "--issuer", self.issuer)
        self.procs[which], self.env = proc, {**self.env, **env}

    def stop(self, which: str) -> None:
        """Stop one stand-in; its port refuses connections until it starts again."""
        proc = self.procs.pop(which)
        proc.terminate()
        proc.wait(10)

    def devstack(self) -> Devstack:
        return Devstack(self.issuer, self.env["AWS_ENDPOINT_URL"], self.env)


@pytest.fixture
def split(redis_server) -> Iterator[SplitStack]:
    stack = SplitStack()
    stack.start("idp")
    stack.start("aws")
    yield stack
    for which in list(stack.procs):
        stack.stop(which)


def timed_get(client, path: str):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def page(response) -> str:
    return response.get_data(as_text=True)


def test_idp_down_sign_in_pages_say_so_sessions_go_on_and_it_comes_back(
    split, redis_server, travel_app_only
):
    devstack = split.devstack()
    redis_server.client().flushdb()
    app = create_app(app_config(devstack, redis_server))
    bob = app.test_client()
    auth = AuthActions(bob, devstack)
    assert auth.login("bob").status_code == 302
    assert "assumed-role/portal-reader/" in page(bob.get("/"))
    pending = app.test_client()
    start = AuthActions(pending, devstack).start()

    split.stop("idp")
    travel_app_only(10)  # past the few seconds a successful reachability check is trusted
    for client, path in ((app.test_client(), "/login"), (pending, _callback_for(start))):
        response, took = timed_get(client, path)
        assert response.status_code == 503 and took < HANG_GUARD, path
        assert "cannot be reached" in page(response)
    assert "assumed-role/portal-reader/" in page(bob.get("/"))  # no IdP needed until renewal
    travel_app_only(16 * 60)  # the roles are due for a re-read: not possible now
    response, took = timed_get(bob, "/")
    assert response.status_code == 503 and took < HANG_GUARD
    assert "cannot be reached" in page(response)

    split.start("idp")  # a new IdP process: it forgot bob's refresh token, so he signs in again
    travel_app_only(0)
    newcomer = app.test_client()
    assert AuthActions(newcomer, split.devstack()).login("bob").status_code == 302
    assert "Signed in as" in page(newcomer.get("/"))


def test_aws_down_panels_and_sts_say_so_and_it_comes_back(split, redis_server):
    devstack = split.devstack()
    redis_server.client().flushdb()
    app = create_app(app_config(devstack, redis_server, HTTP_TIMEOUT_SECONDS=2))
    bob = app.test_client()
    AuthActions(bob, devstack).login("bob")
    assert "assumed-role/portal-reader/" in page(bob.get("/"))

    split.stop("aws")
    overview = bob.get("/resources")
    assert overview.status_code == 200  # the page works; each panel says what failed
    regions = len(app.config["AWS_REGIONS"])
    cells = sum(regions if s.regional else 1 for s in resources.SERVICES)
    assert page(overview).count("Could not list") == cells  # every (service, region) says so
    newcomer = app.test_client()
    AuthActions(newcomer, devstack).login("bob")
    problem = newcomer.get("/")
    assert "AWS cannot be reached" in page(problem)

    split.start("aws")  # (a new stand-in that forgot the old keys; real AWS would not)
    assert "assumed-role/portal-reader/" in page(newcomer.get("/"))
    assert "Could not list" not in page(newcomer.get("/resources"))


def _callback_for(authorize_url: str) -> str:
    state = authorize_url.split("state=")[1].split("&")[0]
    return f"/callback?code=anything&state={state}"


@pytest.fixture
def travel_app_only(monkeypatch):
    """Move only the app's clock (the IdP may be down, so it cannot be moved with it)."""
    from webapp import clock

    start = time.time()
    return lambda seconds: monkeypatch.setattr(clock, "now", lambda: start + seconds)
