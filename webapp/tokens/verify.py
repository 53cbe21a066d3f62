"""Verifying an OIDC ID token against the issuer's published keys."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import Key, KeySet

from .parse import TokenError, decode_unverified, show
from .times import utc_iso

# Auth0 signs ID tokens with RS256; accepting anything else invites alg-confusion attacks.
ALLOWED_ALG = "RS256"


class KeysUnavailable(Exception):
    """The issuer's key set could not be fetched (unreachable, too slow, busy)."""


class KeySetCache:
    """The issuer's JWKS in memory; an unknown kid triggers at most one refetch per interval."""

    def __init__(
        self,
        fetch: Callable[[], dict[str, Any]],
        min_refetch_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._interval = min_refetch_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._refetched_at = float("-inf")

    def find_key(self, kid: str | None) -> Key:
        """Return the published signing key for kid, refetching once if keys may have rotated."""
        with self._lock:
            if self._keys is None:
                self._refresh()
            key = self._lookup(kid)
            # Only refetches count against the limit: a key rotated just after the first load
            # must still be found, and a flood of bogus kids must not flood the issuer.
            if key is None and self._clock() - self._refetched_at >= self._interval:
                self._refetched_at = self._clock()
                self._refresh()
                key = self._lookup(kid)
        if key is None:
            raise TokenError(
                f"The token's signing key (kid {show(kid, 60)}) is not published by the issuer."
            )
        return key

    def _refresh(self) -> None:
        try:
            document = self._fetch()
        except Exception as error:  # whatever the fetch raised, the keys are not to be had now
            raise KeysUnavailable(f"the issuer's keys could not be fetched: {error}") from error
        try:
            self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, KeyError, TypeError, ValueError) as error:
            raise TokenError("The issuer's published key set (JWKS) could not be read.") from error

    def _lookup(self, kid: str | None) -> Key | None:
        assert self._keys is not None
        try:
            return self._keys.get_by_kid(kid, {"use": "sig"})
        except JoseError:
            return None


def verify_signature(token: str, keys: KeySetCache) -> dict[str, Any]:
    """Return the claims of a token RS256-signed by one of the issuer's published keys.

    Only the signature is checked; callers check the claims their kind of token needs.
    """
    header = decode_unverified(token).header
    alg = header.get("alg")
    if alg != ALLOWED_ALG:  # before any key is touched: no alg-confusion, no alg none
        raise TokenError(_alg_reason(alg))
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenError("The token's key id (kid) is not a string.")
    key = keys.find_key(kid)
    try:
        return jwt.decode(token, key, algorithms=[ALLOWED_ALG]).claims
    except BadSignatureError as error:
        raise TokenError("The token's signature does not match the issuer's key.") from error
    except (JoseError, ValueError) as error:
        raise TokenError(
            "The token's signature could not be checked with the issuer's key."
        ) from error


def verify_id_token(
    token: str,
    *,
    keys: KeySetCache,
    issuer: str,
    client_id: str,
    nonce: str | None,
    leeway: int = 60,
    now: float | None = None,
) -> dict[str, Any]:
    """Return the claims of an ID token passing every OIDC check, else raise TokenError."""
    claims = verify_signature(token, keys)
    now = time.time() if now is None else now
    registry = jwt.JWTClaimsRegistry(
        now=int(now),
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(claims)
    except ClaimError as error:
        raise TokenError(_claim_reason(error, claims, issuer, client_id)) from error
    _check_azp(claims, client_id)
    if nonce is not None:
        # An empty nonce on either side means the sign-in state was lost: never a match.
        claimed = claims.get("nonce") or None
        if (
            not nonce
            or not isinstance(claimed, str)
            or not hmac.compare_digest(claimed.encode(), nonce.encode())
        ):
            raise TokenError("The token's nonce does not match this sign-in; sign in again.")
    return claims


def _alg_reason(alg: Any) -> str:
    if alg == "none":
        return "The token is unsigned (alg none); only RS256-signed tokens are accepted."
    if isinstance(alg, str) and alg.startswith("HS"):
        return f"The token uses {alg}, a shared-secret signature; only RS256 is accepted."
    return f"The token's algorithm {show(alg, 40)} is not accepted; only RS256 is."


def _claim_reason(error: ClaimError, claims: dict[str, Any], issuer: str, client_id: str) -> str:
    if isinstance(error, ExpiredTokenError):
        return f"The token expired at {utc_iso(claims['exp'])}; sign in again."
    claim = error.claim
    if "," in claim or claim not in claims:
        return f"The token is missing required claim(s): {claim.replace(',', ', ')}."
    value = claims[claim]
    if claim == "iss" and isinstance(value, str) and value.rstrip("/") == issuer.rstrip("/"):
        return (
            f"The token's issuer {show(value)} differs from the expected {show(issuer)} only by "
            "the trailing slash; issuers must match exactly, as the IdP's discovery spells it."
        )
    if claim == "iss":
        return f"The token's issuer {show(value)} is not the expected {show(issuer)}."
    if claim == "aud":
        return f"The token's audience {show(value)} does not include this app ({show(client_id)})."
    if claim == "iat":
        return f"The token claims to be issued in the future ({utc_iso(value)}); check clocks."
    if claim == "nbf":
        return f"The token is not valid before {utc_iso(value)}."
    return f"The token's {claim} claim is invalid: {show(value)}."


def _check_azp(claims: dict[str, Any], client_id: str) -> None:
    aud = claims["aud"]
    azp = claims.get("azp")
    if isinstance(aud, list) and len(aud) > 1 and azp is None:
        raise TokenError("The token has several audiences but no authorized party (azp).")
    if azp is not None and azp != client_id:
        raise TokenError(f"The token's authorized party (azp) {show(azp)} is not this app.")
