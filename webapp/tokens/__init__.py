"""Decode and verify JWTs, and judge whether STS would accept them (pure functions, no Flask)."""

from __future__ import annotations

from .parse import DecodedToken, TokenError, TokenFormatError, decode_unverified
from .verdict import Finding, Verdict, check_sts_compatibility, role_session_name
from .verify import KeySetCache, KeysUnavailable, verify_id_token, verify_signature

__all__ = [
    "DecodedToken",
    "Finding",
    "KeySetCache",
    "KeysUnavailable",
    "TokenError",
    "TokenFormatError",
    "Verdict",
    "check_sts_compatibility",
    "decode_unverified",
    "role_session_name",
    "verify_id_token",
    "verify_signature",
]
