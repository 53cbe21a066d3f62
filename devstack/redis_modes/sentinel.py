"""A primary and its replica watched by three Sentinels, and a failover on demand."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..processes import free_port
from .servers import MASTER, Servers, node, poll


@dataclass
class SentinelGroup:
    servers: Servers
    primary: int
    replica: int
    sentinels: list[int] = field(default_factory=list)

    @property
    def setting(self) -> str:
        """REDIS_SENTINELS for this group."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinels)

    def master_port(self) -> int:
        """The primary's port as the first Sentinel tells it."""
        return int(node(self.sentinels[0]).sentinel_get_master_addr_by_name(MASTER)[1])

    def replicate(self) -> None:
        """Wait until the replica has every write the primary acknowledged so far."""
        poll(lambda: node(self.primary).execute_command("WAIT", 1, 1000) >= 1, "replication")

    def kill_primary(self) -> float:
        """SIGKILL the primary, wait for the replica's promotion; return how long that took."""
        started = time.monotonic()
        self.servers.kill(self.primary)
        poll(lambda: self.master_port() == self.replica, "the replica's promotion", timeout=60)
        return time.monotonic() - started


@contextlib.contextmanager
def sentinel_group(directory: Path) -> Iterator[SentinelGroup]:
    """A primary and its replica watched by three Sentinels (quorum 2, down after 1 s)."""
    servers = Servers(directory)
    primary, replica = free_port(), free_port()
    group = SentinelGroup(servers, primary, replica, [free_port() for _ in range(3)])
    try:
        # No delay before a full sync: the replica is ready in a fraction of a second.
        servers.start(primary, "--repl-diskless-sync-delay", "0")
        servers.start(replica, "--replicaof", "127.0.0.1", str(primary))
        for port in group.sentinels:
            servers.start(
                port,
                f"dir {directory}",
                f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2",
                f"sentinel down-after-milliseconds {MASTER} 1000",
                f"sentinel failover-timeout {MASTER} 5000",
                sentinel=True,
            )
        poll(
            lambda: node(replica).info("replication")["master_link_status"] == "up",
            "the replica's first sync",
        )
        # A failover needs the Sentinels to know the replica and each other (hello messages).
        for port in group.sentinels:
            poll(
                lambda port=port: (
                    len(node(port).sentinel_sentinels(MASTER)) == 2
                    and len(node(port).sentinel_slaves(MASTER)) == 1
                ),
                f"Sentinel {port} meeting its peers and the replica",
            )
        yield group
    finally:
        servers.stop()
