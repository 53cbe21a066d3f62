"""Web-identity token checks the way STS makes them: issuer keys, signature, aud, exp."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from joserfc import jws
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from .errors import StsError

ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
# STS tolerates about five minutes of clock skew past `exp`.
EXPIRY_LEEWAY = 300
NOT_VALIDATED = (
    "The web identity token that was passed could not be validated by AWS. "
    "Get a new identity token from the identity provider and then retry the request."
)
NO_KEY = (
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)


@dataclass
class UnverifiedToken:
    """A compact JWS split into header and claims, signature not yet checked."""

    raw: str
    header: dict[str, Any]
    claims: dict[str, Any]


def parse_token(token: str) -> UnverifiedToken:
    """Split a JWT without verifying it, or raise InvalidIdentityToken."""
    try:
        obj = jws.extract_compact(token.encode())
        claims = json.loads(obj.payload)
    except (JoseError, ValueError, TypeError) as exc:
        raise StsError("InvalidIdentityToken", NOT_VALIDATED) from exc
    if not isinstance(claims, dict):
        raise StsError("InvalidIdentityToken", NOT_VALIDATED)
    return UnverifiedToken(token, dict(obj.headers()), claims)


class JwksCache:
    """Issuer → key set, fetched through the discovery document and refetched on unknown kid."""

    def __init__(self, timeout: float = 3.0) -> None:
        self._timeout = timeout
        self._lock = threading.Lock()
        self._first_fetch = threading.Lock()
        self._keys: dict[str, KeySet] = {}

    def _fetch(self, issuer: str) -> KeySet:
        try:
            discovery = requests.get(
                issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=self._timeout
            )
            discovery.raise_for_status()
            response = requests.get(discovery.json()["jwks_uri"], timeout=self._timeout)
            response.raise_for_status()
            keys = KeySet.import_key_set(response.json())
        except requests.RequestException as exc:
            raise StsError("InvalidIdentityToken", NO_KEY) from exc
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise StsError("InvalidIdentityToken", NO_KEY) from exc
        with self._lock:
            self._keys[issuer] = keys
        return keys

    def get_key(self, issuer: str, kid: str | None) -> Any:
        """Return the issuer's key for `kid`, refetching the JWKS once if it is unknown."""
        with self._lock:
            keys = self._keys.get(issuer)
        if keys is None:
            with self._first_fetch:  # many first tokens at once: one fetch, as STS would
                with self._lock:
                    keys = self._keys.get(issuer)
                if keys is None:
                    keys = self._fetch(issuer)
        for attempt in range(2):
            if attempt == 1:
                keys = self._fetch(issuer)
            try:
                return keys.get_by_kid(kid)
            except InvalidKeyIdError:
                continue
        raise StsError("InvalidIdentityToken", NO_KEY)


def verify_signature(token: UnverifiedToken, issuer: str, cache: JwksCache) -> None:
    """Check alg and signature against the issuer's published keys."""
    if token.header.get("alg") not in ALGORITHMS:
        raise StsError("InvalidIdentityToken", NOT_VALIDATED)
    key = cache.get_key(issuer, token.header.get("kid"))
    try:
        obj = jws.extract_compact(token.raw.encode())
        valid = jws.validate_compact(obj, key, algorithms=list(ALGORITHMS))
    except JoseError as exc:
        raise StsError("InvalidIdentityToken", NOT_VALIDATED) from exc
    if not valid:
        raise StsError("InvalidIdentityToken", NOT_VALIDATED)


def check_claims(claims: dict[str, Any], client_ids: list[str], now: float | None = None) -> str:
    """Apply STS's aud and exp rules; return the accepted audience."""
    if "aud" not in claims:
        raise StsError("InvalidIdentityToken", "Missing a required claim: aud")
    aud = claims["aud"]
    # A one-element array is fine (EKS sends ["sts.amazonaws.com"]); more values never are.
    if isinstance(aud, list):
        if len(aud) != 1:
            raise StsError("InvalidIdentityToken", "Incorrect token audience")
        aud = aud[0]
    if not isinstance(aud, str) or aud not in client_ids:
        raise StsError("InvalidIdentityToken", "Incorrect token audience")
    for claim in ("sub", "exp"):
        if claim not in claims:
            raise StsError("InvalidIdentityToken", f"Missing a required claim: {claim}")
    exp = claims["exp"]
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise StsError("InvalidIdentityToken", NOT_VALIDATED)
    if (now if now is not None else time.time()) > exp + EXPIRY_LEEWAY:
        raise StsError("ExpiredTokenException", "Token is expired")
    return aud
