"""Running the shipped deployment for tests and benchmarks: gunicorn with deploy/gunicorn.conf.py
behind deploy/nginx.conf rendered for this machine, over real TLS with a throwaway certificate."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from requests.adapters import HTTPAdapter

from .processes import free_port
from .testing import ROOT, SECRET_KEY, wait_for

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
HOST = "portal.example.com"  # deploy/nginx.conf's server name, kept as is in the rendered copy


def self_signed(directory: Path, kind: str = "ec") -> tuple[Path, Path]:
    """A throwaway certificate for HOST and 127.0.0.1 with an "ec" (P-256) or "rsa" key."""
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def render_nginx(
    tmp: Path,
    app_port: int | list[int],
    http_port: int,
    https_port: int,
    kind: str = "ec",
    server_names: list[str] | None = None,
) -> Path:
    """deploy/nginx.conf with only ports and paths changed for this machine (and one upstream
    `server` line per app port, as the file's comment says to list several instances).
    server_names adds names to the portal's server (wrk, say, sends its URL's host as TLS SNI)."""
    cert, key = self_signed(tmp, kind)
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    if server_names:
        names = " ".join([HOST, *server_names])
        text, count = re.subn(rf"server_name {re.escape(HOST)};", f"server_name {names};", text)
        assert count, "server_name"
    for port, local in ((80, http_port), (443, https_port)):
        text, count = re.subn(rf"\blisten {port}\b", f"listen 127.0.0.1:{local}", text)
        assert count, f"listen {port}"
    ports = app_port if isinstance(app_port, list) else [app_port]
    upstreams = " ".join(f"server 127.0.0.1:{port};" for port in ports)
    for old, new in {
        "server 127.0.0.1:5000;": upstreams,
        "/run/nginx-aws-portal.pid": str(tmp / "nginx.pid"),
        "/var/log/nginx/aws-portal.error.log": str(tmp / "error.log"),
        "/var/log/nginx/aws-portal.access.log": str(tmp / "access.log"),
        "/etc/ssl/aws-portal/fullchain.pem": str(cert),
        "/etc/ssl/aws-portal/privkey.pem": str(key),
        "/srv/aws-portal/static/": f"{ROOT}/static/",
    }.items():
        assert old in text, old
        text = text.replace(old, new)
    if os.geteuid() == 0:
        # nginx started by root drops its workers to `nobody`, who cannot read a checkout or a
        # temp folder that only root may enter: keep this test's workers as the caller.
        text = "user root;\n" + text
    path = tmp / "nginx.conf"
    path.write_text(text)
    return path


@contextlib.contextmanager
def nginx_in_front(
    tmp: Path, app_port: int | list[int], kind: str = "ec", server_names: list[str] | None = None
) -> Iterator[dict]:
    """deploy/nginx.conf in front of whatever listens on app_port (or each of several ports);
    yields its URLs and ports."""
    if not shutil.which("nginx"):
        raise RuntimeError(
            "nginx is not installed: apt-get install nginx-light (make test does this)"
        )
    http_port, https_port = free_port(), free_port()
    config = render_nginx(tmp, app_port, http_port, https_port, kind, server_names)
    proc = subprocess.Popen(
        ["nginx", "-p", str(tmp), "-c", str(config), "-g", "daemon off;"],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(http_port)
        wait_for_port(https_port)
        yield {
            "https": f"https://127.0.0.1:{https_port}",
            "http": f"http://127.0.0.1:{http_port}",
            "https_port": https_port,
            "ca": str(tmp / "cert.pem"),
        }
    finally:
        proc.terminate()
        proc.wait(10)


def portal_env(devstack, redis_server, metrics_dir: Path | None = None) -> dict[str, str]:
    """The environment of a deployed instance: the devstack, the private Redis, behind nginx."""
    env = {
        **os.environ,
        **devstack.env,
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": SECRET_KEY,
        "PROXY_FIX": "1",
        "WEB_CONCURRENCY": "1",
    }
    if metrics_dir is not None:  # gunicorn's workers add up their metrics there
        metrics_dir.mkdir(exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return env


@contextlib.contextmanager
def gunicorn(
    directory: Path, port: int, env: dict[str, str], name: str = "gunicorn"
) -> Iterator[subprocess.Popen]:
    """deploy/gunicorn.conf.py serving wsgi:app on port, until the block ends; its access log
    (stdout) goes to directory/NAME.out, its own and the app's messages to NAME.err."""
    with (
        (directory / f"{name}.out").open("wb") as out,
        (directory / f"{name}.err").open("wb") as err,
    ):
        proc = subprocess.Popen(
            [GUNICORN, "-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz")
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
            proc.wait(30)


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Poll until something accepts TCP connections on 127.0.0.1:port, or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


class NamedHost(HTTPAdapter):
    """Connects where the URL says but sends `name` as TLS SNI and checks the certificate for it,
    as a browser does for a name that resolves to this machine."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        """The usual pool, with the SNI name set."""
        super().init_poolmanager(*args, server_hostname=self.name, **kwargs)


def browser(deployed: dict, host: str = HOST, sni: str | None = None) -> requests.Session:
    """A cookie-keeping client that speaks TLS to nginx for `host` (Host header, and SNI unless
    `sni` says otherwise), trusting only the throwaway certificate."""
    session = requests.Session()
    session.mount("https://", NamedHost(sni or host))
    session.headers["Host"] = host
    session.verify = deployed["ca"]
    session.trust_env = False  # else REQUESTS_CA_BUNDLE, when set, overrides `verify`
    return session


def get(
    deployed: dict, path: str, host: str = HOST, sni: str | None = None, **kwargs
) -> requests.Response:
    """One GET over TLS for `host`, without following redirects."""
    with browser(deployed, host, sni) as session:
        return session.get(deployed["https"] + path, allow_redirects=False, timeout=10, **kwargs)
