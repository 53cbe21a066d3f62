"""Home page, health probes and the error pages: plain words, right status, no stack trace."""

from __future__ import annotations

import pytest
from flask import abort


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (400, "Bad request"),
        (401, "Not signed in"),
        (403, "Not allowed"),
        (404, "Page not found"),
        (500, "Something went wrong"),
        (502, "An upstream service failed"),
        (503, "Temporarily unavailable"),
    ],
)
def test_error_pages(app, client, status, title):
    @app.get("/_probe/abort")
    def probe():
        abort(status)

    response = client.get("/_probe/abort")
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in page and f"Error {status}" in page


def test_unexpected_exception_is_a_500_page_without_a_trace(app, client):
    @app.get("/_probe/boom")
    def boom():
        raise RuntimeError("secret internals /etc/portal.conf")

    app.testing = False  # as in production: the error handler answers, not the test client
    response = client.get("/_probe/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "Traceback" not in page and "secret internals" not in page


def test_wrong_method_is_405(client):
    assert client.get("/logout").status_code == 405


def test_signed_out_home_offers_sign_in(client):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/login"' in page and "Signed in as" not in page


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "checks": {"redis": "ok", "identity_provider": "ok"}}


def discovery_requests(devstack) -> int:
    return devstack.idp("GET", "_devstack/stats").json()["discovery_requests"]


def test_readyz_asks_the_idp_at_most_once_per_five_seconds(client, devstack, travel):
    travel(0)
    answers = {client.get("/readyz").status_code for _ in range(100)}
    assert answers == {200}
    assert discovery_requests(devstack) == 1
    travel(4.5)
    client.get("/readyz")
    assert discovery_requests(devstack) == 1
    travel(6)
    assert client.get("/readyz").status_code == 200
    assert discovery_requests(devstack) == 2
