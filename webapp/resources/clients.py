"""A bounded, thread-safe cache of boto3 clients, one per (credential set, service, region)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import boto3
from botocore.config import Config

from .. import clock

# SigV4 for presigned URLs too: botocore's default presigner for S3 is the legacy SigV2 scheme.
SERVICE_CONFIG = {"s3": Config(signature_version="s3v4")}


def get_client_config(timeout: float) -> Config:
    """Short timeouts: a slow service must not hold a worker much past the overview's deadline."""
    return Config(
        connect_timeout=min(3, timeout),
        read_timeout=timeout,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=10,
    )


class ClientCache:
    """Reuses clients while their credentials are valid; least recently used go first."""

    def __init__(
        self, max_size: int = 256, endpoint_url: str | None = None, timeout: float = 8
    ) -> None:
        self.max_size = max_size
        self.endpoint_url = endpoint_url
        self.config = get_client_config(timeout)
        self.created = 0  # how many clients were built (tests and benchmarks read this)
        self._lock = threading.Lock()
        self._clients: OrderedDict[tuple[str, str, str], tuple[Any, float]] = OrderedDict()
        # One boto3 session for all clients: loading the service models once is most of the
        # saving. Sessions are not thread-safe, so client creation happens under the lock.
        self._session = boto3.session.Session()

    def get(self, creds: Any, service: str, region: str) -> Any:
        """The client for these credentials (AwsCredentials), building it on first use."""
        key = (creds.access_key_id, service, region)
        now = clock.now()
        with self._lock:
            entry = self._clients.get(key)
            if entry is not None and entry[1] > now:
                self._clients.move_to_end(key)
                return entry[0]
            self._drop_expired(now)
            client = self._session.client(
                service,
                region_name=region,
                endpoint_url=self.endpoint_url,
                aws_access_key_id=creds.access_key_id,
                aws_secret_access_key=creds.secret_access_key,
                aws_session_token=creds.session_token,
                config=self.config.merge(SERVICE_CONFIG[service])
                if service in SERVICE_CONFIG
                else self.config,
            )
            self.created += 1
            self._clients[key] = (client, float(creds.expiration))
            while len(self._clients) > self.max_size:
                self._clients.popitem(last=False)
            return client

    @property
    def events(self) -> Any:
        """The event emitter every client built here starts with a copy of (for hooks)."""
        return self._session.events

    def __len__(self) -> int:
        with self._lock:
            return len(self._clients)

    def _drop_expired(self, now: float) -> None:
        for key in [k for k, (_, expires) in self._clients.items() if expires <= now]:
            del self._clients[key]
