"""The shipped deployment: gunicorn running wsgi:app behind deploy/nginx.conf, over real TLS."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devstack.deploying import (
    GUNICORN,
    HOST,
    get,
    gunicorn,
    nginx_in_front,
    portal_env,
)
from devstack.processes import free_port
from devstack.testing import ROOT, SECRET_KEY, serve, wait_for

pytestmark = pytest.mark.deploy


@pytest.fixture
def deployed(request, tmp_path, devstack, redis_server):
    """gunicorn + nginx, as deploy/ describes them (an EC certificate unless the test's parameter
    says "rsa"); yields the base URLs, the ports, the certificate to trust and the log files."""
    app_port = free_port()
    with (
        gunicorn(tmp_path, app_port, portal_env(devstack, redis_server, tmp_path / "metrics")),
        nginx_in_front(tmp_path, app_port, getattr(request, "param", "ec")) as front,
    ):
        yield {
            **front,
            "app": f"http://127.0.0.1:{app_port}",
            "logs": [tmp_path / name for name in ("access.log", "gunicorn.out", "gunicorn.err")],
        }


def logs_once_written(deployed: dict, needle: str, timeout: float = 10.0) -> list[str]:
    """nginx's access log, gunicorn's access log and gunicorn's stderr, once both access logs
    name `needle` (each server writes its line just after the answer has gone out)."""
    deadline = time.monotonic() + timeout
    while True:
        texts = [path.read_text(errors="replace") for path in deployed["logs"]]
        if all(needle in text for text in texts[:2]) or time.monotonic() > deadline:
            return texts
        time.sleep(0.1)


def test_login_behind_nginx_uses_the_public_https_origin(deployed, devstack):
    response = get(deployed, "/login")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(devstack.issuer + "authorize?")
    port = deployed["https_port"]
    assert f"redirect_uri=https%3A%2F%2F{HOST}%3A{port}%2Fcallback" in response.headers["Location"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_static_files_come_from_nginx(deployed):
    response = get(deployed, "/static/portal.css")
    assert response.status_code == 200 and "body" in response.text
    assert response.headers["Cache-Control"] == "max-age=3600"  # nginx's `expires 1h`


def test_plain_http_is_redirected_to_the_configured_https_name(deployed):
    response = requests.get(
        deployed["http"] + "/resources?size=5",
        headers={"Host": HOST},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{HOST}/resources?size=5"


# The app builds redirect_uri, returnTo and the console issuer from Host: no other name reaches it.
@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1", f"evil.{HOST}"])
def test_plain_http_for_another_name_gets_no_answer(deployed, host):
    with pytest.raises(requests.ConnectionError):
        requests.get(
            deployed["http"] + "/login", headers={"Host": host}, allow_redirects=False, timeout=10
        )


@pytest.mark.parametrize("server_name", ["evil.example", "127.0.0.1"])  # an IP address: no SNI
def test_tls_for_another_name_is_refused_at_the_handshake(deployed, server_name):
    # A client that takes any certificate: the refusal must come from nginx.
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        handshake(deployed, server_name=server_name, verify=False).close()
    handshake(deployed, verify=False).close()  # while the portal's own name works


def test_another_host_over_the_portals_tls_gets_no_answer(deployed):
    with pytest.raises(requests.ConnectionError):
        get(deployed, "/login", host="evil.example", sni=HOST)
    assert get(deployed, "/login").status_code == 302


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/readyz", "/readyz?verbose=1", "//readyz", "/%72eadyz", "/healthz/../readyz"],
)
def test_probes_are_not_served_on_the_public_listener(deployed, path):
    response = get(deployed, path)
    assert response.status_code in (403, 404)
    assert "status" not in response.text and "redis" not in response.text


@pytest.mark.parametrize(
    "path", ["/metrics", "/metrics?format=x", "//metrics", "/%6detrics", "/static/../metrics"]
)
def test_metrics_are_not_served_on_the_public_listener(deployed, path):
    # The test's client is 127.0.0.1, an address the app would serve: the 404 must be nginx's.
    response = get(deployed, path)
    assert response.status_code == 404
    assert "portal_" not in response.text


def test_metrics_answer_on_gunicorns_bind(deployed):
    assert get(deployed, "/login").status_code == 302
    response = requests.get(deployed["app"] + "/metrics", timeout=10)
    assert response.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert samples[("portal_responses_total", (("endpoint", "auth.login"), ("status", "302")))]
    assert samples[("portal_live_sessions", ())] == 0


def test_probes_answer_on_gunicorns_bind(deployed):
    assert requests.get(deployed["app"] + "/healthz", timeout=10).json() == {"status": "ok"}
    ready = requests.get(deployed["app"] + "/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


# /callback?code=…&state=… holds a one-time authorization code: no log may keep it, nor may a
# Referer that carries such a URL onward.
def test_callback_code_and_state_stay_out_of_the_logs(deployed):
    get(deployed, "/callback?code=SECRETCODE&state=SECRETSTATE")
    get(deployed, "/login", headers={"Referer": f"https://{HOST}/callback?code=SECRETREFERER"})
    nginx_log, gunicorn_log, gunicorn_err = logs_once_written(deployed, "/login")
    assert "GET /callback " in nginx_log and "GET /callback " in gunicorn_log
    for text in (nginx_log, gunicorn_log, gunicorn_err):
        assert "SECRET" not in text


def test_one_request_id_in_nginx_gunicorn_the_app_and_the_page(deployed):
    # nginx gives each request its own id; one a client sends is not passed on.
    response = get(
        deployed, "/callback?error=access_denied&state=nope", headers={"X-Request-ID": "mine-1234"}
    )
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
    assert f"<code>{request_id}</code>" in response.text  # the error page, for the user to quote
    nginx_log, gunicorn_log, gunicorn_err = logs_once_written(deployed, request_id)
    assert [line for line in nginx_log.splitlines() if line.endswith(f" {request_id}")]
    assert [line for line in gunicorn_log.splitlines() if line.endswith(f" {request_id}")]
    app_lines = [json.loads(line) for line in gunicorn_err.splitlines() if line.startswith("{")]
    [line] = [line for line in app_lines if line["request_id"] == request_id]
    assert line["logger"] == "webapp.auth.views" and "error=access_denied" in line["message"]
    assert "mine-1234" not in nginx_log + gunicorn_log + gunicorn_err


def policies(response: requests.Response) -> list[dict[str, list[str]]]:
    """Each Content-Security-Policy header of an answer, as directive -> sources."""
    return [
        {
            name: sources
            for name, *sources in (part.split() for part in header.split(";") if part.strip())
        }
        for header in response.raw.headers.getlist("Content-Security-Policy")
    ]


# Where the app sends no policy: static files from disk and nginx's own answers.
@pytest.mark.parametrize("path", ["/static/portal.css", "/readyz"])
def test_nginx_adds_one_strict_policy_where_the_app_sends_none(deployed, path):
    [policy] = policies(get(deployed, path))
    assert policy["default-src"] == ["'self'"]
    assert policy["base-uri"] == policy["object-src"] == policy["frame-ancestors"] == ["'none'"]
    form_action = policy["form-action"]
    assert "'self'" in form_action
    # Only named https origins: no scheme-wide "https:", no "*", nothing in clear text.
    assert all(s == "'self'" or s.startswith("https://") for s in form_action), form_action


@pytest.mark.parametrize("path", ["/", "/no/such/page"])
def test_app_pages_carry_only_the_apps_policy(deployed, devstack, path):
    [policy] = policies(get(deployed, path))
    assert devstack.issuer.rstrip("/") in policy["form-action"]  # the app's, naming its IdP


SECURITY_HEADERS = (
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
)


@pytest.mark.parametrize("path", ["/", "/no/such/page", "/static/portal.css", "/readyz"])
def test_every_security_header_comes_once_whoever_sets_it(deployed, path):
    headers = get(deployed, path).raw.headers
    for name in SECURITY_HEADERS:
        assert len(headers.getlist(name)) == 1, (name, headers.getlist(name))


def test_the_apps_own_policy_is_the_only_one(tmp_path):
    app_policy = "default-src 'self'; form-action 'self' https://idp.example"

    def app(environ, start_response):
        start_response(
            "200 OK", [("Content-Type", "text/html"), ("Content-Security-Policy", app_policy)]
        )
        return [b"<p>hello</p>"]

    with serve(app) as url, nginx_in_front(tmp_path, int(url.rsplit(":", 1)[1])) as front:
        response = get(front, "/")
    assert response.status_code == 200
    assert response.raw.headers.getlist("Content-Security-Policy") == [app_policy]


def test_error_pages_through_the_proxy(deployed):
    missing = get(deployed, "/no/such/page")
    assert missing.status_code == 404 and "Page not found" in missing.text
    assert "Traceback" not in missing.text


def test_gunicorn_refuses_to_start_on_bad_config(devstack):
    env = {"PATH": os.environ["PATH"], **devstack.env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    proc = subprocess.run(
        [
            GUNICORN,
            "-c",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{free_port()}",
            "--workers",
            "1",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "SECRET_KEY is required" in proc.stderr
    assert "Traceback" not in proc.stderr


def handshake(
    deployed: dict, suite: str | None = None, server_name: str = HOST, verify: bool = True
) -> ssl.SSLSocket:
    """A finished TLS handshake with nginx (TLS 1.2 offering only `suite`, when given); the caller
    closes it. Raises ssl.SSLError when refused (by nginx, or by us when `verify` is on)."""
    context = ssl.create_default_context(cafile=deployed["ca"])
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if suite:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(suite)
    sock = socket.create_connection(("127.0.0.1", deployed["https_port"]), timeout=10)
    try:
        return context.wrap_socket(sock, server_hostname=server_name)
    except BaseException:
        sock.close()
        raise


def accepts(deployed: dict, suite: str) -> bool:
    """Whether nginx completes a TLS 1.2 handshake when the client offers only this suite."""
    try:
        handshake(deployed, suite).close()
    except ssl.SSLError:
        return False
    return True


# On TLS 1.2, Mozilla's "intermediate" profile keeps only forward-secret AEAD suites: no RSA key
# exchange (AES128-SHA, AES256-SHA256, AES128-GCM-SHA256) and no CBC/SHA-1 or SHA-2 MAC suites.
WEAK_SUITES = {
    "rsa": [
        "AES128-SHA",
        "AES256-SHA256",
        "AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-RSA-AES256-SHA384",
    ],
    "ec": ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"],
}
STRONG_SUITES = {
    "rsa": ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"],
    "ec": ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"],
}


@pytest.mark.parametrize("deployed", ["rsa", "ec"], indirect=True)
def test_tls12_takes_only_forward_secret_aead_suites(deployed, request):
    kind = request.node.callspec.params["deployed"]
    assert [suite for suite in WEAK_SUITES[kind] if accepts(deployed, suite)] == []
    assert [suite for suite in STRONG_SUITES[kind] if not accepts(deployed, suite)] == []


@pytest.mark.parametrize("deployed", ["rsa"], indirect=True)
def test_tls13_works_and_tls12_sessions_get_no_ticket(deployed):
    with handshake(deployed) as tls:
        assert tls.version() == "TLSv1.3"
    # A session ticket is sealed with a key nginx keeps until restarted: anyone who later steals
    # that key could decrypt every recorded session, which would undo forward secrecy.
    with handshake(deployed, "ECDHE-RSA-AES128-GCM-SHA256") as tls:
        assert tls.version() == "TLSv1.2"
        assert tls.session is not None and not tls.session.has_ticket


def scrape_count(url: str, endpoint: str) -> float:
    """The request count for one endpoint in a scrape of url, added up over every worker."""
    text = requests.get(url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            if name == "portal_request_duration_seconds_count" and labels == {"endpoint": endpoint}:
                return sample.value
    return 0.0


def test_the_workers_metrics_add_up(tmp_path, devstack, redis_server):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"an earlier run's")
    port = free_port()
    env = {
        **os.environ,
        **devstack.env,
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": SECRET_KEY,
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
    }
    command = [GUNICORN, "-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    with (tmp_path / "gunicorn.err").open("wb") as err:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(url + "/metrics")
            assert not (directory / "counter_999999.db").exists()

            def workers_with_files() -> set[int]:
                pids = {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob("*.db")}
                return pids - {proc.pid}  # the master's own, written while it loaded the app

            sent = 0
            with ThreadPoolExecutor(8) as pool:
                while len(workers_with_files()) < 2 and sent < 800:
                    list(pool.map(lambda _: requests.get(url + "/healthz", timeout=10), range(8)))
                    sent += 8
            workers = workers_with_files()
            assert len(workers) == 2, "one worker answered every request"
            # Whichever worker answers a scrape, it counts what both served.
            assert [scrape_count(url, "pages.healthz") for _ in range(6)] == [sent] * 6

            os.kill(
                min(workers), signal.SIGKILL
            )  # gunicorn's child_exit hook runs, a new one starts
            deadline = time.monotonic() + 30
            while len(workers_with_files()) < 3 and time.monotonic() < deadline:
                requests.get(url + "/healthz", timeout=10)
                sent += 1
            assert len(workers_with_files()) == 3, "no replacement worker served a request"
            # A dead worker's counts still count.
            assert [scrape_count(url, "pages.healthz") for _ in range(6)] == [sent] * 6
        finally:
            proc.terminate()
            proc.wait(10)
    assert "Traceback" not in (tmp_path / "gunicorn.err").read_text()


def unit_entries(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit's sections and their keys, each with every value it is given (systemd
    allows a key many times, e.g. Environment=; configparser would keep only the last)."""
    sections: dict[str, dict[str, list[str]]] = {}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = sections.setdefault(line[1:-1], {})
            continue
        assert section is not None and "=" in line, f"not a unit line: {raw!r}"
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return sections


UNIT = ROOT / "deploy" / "aws-portal.service"


def test_the_systemd_unit_runs_gunicorn_with_the_shipped_config():
    unit = unit_entries(UNIT.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    service = {key: values[-1] for key, values in unit["Service"].items()}
    command = service["ExecStart"].split()
    assert command[0].endswith("/.venv/bin/gunicorn") and command[0].startswith("/")
    assert command[1:] == ["-c", "deploy/gunicorn.conf.py", "wsgi:app"]
    # nginx serves /static from the same checkout the service runs.
    assert (
        f"alias {service['WorkingDirectory']}/static/;" in (ROOT / "deploy/nginx.conf").read_text()
    )
    assert service["EnvironmentFile"].startswith("/")
    assert service["User"] not in ("", "root") and service["Type"] == "notify"
    assert service["RuntimeDirectory"] == "aws-portal"
    assert "PROMETHEUS_MULTIPROC_DIR=%t/aws-portal" in unit["Service"]["Environment"]
    assert service["Restart"] == "on-failure"
    hardening = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes"}
    assert {key: service.get(key) for key in hardening} == hardening
    assert service["CapabilityBoundingSet"] == ""
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_systemd_accepts_the_unit(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    text = UNIT.read_text()
    for old, new in {
        "/srv/aws-portal/.venv/bin/gunicorn": GUNICORN,  # verify checks that it exists
        "WorkingDirectory=/srv/aws-portal": f"WorkingDirectory={ROOT}",
    }.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "aws-portal.service"
    path.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    # An unknown key or a bad value is only a warning (exit status 0): none may mention the unit.
    assert result.returncode == 0 and "aws-portal.service" not in result.stderr, result.stderr


def test_the_prometheus_example_scrapes_gunicorns_bind():
    text = (ROOT / "deploy" / "prometheus.yml").read_text()
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "\t" not in text  # YAML indents with spaces only
    assert all((len(line) - len(line.lstrip())) % 2 == 0 for line in lines)
    entries = [line.strip() for line in lines]
    assert "- job_name: aws-portal" in entries and "metrics_path: /metrics" in entries
    assert "scheme: http" in entries  # gunicorn's bind speaks plain HTTP
    start = entries.index("- targets:")
    targets = [entry.removeprefix("- ") for entry in entries[start + 1 :]]
    default_bind = re.search(
        r'PORTAL_BIND", "([^"]+)"', (ROOT / "deploy/gunicorn.conf.py").read_text()
    ).group(1)
    assert targets == [default_bind]
    assert f"server {default_bind};" in (ROOT / "deploy/nginx.conf").read_text()
