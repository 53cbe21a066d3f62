"""Auth0-shaped tokens: JWT or opaque access tokens and ID tokens, built by Authlib."""

from __future__ import annotations

import time
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import ClientMixin, scope_to_list
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import OpenIDCode

from .state import IdpState, Principal


class Auth0TokenGenerator(JWTBearerTokenGenerator):
    """Auth0's access tokens: a JWT for a known API audience, else an opaque string."""

    def __init__(self, state: IdpState) -> None:
        super().__init__(
            issuer=state.issuer,
            refresh_token_generator=lambda **kwargs: generate_token(48),
            expires_generator=lambda client, grant_type: state.tenant["access_token_lifetime"],
        )
        self.state = state

    def generate(
        self,
        grant_type: str,
        client: ClientMixin,
        user: Principal | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """Issue a refresh token only when offline_access was granted, as Auth0 does."""
        include = include_refresh_token and "offline_access" in scope_to_list(scope or "")
        return super().generate(grant_type, client, user, scope, expires_in, include)

    def get_jwks(self) -> Any:
        return self.state.signer.current

    def get_audiences(self, client: ClientMixin, user: Principal, scope: str) -> list[str]:
        return [user.audience, self.state.base + "userinfo"]

    def get_extra_claims(
        self, client: ClientMixin, grant_type: str, user: Principal, scope: str
    ) -> dict[str, Any]:
        roles = list(user.user.get("roles", []))
        return {"azp": client.get_client_id(), self.state.tenant["roles_claim"]: roles}

    def access_token_generator(
        self, client: ClientMixin, grant_type: str, user: Principal, scope: str
    ) -> str:
        if not user.audience:
            return generate_token(32)
        token = super().access_token_generator(client, grant_type, user, scope)
        # Auth0's default token profile says azp, not RFC 9068's client_id, and typ JWT.
        return self.state.signer.reissue("access_token", token, drop=("client_id",))


class IdTokenExtension(OpenIDCode):
    """Auth0's ID token on the code grant: string aud, sid, profile claims, roles claim."""

    def __init__(self, state: IdpState) -> None:
        super().__init__(require_nonce=False)
        self.state = state

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        # Auth0 does not refuse a repeated nonce; checking it is the client's job.
        return False

    def resolve_client_private_key(self, client: ClientMixin) -> Any:
        return self.state.signer.current

    def get_client_algorithm(self, client: ClientMixin) -> str:
        return "RS256"

    def get_encode_header(self, client: ClientMixin) -> dict[str, str]:
        return {"alg": "RS256", "typ": "JWT", "kid": self.state.signer.current.kid}

    def get_client_claims(self, client: ClientMixin) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.state.issuer,
            "aud": client.get_client_id(),
            "iat": now,
            "exp": now + self.state.tenant["id_token_lifetime"],
        }

    def generate_user_info(self, user: Principal, scope: str) -> dict[str, Any]:
        claims = self.state.get_user_claims(user, scope)
        return {**claims, "sid": user.sid, "auth_time": user.auth_time}

    def encode_id_token(self, token: dict[str, Any], request: Any) -> str:
        return self.state.signer.reissue("id_token", super().encode_id_token(token, request))


class RefreshIdTokenExtension(IdTokenExtension):
    """A fresh ID token (no nonce) on the refresh grant, like Auth0."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)
