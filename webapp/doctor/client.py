"""The client credentials: a made-up authorization code at the token endpoint, refused how?"""

from __future__ import annotations

from typing import Any

import requests

from .result import Result, failed, passed

CLIENT = "IdP client credentials"
# A code no IdP issued: it must be refused, and how tells a bad client from a bad code.
INVALID_CODE = "doctor-invalid-code"
REDIRECT_URI = "https://doctor.invalid/callback"
PORTAL_AUTH = "client_secret_basic"  # how the portal's Authlib client authenticates
CREDENTIALS_FIX = (
    "Copy the Client ID and Client Secret from the IdP's application settings (Auth0: "
    "Applications → your Regular Web Application → Settings) into AUTH0_CLIENT_ID and "
    "AUTH0_CLIENT_SECRET."
)


def get_json(method: str, url: str, timeout: float, **kwargs: Any) -> tuple[int, Any]:
    """Status and JSON body (None when not JSON); requests' exceptions pass through."""
    response = requests.request(method, url, timeout=timeout, **kwargs)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, None


def check_client(
    document: dict[str, Any], client_id: str, secret: str, *, timeout: float
) -> Result:
    """Whether the token endpoint takes the client's credentials, told by how it refuses a code."""
    endpoint = document.get("token_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        return failed(CLIENT, "The discovery document names no token_endpoint.", CREDENTIALS_FIX)
    # OpenID Connect Discovery: without the list, client_secret_basic is the default.
    methods = document.get("token_endpoint_auth_methods_supported") or [PORTAL_AUTH]
    data = {"grant_type": "authorization_code", "code": INVALID_CODE, "redirect_uri": REDIRECT_URI}
    auth: tuple[str, str] | None = (client_id, secret)
    method = PORTAL_AUTH
    if PORTAL_AUTH not in methods and "client_secret_post" in methods:
        method, auth = "client_secret_post", None
        data.update(client_id=client_id, client_secret=secret)
    elif PORTAL_AUTH not in methods:
        return failed(
            CLIENT,
            f"The token endpoint offers {methods!r}; the portal authenticates with {PORTAL_AUTH}.",
            "Allow client_secret_basic for the application at the IdP.",
        )
    try:
        status, body = get_json("POST", endpoint, timeout, data=data, auth=auth)
    except requests.RequestException as exc:
        return failed(CLIENT, f"{endpoint} did not answer ({type(exc).__name__}).", CREDENTIALS_FIX)
    error = body.get("error") if isinstance(body, dict) else None
    said = f"{error} (HTTP {status})" if error else f"HTTP {status}"
    if error == "invalid_grant" and method != PORTAL_AUTH:
        return failed(
            CLIENT,
            f"The client ID and secret are accepted with {method}, but the portal "
            f"authenticates with {PORTAL_AUTH}, which the IdP does not offer.",
            "Allow client_secret_basic for the application at the IdP.",
        )
    if error == "invalid_grant":
        return passed(
            CLIENT,
            f"{endpoint} accepted the client ID and secret ({method}) and refused only the "
            f"made-up code: {said}.",
        )
    if error == "invalid_client" or status == 401:
        return failed(
            CLIENT,
            f"{endpoint} refused the client: {said}; AUTH0_CLIENT_ID or AUTH0_CLIENT_SECRET "
            "is wrong (a bad client, not a bad code).",
            CREDENTIALS_FIX,
        )
    if error == "unauthorized_client":
        return failed(
            CLIENT,
            f"{endpoint} answered {said}: the application may not use authorization codes.",
            "Enable the Authorization Code grant for the application (Auth0: Settings → "
            "Advanced → Grant Types).",
        )
    return failed(
        CLIENT,
        f"{endpoint} answered {said} to a made-up code; expected invalid_grant.",
        CREDENTIALS_FIX,
    )
