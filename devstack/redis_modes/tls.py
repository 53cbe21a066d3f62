"""Redis speaking only TLS, with ACL users, and optionally a TLS Sentinel watching it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from ..processes import free_port
from .certs import issue_server_cert, make_ca
from .servers import ACL, MASTER, PASSWORD, USER, Servers, node


@dataclass
class TlsRedis:
    port: int
    ca: Path  # the CA that signed the servers' certificate
    other_ca: Path  # a CA that did not
    sentinel: int | None = None  # a TLS Sentinel watching the server, when asked for

    def url(self, user: str = USER, password: str = PASSWORD) -> str:
        """The rediss:// URL with an ACL user and password."""
        return f"rediss://{user}:{password}@127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A client as the portal's user, trusting the right CA."""
        return redis.Redis.from_url(self.url(), ssl_ca_certs=str(self.ca), socket_timeout=5)


SENTINEL_PASSWORD = "sentinel-password"  # the Sentinel's own (requirepass)
# What a Sentinel needs of the server it watches (Redis's documentation, "Sentinel and ACL").
SENTINEL_ACL = "allchannels +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish "
SENTINEL_ACL += "+info +client|setname +client|kill +script|kill"


@contextlib.contextmanager
def tls_redis(directory: Path, sentinel: bool = False) -> Iterator[TlsRedis]:
    """redis-server speaking only TLS (no plain port), clients authenticated by ACL password;
    with sentinel, also one TLS-only Sentinel (with a password of its own) watching it."""
    ca, ca_cert, ca_key = make_ca(directory, "portal test CA")
    other_ca, _, _ = make_ca(directory, "some other CA")
    cert, key = issue_server_cert(directory, ca_cert, ca_key)
    tls = {
        "tls-cert-file": cert,
        "tls-key-file": key,
        "tls-ca-cert-file": ca,
        "tls-auth-clients": "no",
        "tls-replication": "yes",
    }
    servers, setup = Servers(directory), TlsRedis(free_port(), ca, other_ca)
    acl = directory / "users.acl"
    acl.write_text(
        f"user default off\nuser {USER} {' '.join(ACL)}\n"
        f"user sentinel on >{SENTINEL_PASSWORD} {SENTINEL_ACL}\n"
    )
    options = [arg for name, value in tls.items() for arg in (f"--{name}", str(value))]
    servers.start(setup.port, "--aclfile", str(acl), *options, tls=True)
    try:
        servers.wait(setup.port, setup.client().ping, "TLS redis-server")
        if sentinel:
            setup.sentinel = free_port()
            servers.start(
                setup.sentinel,
                f"dir {directory}",
                *(f"{name} {value}" for name, value in tls.items()),
                f"requirepass {SENTINEL_PASSWORD}",
                f"sentinel monitor {MASTER} 127.0.0.1 {setup.port} 1",
                f"sentinel auth-user {MASTER} sentinel",
                f"sentinel auth-pass {MASTER} {SENTINEL_PASSWORD}",
                sentinel=True,
                tls=True,
            )
            watcher = node(
                setup.sentinel, ssl=True, ssl_ca_certs=str(ca), password=SENTINEL_PASSWORD
            )
            servers.wait(
                setup.sentinel,
                lambda: watcher.sentinel_master(MASTER)["flags"] == "master",
                "TLS Sentinel",
            )
        yield setup
    finally:
        servers.stop()
