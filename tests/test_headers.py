"""Security headers from the app itself, on every kind of answer; HSTS only over https."""

from __future__ import annotations

import re

import pytest
from flask import abort

from devstack.testing import ROOT, app_config, csrf_token
from webapp import create_app

TEMPLATES = ROOT / "templates"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def expected_csp(devstack) -> str:
    issuer = devstack.issuer.rstrip("/")
    federation = devstack.env["AWS_FEDERATION_URL"].removesuffix("/federation")
    return (
        "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; "
        f"form-action 'self' {issuer} {federation} "
        "https://console.aws.amazon.com https://*.console.aws.amazon.com"
    )


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        (None, "/", 200),
        ("alice", "/", 200),
        (None, "/no/such/page", 404),
        (None, "/resources", 302),  # the redirect to sign in
        ("bob", "/resources", 200),
        ("alice", "/admin/tokens", 200),
        ("bob", "/admin/tokens", 403),
        (None, "/static/portal.css", 200),
        (None, "/readyz", 200),
    ],
)
def test_every_answer_carries_the_security_headers(client, auth, devstack, user, path, status):
    if user:
        auth.login(user)
    response = client.get(path)
    response.close()  # a static file answer holds the file open
    assert response.status_code == status
    assert response.headers.getlist("Content-Security-Policy") == [expected_csp(devstack)]
    for name, value in HEADERS.items():
        assert response.headers.getlist(name) == [value]
    assert "Strict-Transport-Security" not in response.headers


def test_unexpected_errors_carry_them_too(app, client, devstack):
    @app.get("/_probe/boom")
    def boom():
        abort(500)

    response = client.get("/_probe/boom")
    assert response.status_code == 500
    assert response.headers["Content-Security-Policy"] == expected_csp(devstack)


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers.getlist("Strict-Transport-Security") == ["max-age=31536000"]
    assert secure.headers["X-Frame-Options"] == "DENY"


def test_hsts_behind_a_tls_proxy(devstack, redis_server):
    app = create_app(app_config(devstack, redis_server, PROXY_FIX=1))
    client = app.test_client()
    secure = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_the_console_redirect_keeps_no_referrer(client, auth):
    auth.login("bob")
    token = csrf_token(client.get("/resources").get_data(as_text=True))
    answer = client.post("/resources/console", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert answer.headers["X-Frame-Options"] == "DENY"


def test_the_policy_follows_the_configured_idp_and_federation_endpoint(devstack, redis_server):
    app = create_app(
        app_config(
            devstack,
            redis_server,
            AUTH0_ISSUER="https://acme.eu.auth0.com/",
            AWS_FEDERATION_URL="https://signin.aws.amazon.com/federation",
        )
    )
    csp = app.test_client().get("/healthz").headers["Content-Security-Policy"]
    assert csp.endswith(
        "form-action 'self' https://acme.eu.auth0.com https://signin.aws.amazon.com "
        "https://console.aws.amazon.com https://*.console.aws.amazon.com"
    )
    assert "unsafe-inline" not in csp and "https: " not in csp


def test_no_template_has_inline_script_or_style():
    # The CSP has no 'unsafe-inline': an inline script, handler or style would silently not work.
    inline = re.compile(r"<script(?![^>]*\ssrc=)|<style|\son[a-z]+\s*=|\sstyle\s*=", re.I)
    portal = [p for p in TEMPLATES.rglob("*.html") if "devstack" not in p.parts]
    assert portal
    assert [str(p) for p in portal if inline.search(p.read_text())] == []
