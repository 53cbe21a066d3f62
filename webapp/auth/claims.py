"""What the portal keeps of a verified ID token and a token response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import clock
from ..tokens.tags import get_session_tags

MISSING = object()


def get_claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by name, or by dotted path into nested objects; None when absent.

    A name present at the top level wins, so namespaced claims such as Auth0's
    `https://aws-portal.example/roles` (dots and all) read as themselves; otherwise
    `realm_access.roles` reads claims["realm_access"]["roles"] (Keycloak), and
    `resource_access.CLIENT.roles` one level deeper. Only objects are walked, never lists, and
    a URL-shaped name (a namespaced claim, "://" in it) is only ever read as itself.
    """
    if name in claims or "://" in name:
        return claims.get(name)
    value: Any = claims
    for part in name.split("."):
        value = value.get(part, MISSING) if isinstance(value, Mapping) else MISSING
        if value is MISSING:
            return None
    return value


def user_from(claims: dict[str, Any], roles_claim: str) -> dict[str, Any]:
    """The session's user: who, their roles (from roles_claim, a name or dotted path), sid."""
    roles = get_claim(claims, roles_claim)
    return {
        "iss": claims["iss"],
        "sub": claims["sub"],
        "name": str(claims.get("name") or claims.get("nickname") or claims["sub"]),
        "email": str(claims.get("email") or ""),
        "roles": [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else [],
        "sid": str(claims.get("sid") or ""),
        "tags": get_session_tags(claims),  # STS session tags: what ${aws:PrincipalTag/…} reads
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
