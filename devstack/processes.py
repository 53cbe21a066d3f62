"""Starting the local pieces as processes: a private Redis and the devstack itself."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int | None = None, *options: str) -> tuple[subprocess.Popen, str]:
    """A throwaway redis-server on loopback (nothing saved to disk); returns it once it answers.

    options are more redis-server arguments, e.g. "--maxmemory-policy", "allkeys-lru".
    """
    port = port or free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            tempfile.mkdtemp(prefix="portal-redis-"),
            *options,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError(f"redis-server did not start on port {port}")


def spawn(*args: str) -> tuple[subprocess.Popen, dict[str, str]]:
    """Start `python -m devstack ARGS` and return it once ready, with the settings it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    env: dict[str, str] = {}
    for line in proc.stdout:
        if line.startswith("# devstack ready"):
            # Keep draining its output so the stand-ins never block on a full pipe.
            threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
            return proc, env
        if "=" in line and not line.startswith("#"):
            key, _, value = line.strip().partition("=")
            env[key] = value
    proc.wait(10)
    raise RuntimeError(f"the devstack did not start (exit {proc.returncode}); are its ports free?")


def _drain(stream: Any) -> None:
    with stream:
        stream.read()
