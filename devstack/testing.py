"""What tests and benchmarks share: the seed, handles on Redis and the devstack, a served WSGI app,
and signing in through the IdP's real login form.

pytest fixtures stay in tests/conftest.py; everything here is plain code that tests/ and bench/
import. The app is imported only where a helper needs it.
"""

from __future__ import annotations

import contextlib
import html
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import redis
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from .seed import load_seed

ROOT = Path(__file__).resolve().parent.parent
SEED = load_seed()
TENANT = SEED["tenant"]
USERS = {u["username"]: u for u in SEED["users"]}
SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
CALLBACK = "http://127.0.0.1:5000/callback"  # the redirect URI the seed registers for the portal


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
    """A Redis for tests: its URL, and the process when we started it."""

    url: str
    process: subprocess.Popen | None

    def client(self) -> redis.Redis:
        """A client on the test Redis."""
        return redis.Redis.from_url(self.url)


@dataclass
class Devstack:
    """A running devstack: where its IdP and AWS answer, and the app settings it printed."""

    issuer: str
    aws_url: str
    env: dict[str, str]

    def idp(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the IdP over HTTP (path without leading slash)."""
        url = self.issuer.rstrip("/") + "/" + path  # the issuer may end with '/' or not
        response = requests.request(method, url, timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def aws(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the local AWS front over HTTP."""
        response = requests.request(method, f"{self.aws_url}/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response

    def sts_stats(self) -> dict[str, int]:
        """AssumeRoleWithWebIdentity answers of the local AWS so far, by outcome."""
        stats: dict[str, int] = self.aws("GET", "_devstack/stats").json()
        return stats["assume_role_with_web_identity"]  # type: ignore[return-value]

    def idp_logout(self, **body: Any) -> int:
        """Have the IdP end SSO sessions and send logout tokens now; how many it sent."""
        sent: int = self.idp("POST", "_devstack/backchannel-logout", json=body).json()["sent"]
        return sent


def app_config(devstack: Devstack, redis_server: RedisServer, **overrides: Any) -> dict[str, Any]:
    """Settings for a test app pointed at the devstack and the private Redis."""
    config = {
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "REDIS_URL": redis_server.url,
        **devstack.env,
    }
    config.update(overrides)
    return config


def stored_session(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """The decrypted session behind a test client's cookie, straight from Redis."""
    from webapp import sessions, store

    with app.app_context():
        return sessions.load(store.get_handle(client.get_cookie("session").value))


class AuthActions:
    """Sign in through the IdP's real login form, following every redirect."""

    def __init__(self, client: FlaskClient, devstack: Devstack) -> None:
        self.client = client
        self.devstack = devstack
        self.browser = requests.Session()  # the IdP's cookies live in the "browser" too

    def start(self, next_path: str | None = None) -> str:
        """GET /login and return the IdP authorize URL it redirects to."""
        query = {"next": next_path} if next_path else {}
        response = self.client.get("/login", query_string=query)
        assert response.status_code == 302
        return response.headers["Location"]

    def authorize(
        self, authorize_url: str, username: str = "alice", password: str | None = None
    ) -> str:
        """Fill the IdP login form; return the callback path+query the IdP redirects to."""
        return fill_login(self.browser, authorize_url, username, password)

    def login(
        self, username: str = "alice", next_path: str | None = None, role_arn: str | None = None
    ) -> TestResponse:
        """The whole sign-in, then pick role_arn at /roles if given; the app's callback answer."""
        callback = self.authorize(self.start(next_path), username)
        response = self.client.get(callback)
        if role_arn is not None:
            token = csrf_token(self.client.get("/roles").get_data(as_text=True))
            picked = self.client.post("/roles", data={"csrf_token": token, "role_arn": role_arn})
            assert picked.status_code == 302, picked.status_code
        return response

    def logout(self) -> TestResponse:
        """POST /logout with the CSRF token from the home page."""
        page = self.client.get("/").get_data(as_text=True)
        return self.client.post("/logout", data={"csrf_token": csrf_token(page)})


def sign_in(app: Flask, devstack: Devstack, username: str) -> FlaskClient:
    """A new client, with a browser of its own at the IdP, signed in as username."""
    auth = AuthActions(app.test_client(), devstack)
    auth.login(username)
    return auth.client


def fill_login(
    browser: requests.Session, authorize_url: str, username: str, password: str | None = None
) -> str:
    """Open an authorize URL in browser, fill the login form; the callback path+query it gets."""
    page = browser.get(authorize_url, allow_redirects=False, timeout=10)
    if page.status_code in (302, 303):  # the IdP remembered this browser (SSO)
        location = urlsplit(page.headers["Location"])
        return f"{location.path}?{location.query}"
    page.raise_for_status()
    form = hidden_fields(page.text)
    form.update(username=username, password=password or USERS[username]["password"])
    action = form_action(page.text, page.url)
    answer = browser.post(action, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.text[:500]
    location = urlsplit(answer.headers["Location"])
    return f"{location.path}?{location.query}"


def idp_tokens(issuer: str, username: str, **params: str) -> dict[str, Any]:
    """The IdP's token answer for username: its code flow run as the portal would, without it."""
    query = {
        "response_type": "code",
        "client_id": TENANT["client_id"],
        "redirect_uri": CALLBACK,
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        **params,
    }
    base = issuer.rstrip("/") + "/"
    callback = fill_login(requests.Session(), f"{base}authorize?{urlencode(query)}", username)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    auth = (TENANT["client_id"], TENANT["client_secret"])
    response = requests.post(f"{base}oauth/token", data=data, auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def big_bucket_keys() -> list[str]:
    """Every key the seed puts into shared-big (as devstack/aws/seeding.py generates them)."""
    (bucket,) = (b for b in SEED["aws"]["buckets"] if b["name"] == "shared-big")
    spec = bucket["generate"]
    prefixes = spec["prefixes"]
    return [f"{prefixes[i % len(prefixes)]}item-{i:05d}.txt" for i in range(spec["count"])]


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a page's form, name to value."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1) if value else "")
    return fields


def form_action(page: str, base: str) -> str:
    """The absolute URL a page's form posts to (the page itself when it names none)."""
    match = re.search(r'<form[^>]*action="([^"]*)"', page)
    return urljoin(base, html.unescape(match.group(1)) if match else base)


def csrf_token(page: str) -> str:
    """The CSRF token embedded in a page's form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "page has no CSRF token"
    return match.group(1)


def concurrent_pages(app: Flask, cookie: str, count: int, path: str = "/") -> list[str]:
    """GET path with one session cookie from count threads at once; the pages they got."""
    pages: list[str] = []

    def view() -> None:
        other = app.test_client()
        other.set_cookie("session", cookie)
        pages.append(other.get(path).get_data(as_text=True))

    threads = [threading.Thread(target=view) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return pages
