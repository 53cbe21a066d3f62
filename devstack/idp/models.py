"""Authlib model classes of the devstack IdP: the one client, codes and refresh tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from .state import Principal, check_url_pattern

AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class Client(ClientMixin):
    """The tenant's one Regular Web Application."""

    def __init__(self, tenant: dict[str, Any]) -> None:
        self.tenant = tenant

    def get_client_id(self) -> str:
        return self.tenant["client_id"]

    def get_default_redirect_uri(self) -> None:
        # Allowed callback URLs are patterns, so there is no default to fall back to.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return check_url_pattern(self.tenant["callback_urls"], redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(self.tenant["client_secret"], client_secret or "")

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    """An issued, not yet redeemed authorization code."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    principal: Principal
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.principal.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class RefreshToken(TokenMixin):
    """A refresh token; Auth0 without rotation keeps it valid across refreshes."""

    client_id: str
    scope: str
    principal: Principal

    def check_client(self, client: ClientMixin) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False
