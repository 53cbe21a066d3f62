"""Whether STS AssumeRoleWithWebIdentity would accept a token, and why (offline, unverified)."""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .parse import DecodedToken, TokenFormatError, decode_unverified, show
from .tags import TAGS_CLAIM, TagProblem, check_session_tags
from .times import utc_iso

STS_ALGS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
STS_MIN_LENGTH, STS_MAX_LENGTH = 4, 20_000
STS_CLOCK_SKEW = 300
_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]", re.ASCII)


@dataclass(frozen=True)
class Finding:
    code: str
    ok: bool
    title: str
    detail: str


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    findings: list[Finding]
    session_name: str | None


def check_sts_compatibility(
    token: str, *, provider_url: str, audiences: Sequence[str], now: float | None = None
) -> Verdict:
    """Say whether STS AssumeRoleWithWebIdentity would take this token for a provider, and why."""
    try:
        decoded = decode_unverified(token)
    except TokenFormatError as error:
        findings = [Finding("format", False, "Format", error.reason), _size(len(token or ""))]
        return Verdict(False, findings, None)
    claims = decoded.claims
    session_name = role_session_name(claims)
    findings = [
        Finding("format", True, "Format", "A signed JWT (header.payload.signature)."),
        _alg(decoded),
        _size(decoded.length),
        _iss(claims.get("iss"), provider_url),
        _aud(claims, list(audiences)),
        _exp(claims.get("exp"), time.time() if now is None else now),
        _sub(claims.get("sub")),
        _session(claims.get("sub"), session_name),
    ]
    if TAGS_CLAIM in claims:  # a finding only for tokens that carry session tags
        findings.append(_tags(claims))
    return Verdict(all(f.ok for f in findings), findings, session_name)


def role_session_name(claims: Mapping[str, Any]) -> str:
    """A legal RoleSessionName: the email (else sub) made safe, plus a short hash of sub."""
    sub, email = (v if isinstance(v := claims.get(k), str) else "" for k in ("sub", "email"))
    # Fold accents to ASCII first so "josé@…" reads "jose@…" rather than "jos-@…".
    base = unicodedata.normalize("NFKD", email or sub).encode("ascii", "ignore").decode()
    base = _SESSION_NAME_BAD.sub("-", base)[:55] or "user"
    return f"{base}-{hashlib.sha256(sub.encode()).hexdigest()[:8]}"


def _size(length: int) -> Finding:
    ok = STS_MIN_LENGTH <= length <= STS_MAX_LENGTH
    detail = f"{length:,} characters; STS accepts {STS_MIN_LENGTH} to {STS_MAX_LENGTH:,}."
    return Finding("size", ok, "Size", detail)


def _alg(decoded: DecodedToken) -> Finding:
    alg = decoded.header.get("alg")
    if alg in STS_ALGS:
        return Finding("alg", True, "Algorithm", f"Signed with {alg}, which STS accepts.")
    accepted = "RS256/384/512 or ES256/384/512"
    if alg == "none":
        detail = f"The token is unsigned (alg none); STS only accepts {accepted} signatures."
    elif isinstance(alg, str) and alg.startswith("HS"):
        detail = (
            f"{alg} is a shared-secret (HMAC) signature that only the issuer could check; STS "
            f"verifies with the provider's published public keys, so it accepts only {accepted}."
        )
    else:
        detail = f"Algorithm {show(alg, 40)} is not one STS accepts ({accepted})."
    return Finding("alg", False, "Algorithm", detail)


def _iss(iss: Any, provider_url: str) -> Finding:
    title = "Issuer (iss)"
    if not isinstance(iss, str) or not iss:
        return Finding("iss", False, title, "No issuer (iss); STS finds the provider by it.")
    if iss == provider_url:
        return Finding("iss", True, title, f"{show(iss)} matches the provider URL exactly.")
    if iss.rstrip("/") == provider_url.rstrip("/"):
        which = "ends" if iss.endswith("/") else "does not end"
        detail = (
            f"The token's issuer {show(iss)} {which} with '/' but the provider URL "
            f"{show(provider_url)} differs: STS needs an exact match, trailing slash included, "
            f"so the provider URL should be {show(iss)}, as the IdP spells its issuer."
        )
    else:
        detail = (
            f"The token's issuer {show(iss)} is not the provider URL {show(provider_url)}; STS "
            f"would answer InvalidIdentityToken: No OpenIDConnect provider found for {show(iss)}."
        )
    return Finding("iss", False, title, detail)


def _aud(claims: Mapping[str, Any], audiences: list[str]) -> Finding:
    title, aud = "Audience (aud)", claims.get("aud")
    allowed = f"the provider's audiences {show(audiences, 200)}"
    refused = "STS would answer InvalidIdentityToken: Incorrect token audience"
    if aud is None:
        return Finding("aud", False, title, "Missing a required claim: aud (STS's own words).")
    if isinstance(aud, list) and len(aud) > 1:
        values = show(aud, 300)
        if any(isinstance(v, str) and v.endswith("/userinfo") for v in aud):
            detail = (
                f"This is an Auth0 access token: its aud has {len(aud)} values, {values} "
                "(the API identifier and https://TENANT/userinfo). STS rejects multi-value aud "
                "with InvalidIdentityToken: Incorrect token audience even when the provider lists "
                "the API identifier. Send the ID token, whose aud is the client ID, and make the "
                "client ID the provider's audience."
            )
        else:
            detail = f"aud has {len(aud)} values {values}; STS rejects multi-value aud: {refused}."
        return Finding("aud", False, title, detail)
    one = aud[0] if isinstance(aud, list) and aud else aud
    if not isinstance(one, str) or not one:
        return Finding("aud", False, title, f"aud {show(aud)} is not a string; {refused}.")
    if one not in audiences:
        return Finding("aud", False, title, f"aud {show(one)} is not one of {allowed}; {refused}.")
    shape = "a one-element array, which STS accepts (as EKS tokens)" if one != aud else "a string"
    return Finding("aud", True, title, f"aud {show(one)} is {shape}, and one of {allowed}.")


def _exp(exp: Any, now: float) -> Finding:
    title = "Expiry (exp)"
    if isinstance(exp, bool) or not isinstance(exp, int | float) or exp != exp:
        return Finding("exp", False, title, "No usable expiry (exp); STS requires one.")
    if now > exp + STS_CLOCK_SKEW:
        detail = (
            f"Expired at {utc_iso(exp)}; even with STS's ~5 minutes of clock skew it would answer "
            "ExpiredTokenException: Token is expired. Sign in again for a fresh token."
        )
        return Finding("exp", False, title, detail)
    if now > exp:
        detail = f"Expired at {utc_iso(exp)}, still inside STS's ~5 minutes of clock skew."
        return Finding("exp", True, title, detail)
    return Finding("exp", True, title, f"Valid until {utc_iso(exp)}.")


def _sub(sub: Any) -> Finding:
    if isinstance(sub, str) and sub:
        return Finding("sub", True, "Subject (sub)", f"Subject {show(sub)}.")
    return Finding("sub", False, "Subject (sub)", "No subject (sub); STS requires one.")


def _session(sub: Any, name: str) -> Finding:
    detail = f"RoleSessionName would be {name!r}."
    if isinstance(sub, str) and "|" in sub:
        detail += (
            f" The sub {show(sub)} contains '|', which STS forbids there, so it was transformed."
        )
    return Finding("session_name", True, "Session name", detail)


def _tags(claims: Mapping[str, Any]) -> Finding:
    title = "Session tags"
    try:
        tags, transitive = check_session_tags(claims)
    except TagProblem as problem:
        return Finding("tags", False, title, f"{problem} STS would refuse the token.")
    listed = ", ".join(f"{k}={v}" for k, v in tags.items()) or "none"
    detail = f"{len(tags)} tag(s) for the role session: {listed}"
    if transitive:
        detail += f" (transitive: {', '.join(transitive)})"
    detail += ". Every role this provider may assume must allow sts:TagSession in its trust."
    return Finding("tags", True, title, detail)
