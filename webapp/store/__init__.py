"""The one owner of Redis: the client, sealing at rest, and the key layout.

Every value is sealed JSON (AES-GCM under a key derived from SECRET_KEY, bound to its key name).
Key names never carry a bearer secret: a session is named by its *handle*, a one-way hash of the
cookie's session id, so a copy of Redis (keys, values, a MONITOR capture) without SECRET_KEY
signs nobody in and opens no token. Every key of one session shares the hash tag ``{handle}``,
so multi-key operations stay in one cluster slot.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app
from redis.cluster import RedisCluster
from redis.lock import Lock

from .connect import Client, connect

PREFIX = "portal:"
# What is kept beside a session under its handle; all of it ends with the session.
SESSION_PARTS = ("session", "aws", "roles", "listing", "entry")


class Cipher:
    """AES-GCM sealing under SECRET_KEY; old keys (SECRET_KEY_FALLBACKS) still open."""

    _VERSION = b"\x01"

    def __init__(self, secret_key: str, fallbacks: Sequence[str] = ()) -> None:
        self._aeads = [AESGCM(_derive(k)) for k in (secret_key, *fallbacks)]

    def seal(self, plaintext: bytes, bound_to: str) -> bytes:
        """Encrypt and authenticate plaintext for one key name, with the current key."""
        nonce = os.urandom(12)
        return self._VERSION + nonce + self._aeads[0].encrypt(nonce, plaintext, bound_to.encode())

    def open(self, blob: bytes, bound_to: str) -> bytes | None:
        """The plaintext, or None for anything not sealed for this key name by a known key."""
        if len(blob) < 29 or blob[:1] != self._VERSION:
            return None
        for aead in self._aeads:
            try:
                return aead.decrypt(blob[1:13], blob[13:], bound_to.encode())
            except InvalidTag:
                continue
        return None


def _derive(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"aws-portal/session/v1")
    return hkdf.derive(secret_key.encode())


def get_handle(sid: str) -> str:
    """The public name of a session: a one-way hash of its id (the cookie value)."""
    return hashlib.sha256(b"aws-portal/session-id|" + sid.encode()).hexdigest()[:32]


def session_key(handle: str, part: str = "session") -> str:
    """The key of one part of a session (session, aws, roles, listing, entry, lock:…)."""
    return f"{PREFIX}{{{handle}}}:{part}"


def global_key(*parts: str) -> str:
    """The key of a structure shared by all sessions (index, audit stream, …)."""
    return PREFIX + ":".join(parts)


class Store:
    """Sealed JSON values with TTLs, per-session key sets and locks, on one Redis client."""

    def __init__(self, client: Client, cipher: Cipher) -> None:
        self.client = client
        self.cipher = cipher

    def seal(self, value: Any, key: str) -> bytes:
        """value as sealed JSON bound to key."""
        return self.cipher.seal(json.dumps(value).encode(), key)

    def unseal(self, blob: bytes | None, key: str) -> Any | None:
        """The JSON value sealed for key, or None when absent or unreadable."""
        plaintext = self.cipher.open(blob, key) if blob else None
        if plaintext is None:
            return None
        try:
            return json.loads(plaintext)
        except ValueError:
            return None

    def get(self, key: str) -> Any | None:
        """The sealed JSON value at key, or None."""
        return self.unseal(_raw(self.client.get(key)), key)

    def get_many(self, keys: Sequence[str]) -> list[Any | None]:
        """Several sealed values: one round trip, or one per node holding them (Cluster)."""
        if not keys:
            blobs: list[Any] = []
        elif isinstance(self.client, RedisCluster):
            # Keys of several sessions lie in several slots, which one MGET may not span.
            blobs = self.client.mget_nonatomic(keys)
        else:
            blobs = self.client.mget(keys)
        return [self.unseal(_raw(blob), key) for key, blob in zip(keys, blobs, strict=True)]

    def put(self, key: str, value: Any, ttl: float, *, xx: bool = False) -> bool:
        """Seal and store value for ttl seconds; with xx only if the key still exists."""
        return bool(self.client.set(key, self.seal(value, key), ex=max(1, int(ttl)), xx=xx))

    def get_field(self, key: str, field: str) -> Any | None:
        """A sealed JSON value in a hash field."""
        return self.unseal(_raw(self.client.hget(key, field)), f"{key}/{field}")

    def get_fields(self, key: str, fields: Sequence[str]) -> list[Any | None]:
        """Several sealed JSON values of one hash in one round trip."""
        blobs = self.client.hmget(key, list(fields)) if fields else []
        return [self.unseal(_raw(b), f"{key}/{f}") for f, b in zip(fields, blobs, strict=True)]

    def put_field(self, key: str, field: str, value: Any, ttl: int) -> None:
        """Seal value into a hash field; the hash lives ttl seconds from its first field."""
        self.put_fields(key, {field: value}, ttl)

    def put_fields(self, key: str, values: Mapping[str, Any], ttl: int) -> None:
        """put_field for several fields of one hash, in one round trip."""
        if not values:
            return
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(key, mapping={f: self.seal(v, f"{key}/{f}") for f, v in values.items()})
        pipe.expire(key, ttl, nx=True)
        pipe.execute()

    def delete(self, *keys: str) -> None:
        """Delete keys (no-op for none; in a cluster, one DEL per slot)."""
        if keys:
            self.client.delete(*keys)

    def delete_session(self, handle: str, parts: Iterable[str] = SESSION_PARTS) -> None:
        """Delete a session and everything kept beside it (one slot, one round trip)."""
        self.client.delete(*(session_key(handle, part) for part in parts))

    def lock(self, handle: str, name: str, *, timeout: float, blocking_timeout: float) -> Lock:
        """A Redis lock scoped to one session (e.g. one STS call at a time)."""
        key = session_key(handle, f"lock:{name}")
        return Lock(self.client, key, timeout=timeout, blocking_timeout=blocking_timeout)


def _raw(value: Any) -> bytes | None:
    """A reply as bytes (the client never decodes responses), None when absent."""
    return value if isinstance(value, bytes) else None


def get_store() -> Store:
    """This app's store."""
    store: Store = current_app.extensions["webapp.store"]
    return store


def init_app(app: Flask) -> None:
    """Build the Redis client for the configured mode (see connect) and the cipher."""
    cipher = Cipher(app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"])
    app.extensions["webapp.store"] = Store(connect(app.config), cipher)
