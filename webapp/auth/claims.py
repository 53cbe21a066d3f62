"""What the portal keeps of a verified ID token and a token response."""

from __future__ import annotations

from typing import Any

from .. import clock


def user_from(claims: dict[str, Any], roles_claim: str) -> dict[str, Any]:
    """The session's user: who, their roles (from roles_claim) and their IdP session id."""
    roles = claims.get(roles_claim)
    return {
        "iss": claims["iss"],
        "sub": claims["sub"],
        "name": str(claims.get("name") or claims.get("nickname") or claims["sub"]),
        "email": str(claims.get("email") or ""),
        "roles": [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else [],
        "sid": str(claims.get("sid") or ""),
    }


def tokens_from(token: dict[str, Any]) -> dict[str, Any]:
    """The tokens of a token endpoint answer, with the access token's expiry as a time."""
    expires_in = token.get("expires_in")
    return {
        "id_token": token["id_token"],
        "access_token": token.get("access_token") or "",
        "refresh_token": token.get("refresh_token") or "",
        "expires_at": clock.now() + int(expires_in) if expires_in else None,
    }
