"""Log set-up: the dev server's request lines never carry the authorization code or state."""

from __future__ import annotations

import logging

import pytest
import requests

from devstack.testing import serve
from webapp import logs


@pytest.fixture
def configured():
    """logs.configure() as an entry point runs it; the werkzeug filter is removed afterwards."""
    logs.configure()
    yield
    werkzeug = logging.getLogger("werkzeug")
    for installed in [f for f in werkzeug.filters if isinstance(f, logs.HideSignInQuery)]:
        werkzeug.removeFilter(installed)


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/callback?code=SECRETCODE&state=SECRETSTATE", "GET /callback HTTP/1.1"),
        ("/callback?state=SECRETSTATE&error=access_denied", "GET /callback HTTP/1.1"),
        ("/callback?%63ode=SECRETCODE", "GET /callback HTTP/1.1"),  # %63 is c
        ("/callback?SECRETCODE", "GET /callback HTTP/1.1"),
        ("/elsewhere?x=1&state=SECRETSTATE", "GET /elsewhere HTTP/1.1"),
        ("/elsewhere?CODE=SECRETCODE", "GET /elsewhere HTTP/1.1"),
    ],
)
def test_request_log_drops_a_query_with_a_code_or_state(app, caplog, configured, target, logged):
    with caplog.at_level(logging.INFO, logger="werkzeug"), serve(app) as url:
        requests.get(url + target, allow_redirects=False, timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any(logged in line for line in lines), lines
    assert "SECRET" not in caplog.text


def test_request_log_keeps_other_queries(app, caplog, configured):
    with caplog.at_level(logging.INFO, logger="werkzeug"), serve(app) as url:
        requests.get(url + "/login?next=/resources", allow_redirects=False, timeout=10)
    assert "GET /login?next=/resources HTTP/1.1" in caplog.text


def test_configure_installs_the_filter_once(configured):
    logs.configure()
    werkzeug = logging.getLogger("werkzeug")
    assert sum(isinstance(f, logs.HideSignInQuery) for f in werkzeug.filters) == 1
