"""A Redis Cluster of a few primaries, created with redis-cli."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..processes import free_port
from .servers import Servers, node, poll


@dataclass
class Cluster:
    servers: Servers
    ports: list[int]

    @property
    def url(self) -> str:
        """REDIS_URL naming one node (the client finds the others)."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def keys_by_node(self) -> dict[int, list[bytes]]:
        """Every key, by the node that holds it."""
        return {port: sorted(node(port).keys("*")) for port in self.ports}


@contextlib.contextmanager
def cluster(directory: Path, size: int = 3) -> Iterator[Cluster]:
    """size primaries (no replicas) sharing the 16384 slots."""
    servers = Servers(directory)
    setup = Cluster(servers, [free_port() for _ in range(size)])
    try:
        for port in setup.ports:
            servers.start(
                port,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(directory / f"nodes-{port}.conf"),
                # The bus port defaults to port + 10000, which may be taken or out of range.
                "--cluster-port",
                str(free_port()),
            )
        for port in setup.ports:
            poll(node(port).ping, f"cluster node {port}")
        subprocess.run(
            ["redis-cli", "--cluster", "create"]
            + [f"127.0.0.1:{port}" for port in setup.ports]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in setup.ports:
            poll(
                lambda port=port: (
                    node(port).cluster("info")["cluster_state"] == "ok"
                    and len(node(port).cluster("nodes")) == size
                ),
                f"cluster node {port} seeing a whole cluster",
            )
        yield setup
    finally:
        servers.stop()
