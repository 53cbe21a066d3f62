"""Authlib authorization server of the devstack IdP: grants wired to the in-memory state."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import AccessDeniedError, ClientMixin, InvalidScopeError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants.util import is_openid_scope

from .models import AUTH_METHODS, AuthorizationCode, Client, RefreshToken
from .state import IdpState, IssuedToken, Principal
from .tokens import Auth0TokenGenerator, IdTokenExtension, RefreshIdTokenExtension

CODE_LIFETIME = 600


def create_authorization_server(state: IdpState) -> AuthorizationServer:
    """Build the Authlib server wired to this IdP's in-memory state."""
    client = Client(state.tenant)

    def query_client(client_id: str) -> Client | None:
        return client if client_id == client.get_client_id() else None

    def save_token(token: dict[str, Any], request: Any) -> None:
        principal: Principal = request.user
        lifetime = token.get("expires_in", state.tenant["access_token_lifetime"])
        with state.lock:
            state.access_tokens[token["access_token"]] = IssuedToken(
                principal, token.get("scope", ""), time.time() + lifetime
            )
            if "refresh_token" in token:
                state.refresh_tokens[token["refresh_token"]] = RefreshToken(
                    request.client.get_client_id(), token.get("scope", ""), principal
                )

    server = AuthorizationServer(query_client=query_client, save_token=save_token)
    server.register_token_generator("default", Auth0TokenGenerator(state))
    server.register_grant(
        make_code_grant(state), [CodeChallenge(required=False), IdTokenExtension(state)]
    )
    server.register_grant(make_refresh_grant(state), [RefreshIdTokenExtension(state)])
    return server


def make_code_grant(state: IdpState) -> type[grants.AuthorizationCodeGrant]:
    """Return the authorization-code grant class bound to this IdP's state."""

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

        def validate_authorization_request(self) -> str:
            redirect_uri = super().validate_authorization_request()
            payload = self.request.payload
            if not is_openid_scope(payload.scope):
                raise InvalidScopeError(
                    "The 'scope' parameter must contain 'openid'.", redirect_uri=redirect_uri
                )
            audience = payload.data.get("audience")
            if audience and audience != state.tenant["audience"]:
                raise AccessDeniedError(f"Service not found: {audience}", redirect_uri=redirect_uri)
            return redirect_uri

        def save_authorization_code(self, code: str, request: Any) -> None:
            data = request.payload.data
            principal = Principal(
                request.user.user,
                request.user.sid,
                request.user.auth_time,
                audience=data.get("audience") or None,
            )
            with state.lock:
                state.codes[code] = AuthorizationCode(
                    code=code,
                    client_id=request.client.get_client_id(),
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.scope,
                    principal=principal,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                    expires_at=time.time() + CODE_LIFETIME,
                )
                for session in state.sessions.values():
                    if session.sid == principal.sid:
                        session.clients.add(request.client.get_client_id())

        def query_authorization_code(self, code: str, client: ClientMixin) -> Any:
            # Popping makes a code single-use even when the token request then fails.
            with state.lock:
                item = state.codes.pop(code, None)
            if item and item.client_id == client.get_client_id() and item.expires_at > time.time():
                return item
            return None

        def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
            state.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: AuthorizationCode) -> Principal:
            return authorization_code.principal

    return CodeGrant


def make_refresh_grant(state: IdpState) -> type[grants.RefreshTokenGrant]:
    """Return the refresh-token grant class bound to this IdP's state."""

    class RefreshGrant(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

        def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
            return state.refresh_tokens.get(refresh_token)

        def authenticate_user(self, refresh_token: RefreshToken) -> Principal:
            return refresh_token.principal

        def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
            # Auth0 without refresh-token rotation keeps the same refresh token usable.
            return None

    return RefreshGrant
