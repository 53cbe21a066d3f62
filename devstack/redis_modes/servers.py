"""Starting and stopping local Redis servers and Sentinels, and waiting for them."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

MASTER = "portal"  # the name the Sentinels monitor the primary by
USER, PASSWORD = "portal", "portal-redis-password"
# What the portal needs of Redis: its own keys (the rate limiter's start with LIMITS:) and
# the commands of sessions, locks and scripts, not the administrative ones.
ACL = ["on", f">{PASSWORD}", "~portal:*", "~LIMITS:*", "+@all", "-@dangerous"]


def poll(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """check()'s first truthy answer (errors count as "not yet"), or RuntimeError naming what."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = check()
            if answer:
                return answer
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


class Servers:
    """The processes one setup started; all stopped together."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.procs: dict[int, subprocess.Popen] = {}

    def start(
        self, port: int, *args: str, sentinel: bool = False, tls: bool = False
    ) -> subprocess.Popen:
        """redis-server (or a Sentinel, args being its configuration lines) on 127.0.0.1:port,
        speaking only TLS there when asked, saving nothing, logging to a file."""
        ports = ["--port", "0", "--tls-port", str(port)] if tls else ["--port", str(port)]
        if sentinel:
            conf = self.directory / f"sentinel-{port}.conf"
            conf.write_text("".join(f"{line}\n" for line in args))
            binary = shutil.which("redis-sentinel")
            command = [binary, str(conf)] if binary else ["redis-server", str(conf), "--sentinel"]
            command += ports
        else:
            command = ["redis-server", *ports, "--save", "", "--appendonly", "no"]
            command += ["--dir", str(self.directory), *args]
        command += ["--bind", "127.0.0.1", "--logfile", str(self.directory / f"{port}.log")]
        self.procs[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        return self.procs[port]

    def wait(self, port: int, check: Callable[[], Any], what: str) -> None:
        """Poll check until it holds; fail at once, with its log, if the server has exited."""

        def alive_and_checked() -> Any:
            if self.procs[port].poll() is not None:
                log = (self.directory / f"{port}.log").read_text(errors="replace")
                raise RuntimeError(f"{what} on port {port} exited:\n{log[-2000:]}")
            return check()

        poll(alive_and_checked, f"{what} on port {port}")

    def kill(self, port: int) -> None:
        """SIGKILL one server: no goodbye to its peers or clients."""
        proc = self.procs.pop(port)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        """Stop every server still running."""
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.procs.clear()


def node(port: int, **kwargs: Any) -> redis.Redis:
    """A plain client on one local server."""
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, **kwargs)
