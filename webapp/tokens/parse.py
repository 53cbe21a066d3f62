"""Reading a JWT's header and claims without trusting them."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import ExceededSizeError, JoseError


class TokenError(Exception):
    """A token was refused; ``reason`` is plain words, safe to show, and never holds the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenFormatError(TokenError):
    """The text is not a JWT at all."""


@dataclass(frozen=True)
class DecodedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    length: int
    fingerprint: str


@functools.lru_cache(maxsize=1024)
def decode_unverified(token: str) -> DecodedToken:
    """Split a compact JWS into header and claims, checking its shape but not its signature.

    Cached: a signed-in request reads its ID token's claims more than once, and every request
    of a session reads the same token. Callers must not modify the returned dicts.
    """
    if not isinstance(token, str) or not token:
        raise TokenFormatError("No token was given.")
    parts = token.count(".") + 1
    if parts == 5:
        raise TokenFormatError("This is an encrypted token (JWE, five parts), not a signed JWT.")
    if parts != 3:
        raise TokenFormatError(
            f"This is not a JWT: a signed token has three dot-separated parts, this has {parts}."
        )
    try:
        obj = jws.extract_compact(token.encode())
        claims = json.loads(obj.payload)
    except ExceededSizeError as error:
        raise TokenFormatError("This token is too large to read.") from error
    except (JoseError, ValueError) as error:
        raise TokenFormatError("This is not a JWT: its header or payload is not JSON.") from error
    if not isinstance(claims, dict):
        raise TokenFormatError("This is not a JWT: its payload is not a JSON object.")
    return DecodedToken(
        header=dict(obj.headers()),
        claims=claims,
        length=len(token),
        fingerprint=hashlib.sha256(token.encode()).hexdigest()[:12],
    )


def show(value: object, limit: int = 80) -> str:
    """Render a claim value for a message: quoted, escaped and cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
