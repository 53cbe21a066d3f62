"""Signing keys of the devstack IdP and the misbehaviour switches applied when signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from joserfc.util import json_b64encode, urlsafe_b64decode, urlsafe_b64encode

TOKEN_KINDS = ("id_token", "access_token", "logout_token")
SIGNING_MODES = ("flip_signature", "foreign_key", "unknown_kid", "alg_none", "hs256_public_key")
SWITCH_FIELDS = ("claims", "drop", "header", "signing")


def new_rsa_key() -> RSAKey:
    """Generate an RSA 2048 signing key with a fresh random kid."""
    return RSAKey.generate_key(2048, parameters={"kid": secrets.token_urlsafe(16)})


def merge_switches(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Validate a misbehave request and merge it into the current switches."""
    merged = {kind: dict(switch) for kind, switch in current.items()}
    for kind, switch in update.items():
        if kind not in TOKEN_KINDS or not isinstance(switch, dict):
            raise ValueError(f"unknown token kind {kind!r}; expected one of {TOKEN_KINDS}")
        for name, value in switch.items():
            if name not in SWITCH_FIELDS:
                raise ValueError(f"unknown switch {kind}.{name}; expected one of {SWITCH_FIELDS}")
            if name == "signing" and value is not None and value not in SIGNING_MODES:
                raise ValueError(f"unknown signing mode {value!r}; expected one of {SIGNING_MODES}")
            target = merged.setdefault(kind, {})
            if isinstance(value, dict) and isinstance(target.get(name), dict):
                target[name] = {**target[name], **value}
            else:
                target[name] = value
    return merged


TIME_CLAIMS = ("iat", "exp", "nbf", "auth_time")


def _shifted(claims: dict[str, Any], offset: float) -> dict[str, Any]:
    """The time claims moved by offset seconds (as if the IdP's clock were that far ahead)."""
    return {
        name: int(value + offset)
        for name, value in claims.items()
        if name in TIME_CLAIMS and isinstance(value, int | float) and not isinstance(value, bool)
    }


class Signer:
    """Holds the published keys and signs tokens, honouring the misbehaviour switches."""

    def __init__(self) -> None:
        self.keys: list[RSAKey] = [new_rsa_key()]
        self.switches: dict[str, Any] = {}
        self.clock_offset = 0.0  # tests move the IdP's clock with the app's (/_devstack/clock)
        self._foreign: RSAKey | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> RSAKey:
        """Return the key that signs new tokens."""
        return self.keys[-1]

    def get_jwks(self) -> dict[str, Any]:
        """Return the public JWKS, shaped like Auth0's (use=sig, alg=RS256)."""
        keys = KeySet(list(self.keys)).as_dict(private=False)["keys"]
        return {"keys": [{**k, "use": "sig", "alg": "RS256"} for k in reversed(keys)]}

    def rotate(self, *, keep_old: bool = True) -> str:
        """Make a new signing key; keep the old ones published when keep_old. Return the kid."""
        key = new_rsa_key()
        with self._lock:
            self.keys = [*self.keys, key] if keep_old else [key]
        return key.kid

    def get_foreign_key(self) -> RSAKey:
        """Return an RSA key that is never published in the JWKS."""
        if self._foreign is None:
            self._foreign = new_rsa_key()
        return self._foreign

    def reissue(self, kind: str, compact: str | bytes, *, drop: tuple[str, ...] = ()) -> str:
        """Re-sign a token Authlib built, with Auth0's header and the switches for kind."""
        obj = jws.extract_compact(compact.encode() if isinstance(compact, str) else compact)
        claims = json.loads(obj.payload)
        return self.sign(kind, {k: v for k, v in claims.items() if k not in drop})

    def sign(self, kind: str, claims: dict[str, Any], *, typ: str = "JWT") -> str:
        """Sign claims as a compact JWS of the given kind, applying its switches."""
        switch = self.switches.get(kind, {})
        key = self.current
        claims = {**claims, **_shifted(claims, self.clock_offset), **switch.get("claims", {})}
        for name in switch.get("drop", []):
            claims.pop(name, None)
        header = {"alg": "RS256", "typ": typ, "kid": key.kid, **switch.get("header", {})}
        mode = switch.get("signing")
        if mode == "alg_none":
            return compose({**header, "alg": "none"}, claims, b"")
        if mode == "hs256_public_key":
            header = {**header, "alg": "HS256"}
            mac_key = key.as_pem(private=False)
            return compose(
                header, claims, lambda data: hmac.new(mac_key, data, hashlib.sha256).digest()
            )
        if mode == "unknown_kid":
            header = {**header, "kid": secrets.token_urlsafe(16)}
        if mode in ("foreign_key", "unknown_kid"):
            key = self.get_foreign_key()
        token = encode_rs256(header, claims, key)
        if mode == "flip_signature":
            token = flip_signature(token)
        return token


def encode_rs256(header: dict[str, Any], claims: dict[str, Any], key: RSAKey) -> str:
    """Sign with joserfc; if a header switch named an alg joserfc refuses, sign RS256 anyway."""
    try:
        return jwt.encode(header, claims, key)
    except JoseError:
        rs256 = jws.JWSRegistry.algorithms["RS256"]
        return compose(header, claims, lambda data: rs256.sign(data, key))


def compose(
    header: dict[str, Any], claims: dict[str, Any], signature: bytes | Callable[[bytes], bytes]
) -> str:
    """Build a compact JWS by hand; only for the deliberately broken variants."""
    signing_input = json_b64encode(header) + b"." + json_b64encode(claims)
    raw = signature(signing_input) if callable(signature) else signature
    return (signing_input + b"." + urlsafe_b64encode(raw)).decode("ascii")


def flip_signature(token: str) -> str:
    """Change one byte in the middle of the signature of a valid compact JWS."""
    signing_input, _, encoded = token.rpartition(".")
    raw = bytearray(urlsafe_b64decode(encoded.encode("ascii")))
    raw[len(raw) // 2] ^= 0x01
    return signing_input + "." + urlsafe_b64encode(bytes(raw)).decode("ascii")
