"""What a benchmark runs against: a private Redis, the devstack, the app, signed-in clients."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from devstack.processes import free_port, spawn, start_redis
from devstack.testing import SECRET_KEY, AuthActions, Devstack

ROOT = Path(__file__).resolve().parent.parent


class Stack:
    """Context manager: start Redis and `python -m devstack` on free ports, stop them after."""

    def __enter__(self) -> Stack:
        if not shutil.which("redis-server"):
            sys.exit("bench needs redis-server (apt-get install redis-server)")
        self.procs: list[subprocess.Popen] = []
        proc, self.redis_url = start_redis()
        self.procs.append(proc)
        proc, env = spawn("--idp-port", str(free_port()), "--aws-port", str(free_port()))
        self.procs.append(proc)
        self.devstack = Devstack(env["AUTH0_ISSUER"], env["AWS_ENDPOINT_URL"], env)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(10)

    def app(self, **overrides: Any) -> Any:
        """A fresh app on this stack (the import stays here: bench must not load it at import)."""
        from webapp import create_app

        config = {"SECRET_KEY": SECRET_KEY, "REDIS_URL": self.redis_url, **self.devstack.env}
        return create_app({**config, **overrides})

    def signed_in(self, app: Any, username: str) -> Any:
        """A test client of app, signed in as username through the IdP's form."""
        client = app.test_client()
        response = AuthActions(client, self.devstack).login(username)
        assert response.status_code == 302, response.status_code
        return client

    def sts_calls(self) -> int:
        """AssumeRoleWithWebIdentity calls the local AWS answered successfully so far."""
        stats = requests.get(f"{self.devstack.aws_url}/_devstack/stats", timeout=5).json()
        return stats["assume_role_with_web_identity"]["ok"]
