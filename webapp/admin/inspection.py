"""What the admin pages show of a session's tokens: decoded, verified, judged; never the token."""

from __future__ import annotations

import json
from typing import Any

from ..tokens import (
    KeySetCache,
    KeysUnavailable,
    TokenError,
    check_sts_compatibility,
    decode_unverified,
    verify_id_token,
    verify_signature,
)
from ..tokens.times import TIME_CLAIMS, describe_time


def _rows(values: dict[str, Any], now: float) -> list[tuple[str, str]]:
    rows = []
    for name, value in values.items():
        if name in TIME_CLAIMS:
            text = describe_time(value, now, expiry=name == "exp")
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append((name, text))
    return rows


def inspect_token(
    kind: str, token: str, *, keys: KeySetCache, issuer: str, client_id: str, now: float
) -> dict[str, Any]:
    """Decoded header and claims, signature check and STS verdict for one token (no token text)."""
    report: dict[str, Any] = {"kind": kind, "present": bool(token)}
    if not token:
        return report
    verdict = check_sts_compatibility(token, provider_url=issuer, audiences=[client_id], now=now)
    report["verdict"] = verdict
    try:
        decoded = decode_unverified(token)
    except TokenError as error:
        report.update(length=len(token), fingerprint=None, error=error.reason)
        return report
    report.update(
        length=decoded.length,
        fingerprint=decoded.fingerprint,
        header=_rows(decoded.header, now),
        claims=_rows(decoded.claims, now),
    )
    try:
        if kind == "ID token":
            verify_id_token(
                token, keys=keys, issuer=issuer, client_id=client_id, nonce=None, now=now
            )
            report["signature"] = (True, "Signature, issuer, audience and times verified.")
        else:
            verify_signature(token, keys)
            report["signature"] = (True, "Signature verified (claims are not checked here).")
    except TokenError as error:
        report["signature"] = (False, error.reason)
    except KeysUnavailable:
        report["signature"] = (False, "Not checked: the issuer's keys could not be fetched.")
    return report


def inspect_session(
    data: dict[str, Any], *, keys: KeySetCache, issuer: str, client_id: str, now: float
) -> dict[str, Any]:
    """Everything the admin views show about one stored session, secrets left out."""
    tokens = data.get("tokens") or {}
    aws = data.get("aws") or {}
    checks: dict[str, Any] = {"keys": keys, "issuer": issuer, "client_id": client_id, "now": now}
    return {
        "user": data.get("user") or {},
        "signed_in_at": data.get("signed_in_at"),
        "last_seen": data.get("last_seen"),
        "tokens": [
            inspect_token("ID token", tokens.get("id_token") or "", **checks),
            inspect_token("Access token", tokens.get("access_token") or "", **checks),
        ],
        "refresh_token": bool(tokens.get("refresh_token")),
        "aws": {k: aws.get(k) for k in ("role_arn", "assumed_role_arn", "expiration")}
        if aws
        else None,
    }
