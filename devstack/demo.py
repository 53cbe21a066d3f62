"""`python -m devstack.demo [--issuer-style oidc]`: Redis, the local IdP and AWS, and the app."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from dotenv import dotenv_values

from .processes import spawn, start_redis

ROOT = Path(__file__).resolve().parent.parent
APP_ADDRESS = os.environ.get("PORTAL_BIND", "127.0.0.1:5000")


def _read_dotenv(path: Path) -> dict[str, str]:
    """The settings of a .env file, read by python-dotenv (a missing file gives none)."""
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def _start_redis(procs: list[subprocess.Popen]) -> str:
    """REDIS_URL if set, else a private redis-server on a free port."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    if not shutil.which("redis-server"):
        sys.exit("Redis is needed: install it (apt-get install redis-server) or set REDIS_URL.")
    proc, url = start_redis()
    procs.append(proc)
    return url


def _start_devstack(procs: list[subprocess.Popen], args: list[str]) -> dict[str, str]:
    """`python -m devstack ARGS` on its default ports; returns the settings it printed."""
    try:
        proc, env = spawn(*args)
    except RuntimeError as exc:
        sys.exit(str(exc))
    procs.append(proc)
    return env


def main() -> int:
    """Start everything, print where to go, and stop everything on Ctrl-C."""
    procs: list[subprocess.Popen] = []
    # A plain SIGTERM would skip the clean-up below and leave the children running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        env = dict(os.environ)
        env["REDIS_URL"] = _start_redis(procs)
        # Arguments go to the devstack: `python -m devstack.demo --issuer-style oidc`.
        env.update(_start_devstack(procs, sys.argv[1:]))
        env.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
        env.update(_read_dotenv(ROOT / ".env"))
        # Like the Auth0 application's Back-Channel Logout URI: signing out at the IdP ends the
        # portal session too.
        requests.post(
            env["AUTH0_ISSUER"].rstrip("/") + "/_devstack/backchannel",
            json={"urls": [f"http://{APP_ADDRESS}/backchannel-logout"]},
            timeout=5,
        ).raise_for_status()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        procs.append(
            subprocess.Popen(
                [str(gunicorn), "-c", "deploy/gunicorn.conf.py", "--bind", APP_ADDRESS, "wsgi:app"],
                cwd=ROOT,
                env=env,
            )
        )
        print(
            f"\n  Portal: http://{APP_ADDRESS}/   sign in as alice / alice-password "
            "(admin), bob / bob-password (reader) or carol / carol-password (no role)\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
