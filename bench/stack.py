"""What the benchmarks run against: a private Redis, the devstack, gunicorn with the shipped
config, and nginx in front (deploy/nginx.conf, rendered for this machine), each its own process."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from devstack.deploying import gunicorn, nginx_in_front, portal_env
from devstack.processes import free_port, spawn, start_redis
from devstack.testing import Devstack, RedisServer, csrf_token, fill_login

WORKERS = 4  # the demo's and deploy's gunicorn: 4 gthread workers (deploy/gunicorn.conf.py)


class Stack(contextlib.ExitStack):
    """Start everything on free ports; stop it all when the block ends."""

    def __enter__(self) -> Stack:
        super().__enter__()
        for tool in ("redis-server", "wrk", "nginx"):
            if not shutil.which(tool) and not Path("/usr/sbin", tool).exists():
                sys.exit(f"bench needs {tool}: run `bash .ci/setup.sh bench` (make bench does)")
        self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        proc, url = start_redis()
        self.callback(_stop, proc)
        self.redis = RedisServer(url, proc)
        proc, env = spawn("--idp-port", str(free_port()), "--aws-port", str(free_port()))
        self.callback(_stop, proc)
        self.devstack = Devstack(env["AUTH0_ISSUER"], env["AWS_ENDPOINT_URL"], env)
        self.regions = env.get("AWS_REGIONS", env["AWS_REGION"]).split(",")
        self.port = free_port()
        environment = {
            **portal_env(self.devstack, self.redis),
            "WEB_CONCURRENCY": str(WORKERS),
            # One client signs in hundreds of sessions here; the limit is for people.
            "RATE_LIMIT_SIGN_IN": "100000 per minute",
        }
        self.gunicorn = self.enter_context(gunicorn(self.tmp, self.port, environment))
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while len(self.worker_pids()) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(WORKERS * 4):
            self.get("/healthz")
        self.rss_at_start = {pid: rss_mb(pid) for pid in self.worker_pids()}
        return self

    def behind_nginx(self) -> dict[str, Any]:
        """nginx in front of this gunicorn (until the stack stops): its URLs, ports and CA."""
        return self.enter_context(nginx_in_front(self.tmp, self.port, server_names=["127.0.0.1"]))

    def sign_in(self, username: str = "bob") -> str:
        """A new portal session for username through the IdP's form; its session id (cookie
        value). The first page view fetches its AWS credentials (one STS call)."""
        browser = requests.Session()
        login = browser.get(self.url + "/login", allow_redirects=False, timeout=30)
        callback = fill_login(requests.Session(), login.headers["Location"], username)
        answer = browser.get(self.url + callback, allow_redirects=False, timeout=30)
        assert answer.status_code in (302, 303), answer.status_code
        return browser.cookies["session"]

    def sign_in_many(self, count: int, username: str = "bob") -> list[str]:
        """count sessions, signed in eight at a time, each with its credentials fetched."""

        def one(_: int) -> str:
            sid = self.sign_in(username)
            self.get("/", sid).raise_for_status()
            return sid

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(count)))

    def get(self, path: str, sid: str | None = None) -> requests.Response:
        """One GET to gunicorn, as the session sid (anonymous without)."""
        cookies = {"session": sid} if sid else {}
        return requests.get(self.url + path, cookies=cookies, allow_redirects=False, timeout=30)

    def refresh_listings(self, sid: str) -> None:
        """Press the overview's Refresh: the next overview lists every service again."""
        page = self.get("/resources", sid).text
        answer = requests.post(
            self.url + "/resources/refresh",
            cookies={"session": sid},
            data={"csrf_token": csrf_token(page)},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code in (302, 303), answer.status_code

    def stats(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The IdP's and the local AWS's counters."""
        return self.devstack.idp("GET", "_devstack/stats").json(), self.devstack.aws(
            "GET", "_devstack/stats"
        ).json()

    def worker_pids(self) -> list[int]:
        """gunicorn's workers: the master's children."""
        children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children")
        return [int(pid) for pid in children.read_text().split()]


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
