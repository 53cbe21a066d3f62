"""Redis in each mode the portal supports, on loopback, for tests and measurements.

Each context manager starts its servers on free ports in a private directory, waits until they
are ready (polling, with generous deadlines) and stops them all on the way out:
``tls_redis`` (TLS only, an ACL user with a password, a throwaway CA), ``sentinel_group`` (a
primary, a replica and three Sentinels) and ``cluster`` (three primaries).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .processes import free_port

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


# --- TLS ------------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(directory: Path, name: str, cert: x509.Certificate, key: Any = None) -> Path:
    path = directory / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        (directory / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return path


def make_ca(directory: Path, name: str) -> tuple[Path, x509.Certificate, Any]:
    """A throwaway certificate authority: its PEM file, certificate and key."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pem(directory, name.replace(" ", "-"), cert), cert, key


def issue_server_cert(directory: Path, ca: x509.Certificate, ca_key: Any) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1 signed by the CA: the certificate and key files."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("redis on loopback"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    path = _pem(directory, "server", cert, key)
    return path, directory / "server.key"


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


# --- Sentinel -------------------------------------------------------------------------------


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


# --- Cluster --------------------------------------------------------------------------------


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
