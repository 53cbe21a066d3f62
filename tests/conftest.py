"""Shared fixtures: a private Redis, the devstack over HTTP, the app, and a sign-in helper."""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import redis
import requests
from werkzeug.serving import make_server

from devstack.processes import free_port, spawn, start_redis
from devstack.seed import load_seed
from webapp import clock, create_app, sessions, store

ROOT = Path(__file__).resolve().parent.parent
SEED = load_seed()
TENANT = SEED["tenant"]
USERS = {u["username"]: u for u in SEED["users"]}
SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"


@contextlib.contextmanager
def serve(wsgi_app: Any) -> Iterator[str]:
    """Serve a WSGI app over real HTTP on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def wait_for(url: str, timeout: float = 30.0) -> None:
    """Poll url until it answers, or fail the test run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1, allow_redirects=False)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout} s")


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen | None

    def client(self) -> redis.Redis:
        """A client on the test Redis."""
        return redis.Redis.from_url(self.url)


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


@dataclass
class Devstack:
    issuer: str
    aws_url: str
    env: dict[str, str]

    def idp(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the IdP over HTTP (path without leading slash)."""
        response = requests.request(method, self.issuer + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def aws(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the local AWS front over HTTP."""
        response = requests.request(method, f"{self.aws_url}/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response


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


def app_config(devstack: Devstack, redis_server: RedisServer, **overrides) -> dict:
    """Settings for a test app pointed at the devstack and the private Redis."""
    config = {
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "REDIS_URL": redis_server.url,
        **{k: v for k, v in devstack.env.items()},
    }
    config.update(overrides)
    return config


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


def stored_session(app, client) -> dict:
    """The decrypted session behind a test client's cookie, straight from Redis."""
    with app.app_context():
        return sessions.load(store.get_handle(client.get_cookie("session").value))


class AuthActions:
    """Sign in through the IdP's real login form, following every redirect."""

    def __init__(self, client, devstack: Devstack) -> None:
        self.client = client
        self.devstack = devstack
        self.browser = requests.Session()  # the IdP's cookies live in the "browser" too

    def start(self, next_path: str | None = None) -> str:
        """GET /login and return the IdP authorize URL it redirects to."""
        query = {"next": next_path} if next_path else {}
        response = self.client.get("/login", query_string=query)
        assert response.status_code == 302
        return response.headers["Location"]

    def authorize(self, authorize_url: str, username: str = "alice", password: str | None = None):
        """Fill the IdP login form; return the callback path+query the IdP redirects to."""
        page = self.browser.get(authorize_url, allow_redirects=False, timeout=10)
        if page.status_code in (302, 303):  # the IdP remembered this browser (SSO)
            location = urlsplit(page.headers["Location"])
            return f"{location.path}?{location.query}"
        page.raise_for_status()
        form = _hidden_fields(page.text)
        form.update(username=username, password=password or USERS[username]["password"])
        action = _form_action(page.text, page.url)
        answer = self.browser.post(action, data=form, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text[:500]
        location = urlsplit(answer.headers["Location"])
        return f"{location.path}?{location.query}"

    def login(self, username: str = "alice", next_path: str | None = None):
        """The whole sign-in; returns the app's response to the callback."""
        callback = self.authorize(self.start(next_path), username)
        return self.client.get(callback)

    def logout(self):
        """POST /logout with the CSRF token from the home page."""
        page = self.client.get("/").get_data(as_text=True)
        return self.client.post("/logout", data={"csrf_token": csrf_token(page)})


def _hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[name.group(1)] = _unescape(value.group(1) if value else "")
    return fields


def _form_action(html: str, base: str) -> str:
    match = re.search(r'<form[^>]*action="([^"]*)"', html)
    return urljoin(base, _unescape(match.group(1)) if match else base)


def _unescape(text: str) -> str:
    return html.unescape(text)


def csrf_token(html: str) -> str:
    """The CSRF token embedded in a page's form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def auth(client, devstack: Devstack) -> AuthActions:
    """Sign-in helper bound to the test client."""
    return AuthActions(client, devstack)
