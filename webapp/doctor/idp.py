"""The identity provider: discovery document, signing algorithm, keys, client credentials."""

from __future__ import annotations

from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..config import discovery_url, issuer_mismatch
from .client import CLIENT, check_client, get_json
from .result import Result, failed, passed, skipped

DISCOVERY, ALG, JWKS = "IdP discovery", "IdP signing algorithm", "IdP signing keys (JWKS)"


def check_identity_provider(
    issuer: str, client_id: str, client_secret: str, *, timeout: float
) -> list[Result]:
    """Discovery with the exact issuer, RS256 offered, a usable RSA key, accepted credentials."""
    document, discovery = _discovery(issuer, timeout)
    if document is None:
        return [
            discovery,
            *(skipped(n, "needs the discovery document") for n in (ALG, JWKS, CLIENT)),
        ]
    return [
        discovery,
        _signing_alg(document),
        _jwks(document, timeout),
        check_client(document, client_id, client_secret, timeout=timeout),
    ]


def _discovery(issuer: str, timeout: float) -> tuple[dict[str, Any] | None, Result]:
    url = discovery_url(issuer)
    fix = (
        "AUTH0_ISSUER (OIDC_ISSUER, or AUTH0_DOMAIN) must name the IdP's issuer, whose "
        "/.well-known/openid-configuration this host can reach (Auth0: https://TENANT/)."
    )
    try:
        status, document = get_json("GET", url, timeout)
    except requests.RequestException as error:
        return None, failed(DISCOVERY, f"{url} did not answer ({type(error).__name__}).", fix)
    if status != 200 or not isinstance(document, dict):
        what = f"HTTP {status}" if status != 200 else "something that is not a JSON object"
        return None, failed(DISCOVERY, f"{url} answered {what}.", fix)
    actual = document.get("issuer")
    problem = issuer_mismatch(issuer, actual)
    if problem is None:
        return document, passed(DISCOVERY, f"{url} answers; its issuer is AUTH0_ISSUER exactly.")
    detail = problem + ". Tokens carry the IdP's issuer, and the portal and STS compare it exactly."
    fix = f"Set AUTH0_ISSUER={actual}" if isinstance(actual, str) else fix
    return document, failed(DISCOVERY, detail, fix)


def _signing_alg(document: dict[str, Any]) -> Result:
    algs = document.get("id_token_signing_alg_values_supported")
    if isinstance(algs, list) and "RS256" in algs:
        return passed(
            ALG, f"ID tokens may be signed with RS256 (offered: {', '.join(map(str, algs))})."
        )
    return failed(
        ALG,
        f"id_token_signing_alg_values_supported is {algs!r}; the portal accepts only RS256.",
        "Sign ID tokens with RS256 (Auth0: Application → Settings → Advanced → OAuth → "
        "JSON Web Token Signature Algorithm).",
    )


def _jwks(document: dict[str, Any], timeout: float) -> Result:
    fix = "Publish the RS256 public signing key in the IdP's jwks_uri (Auth0 does by default)."
    uri = document.get("jwks_uri")
    if not isinstance(uri, str) or not uri:
        return failed(JWKS, "The discovery document names no jwks_uri.", fix)
    try:
        status, body = get_json("GET", uri, timeout)
    except requests.RequestException as error:
        return failed(JWKS, f"{uri} did not answer ({type(error).__name__}).", fix)
    keys = body.get("keys") if isinstance(body, dict) else None
    if status != 200 or not isinstance(keys, list):
        return failed(JWKS, f"{uri} answered HTTP {status} without a key list.", fix)
    usable = [k for k in keys if isinstance(k, dict) and _is_rs256_signing_key(k)]
    try:
        KeySet.import_key_set({"keys": usable})
    except (JoseError, KeyError, TypeError, ValueError):
        return failed(JWKS, f"{uri} has {len(keys)} key(s), none a usable RSA signing key.", fix)
    kids = ", ".join(str(k.get("kid", "(no kid)")) for k in usable)
    return passed(JWKS, f"{uri} has {len(usable)} RSA signing key(s): kid {kids}.")


def _is_rs256_signing_key(key: dict[str, Any]) -> bool:
    return (
        key.get("kty") == "RSA"
        and key.get("use", "sig") == "sig"
        and key.get("alg", "RS256") == "RS256"
        and bool(key.get("n"))
        and bool(key.get("e"))
    )
