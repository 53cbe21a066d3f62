"""Local AWS stand-in: moto with IAM enforcement behind a front that answers STS web identity.

moto keeps its state in process-wide backends, so run one LocalAWS per process at a time.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import requests
from moto.server import ThreadedMotoServer
from werkzeug.serving import BaseWSGIServer, make_server

from .front import Front
from .moto_fixes import patch_signature_check
from .seeding import Seeder, tag_policies, trust_provider
from .state import FrontState
from .sts import WebIdentitySts

__all__ = ["LocalAWS"]


class LocalAWS:
    """moto on an internal port, the STS-faithful front on host:port, seeded from seed.toml."""

    def __init__(self, seed: dict, issuer: str, host: str = "127.0.0.1", port: int = 9500) -> None:
        self.seed = seed
        self.issuer = issuer
        self.host = host
        self.account_id: str = seed["aws"]["account_id"]
        self.region: str = seed["aws"]["region"]
        self.state = FrontState()
        self._requested_port = port
        self._moto: ThreadedMotoServer | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._previous_auth = "inf"

    @property
    def endpoint_url(self) -> str:
        """The URL clients use as AWS_ENDPOINT_URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def port(self) -> int:
        """The front's port (the real one when 0 was asked for)."""
        return self._server.server_port if self._server else self._requested_port

    @property
    def provider_arn(self) -> str:
        """ARN of the IAM OIDC provider created for the issuer."""
        return f"arn:aws:iam::{self.account_id}:oidc-provider/{self.issuer.split('://', 1)[1]}"

    def role_arn(self, name: str) -> str:
        """ARN of a seeded role, e.g. role_arn("portal-reader")."""
        return f"arn:aws:iam::{self.account_id}:role/{name}"

    def start(self) -> None:
        """Start moto, seed it, switch IAM enforcement on, then serve the front."""
        # moto logs every request through werkzeug; keep test and dev output readable.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        patch_signature_check()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        moto_host, moto_port = self._moto.get_host_and_port()
        moto_url = f"http://{moto_host}:{moto_port}"
        # Backends are process-wide: start from empty and with enforcement off while seeding.
        self._previous_auth = _reset_auth(moto_url, "inf")
        requests.post(moto_url + "/moto-api/reset", timeout=10).raise_for_status()
        seeder = Seeder(moto_url, self.seed, self.issuer)
        credentials = seeder.seed()
        if seeder.doctor_credentials is not None:
            key = seeder.doctor_credentials
            self.state.credentials["doctor"] = {
                "AWS_ACCESS_KEY_ID": key.access_key,
                "AWS_SECRET_ACCESS_KEY": key.secret_key,
            }
        accounts = {
            extra["account_id"]: Seeder(moto_url, self._account_seed(extra), self.issuer).seed()
            for extra in self.seed["aws"].get("accounts", [])
        }
        _reset_auth(moto_url, "0")
        sts = WebIdentitySts(moto_url, self.region, credentials, self.state, accounts)
        front = Front(moto_url, sts, self.state, tag_policies(self.seed))
        front.add_provider = functools.partial(trust_provider, sts.iam, self.seed)
        self._server = make_server(self.host, self._requested_port, front, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _account_seed(self, extra: dict[str, Any]) -> dict[str, Any]:
        """A further account's seed: its own [[aws.accounts]] entry, the main region and front."""
        aws = {"region": self.region, "front_user": self.seed["aws"]["front_user"], **extra}
        return {**self.seed, "aws": aws}

    def stop(self) -> None:
        """Stop both servers and give moto's enforcement setting back to the process."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._moto is not None:
            host, port = self._moto.get_host_and_port()
            _reset_auth(f"http://{host}:{port}", self._previous_auth)
            self._moto.stop()
            self._moto = None

    def __enter__(self) -> LocalAWS:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _reset_auth(moto_url: str, count: str) -> str:
    """Set moto's INITIAL_NO_AUTH_ACTION_COUNT (0 = enforce from now); return the old value."""
    response = requests.post(moto_url + "/moto-api/reset-auth", data=count.encode(), timeout=10)
    response.raise_for_status()
    return response.json()["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
