"""Log lines as the entry points configure them: JSON, with the request id, never a secret."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devstack.processes import free_port
from devstack.testing import SEED, app_config, csrf_token, serve, stored_session
from webapp import create_app, credentials, logs, store

ADMIN = f"arn:aws:iam::{SEED['aws']['account_id']}:role/portal-admin"

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
FIELDS = {"time", "level", "logger", "message", "request_id", "sub"}


class Captured:
    """What the JSON handler wrote, line by line."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict]:
        """Every line, parsed (each must be one JSON object)."""
        text = self.stream.getvalue()
        assert text.endswith("\n") or not text
        return [json.loads(line) for line in text.splitlines()]

    def text(self) -> str:
        """Everything written."""
        return self.stream.getvalue()


@pytest.fixture
def captured() -> Iterator[Captured]:
    """The handler logs.configure() installs, on the root logger at INFO, writing to a buffer."""
    capture = Captured()
    handler = logs.get_handler(capture.stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_sign_in_and_a_resources_visit_log_json_lines(client, auth, captured):
    auth.login("alice", role_arn=ADMIN)
    assert client.get("/resources").status_code == 200
    lines = captured.lines()
    assert lines, "a sign-in logs at least its audit event"
    for line in lines:
        assert set(line) >= FIELDS, line
        assert ISO_UTC.fullmatch(line["time"]), line["time"]
        assert line["level"] in ("INFO", "WARNING", "ERROR")
    [signed_in] = [line for line in lines if line["message"].startswith("signed in ")]
    assert signed_in["logger"] == "webapp.auth.views"
    assert re.fullmatch(r"[0-9a-f]{32}", signed_in["request_id"])
    assert signed_in["sub"] == signed_in["message"].removeprefix("signed in ")


def test_audit_events_are_json_lines_with_their_fields(client, auth, captured):
    auth.login("bob")
    assert client.get("/resources").status_code == 200
    audit = [line for line in captured.lines() if line["logger"] == "webapp.audit"]
    assert [line["message"] for line in audit] == ["sign_in", "role_assumed"]
    sign_in_line, assumed = audit
    assert sign_in_line["audit"]["event"] == "sign_in"
    assert assumed["audit"]["outcome"] == "ok" and assumed["audit"]["role"].endswith("reader")
    assert assumed["sub"] == sign_in_line["audit"]["actor"]  # signed in by then
    assert sign_in_line["request_id"] != assumed["request_id"]  # two requests, two ids


def test_the_request_id_sent_is_logged_answered_and_shown_on_the_404_page(client, captured):
    request_id = "3f2a9c1e-test-0001"
    headers = {"X-Request-ID": request_id}
    response = client.get("/callback?error=access_denied&state=x", headers=headers)
    assert response.headers["X-Request-ID"] == request_id
    [line] = [line for line in captured.lines() if "returned error" in line["message"]]
    assert line["request_id"] == request_id and line["sub"] is None

    missing = client.get("/no/such/page", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["X-Request-ID"] == request_id
    assert f"<code>{request_id}</code>" in missing.get_data(as_text=True)


@pytest.mark.parametrize(
    "sent",
    [None, "", "short", "x" * 65, "has spaces in it", "tab\tseparated-1", '{"level":"ERROR"}'],
    ids=["none", "empty", "too short", "too long", "spaces", "tab", "json"],
)
def test_a_missing_or_malformed_id_is_replaced_by_a_new_one(client, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    first = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    second = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and re.fullmatch(r"[0-9a-f]{32}", second)
    assert first != second


def test_the_sts_problem_page_shows_the_request_id(client, auth, devstack):
    auth.login("bob")
    error = {"code": "AccessDenied", "message": "Not authorized", "times": 9}
    devstack.aws("POST", "_devstack/misbehave", json={"sts_error": error})
    response = client.get("/resources", headers={"X-Request-ID": "sts-problem-1234"})
    assert response.status_code == 403
    assert "<code>sts-problem-1234</code>" in response.get_data(as_text=True)


def test_no_token_code_cookie_or_credential_is_logged(app, client, auth, captured):
    authorize_url = auth.start()
    callback = auth.authorize(authorize_url, "alice")
    query = parse_qs(urlsplit(callback).query)
    assert client.get(callback).status_code == 302
    token = csrf_token(client.get("/roles").get_data(as_text=True))
    assert client.post("/roles", data={"csrf_token": token, "role_arn": ADMIN}).status_code == 302
    assert client.get("/resources").status_code == 200
    assert client.get("/resources/s3").status_code == 200
    assert client.post("/roles").status_code == 400  # no CSRF token: logged, without secrets

    session = stored_session(app, client)
    with app.app_context():
        creds = credentials.load_cached(store.get_handle(client.get_cookie("session").value))
    secrets = {
        "authorization code": query["code"][0],
        "state": query["state"][0],
        "CSRF token": token,
        "session cookie": client.get_cookie("session").value,
        **{name: session["tokens"][name] for name in ("id_token", "access_token")},
        "refresh token": session["tokens"]["refresh_token"],
        "access key id": creds.access_key_id,
        "secret access key": creds.secret_access_key,
        "session token": creds.session_token,
    }
    assert all(secrets.values())
    text = captured.text()
    assert len(captured.lines()) >= 4
    for name, secret in secrets.items():
        assert secret not in text, name
        if secret.count(".") == 2:  # a JWT: not even its claims part alone
            assert secret.split(".")[1] not in text, name


def test_a_line_logged_while_the_session_is_opened_still_has_the_request_id(
    devstack, redis_server, captured
):
    app = create_app(
        app_config(devstack, redis_server, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    )
    client = app.test_client()
    client.set_cookie("session", "A" * 43)  # a well-formed id: the store is asked, and is down
    response = client.get("/", headers={"X-Request-ID": "redis-down-1234"})
    assert response.status_code == 503
    [line] = [line for line in captured.lines() if line["message"] == "session store unreachable"]
    assert line["request_id"] == "redis-down-1234" and line["sub"] is None
    assert line["level"] == "ERROR" and "ConnectionError" in line["exception"]


def test_outside_a_request_the_fields_are_empty(captured):
    logging.getLogger("webapp.test").warning("plain %s", "words")
    [line] = captured.lines()
    assert line["message"] == "plain words" and line["logger"] == "webapp.test"
    assert line["request_id"] is None and line["sub"] is None


def test_a_traceback_stays_on_its_line(captured):
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        logging.getLogger("webapp.test").exception("failed")
    [line] = captured.lines()
    assert line["message"] == "failed" and "ValueError: first\nsecond" in line["exception"]


def test_configure_writes_json_to_stderr_and_keeps_wire_logs_quiet(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in a fresh process: nothing set up yet
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    loggers = [root, *(logging.getLogger(name) for name in logs.QUIET_BELOW_INFO)]
    levels = [logger.level for logger in loggers]
    try:
        logs.configure(logging.DEBUG)
        logging.getLogger("webapp.test").debug("hello")
        logging.getLogger("botocore.endpoint").debug("Sending http request: WebIdentityToken=…")
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)  # also empties the loggers' caches of enabled levels
    [line] = stream.getvalue().splitlines()
    assert json.loads(line)["message"] == "hello"


# The dev server's request lines never carry the authorization code or state.


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
