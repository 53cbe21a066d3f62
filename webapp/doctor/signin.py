"""`flask doctor --sign-in`: a real ID token by the portal's code flow, to a local callback."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ..config import discovery_url
from ..tokens import KeySetCache, KeysUnavailable, TokenError, verify_id_token
from .client import get_json
from .result import Result, failed, passed

SIGN_IN = "Sign-in"
SCOPE = "openid profile email"


class _Quiet(WSGIRequestHandler):
    """No access log: the callback's query holds the authorization code."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class _Callback:
    """A one-off HTTP server on 127.0.0.1 that keeps the first /callback query it receives."""

    def __init__(self, port: int) -> None:
        self.answer: dict[str, str] = {}
        self.arrived = threading.Event()
        self.server = make_server("127.0.0.1", port, self, threaded=True, request_handler=_Quiet)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}/callback"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        text = "Nothing here."
        if request.path == "/callback" and not self.arrived.is_set():
            self.answer.update(request.args.to_dict())
            self.arrived.set()
            text = "flask doctor has the answer: go back to the terminal."
        return Response(text, mimetype="text/plain")(environ, start_response)

    def wait(self, seconds: float) -> bool:
        """Serve until the callback arrives or the time is up; whether it arrived."""
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        try:
            return self.arrived.wait(seconds)
        finally:
            self.server.shutdown()
            self.server.server_close()


def sign_in(
    issuer: str,
    client_id: str,
    client_secret: str,
    *,
    port: int,
    timeout: float,
    show: Callable[[str, str], None],
    wait: float = 300,
) -> tuple[Result, str | None]:
    """Send a browser through the IdP's login to a local callback; the ID token it brings.

    show(url, redirect_uri) tells the person where to go. The code is redeemed with PKCE and
    the client's credentials, and the ID token verified like a portal sign-in.
    """
    url = discovery_url(issuer)
    try:
        _, metadata = get_json("GET", url, timeout)
        authorize = metadata["authorization_endpoint"]
    except (requests.RequestException, KeyError, TypeError) as error:
        return failed(SIGN_IN, f"{url} is not usable ({error!r}).", "See the IdP checks."), None
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    digest = hashlib.sha256(verifier.encode()).digest()
    callback = _Callback(port)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": callback.redirect_uri,
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "code_challenge": base64.urlsafe_b64encode(digest).decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    show(f"{authorize}?{urlencode(query)}", callback.redirect_uri)
    allow = f"Allow {callback.redirect_uri} as a callback URL of the application, then retry."
    if not callback.wait(wait):
        detail = f"No sign-in came back to {callback.redirect_uri} within {wait:.0f} s."
        return failed(SIGN_IN, detail, allow), None
    answer = callback.answer
    if not secrets.compare_digest(answer.get("state", ""), state):
        return failed(SIGN_IN, "The callback's state is not this sign-in's.", "Retry."), None
    if "error" in answer:
        said = f"{answer['error']}: {answer.get('error_description', '')}".rstrip(": ")
        return failed(SIGN_IN, f"The IdP refused the sign-in ({said}).", allow), None
    data = {
        "grant_type": "authorization_code",
        "code": answer.get("code", ""),
        "redirect_uri": callback.redirect_uri,
        "code_verifier": verifier,
    }
    return _redeem(metadata, data, issuer, client_id, client_secret, nonce, timeout)


def _redeem(
    metadata: dict[str, Any],
    data: dict[str, str],
    issuer: str,
    client_id: str,
    secret: str,
    nonce: str,
    timeout: float,
) -> tuple[Result, str | None]:
    """Trade the code for tokens as the portal does, and verify the ID token like a sign-in."""
    fix = "See the IdP checks above."
    try:
        endpoint, jwks_uri = metadata["token_endpoint"], metadata["jwks_uri"]
        status, body = get_json("POST", endpoint, timeout, data=data, auth=(client_id, secret))
    except (requests.RequestException, KeyError) as error:
        return failed(SIGN_IN, f"The code could not be redeemed ({error!r}).", fix), None
    id_token = body.get("id_token") if isinstance(body, dict) else None
    if status != 200 or not isinstance(id_token, str):
        said = body.get("error") if isinstance(body, dict) else None
        return failed(SIGN_IN, f"The code was not redeemed: HTTP {status} {said}.", fix), None

    def fetch_keys() -> dict[str, Any]:
        response = requests.get(jwks_uri, timeout=timeout)
        response.raise_for_status()
        keys: dict[str, Any] = response.json()
        return keys

    keys = KeySetCache(fetch_keys)
    try:
        claims = verify_id_token(
            id_token, keys=keys, issuer=issuer, client_id=client_id, nonce=nonce
        )
    except (KeysUnavailable, TokenError) as error:
        reason = error.reason if isinstance(error, TokenError) else str(error)
        return failed(SIGN_IN, f"The ID token fails the portal's checks: {reason}", fix), None
    who = claims.get("email") or claims["sub"]
    return passed(
        SIGN_IN, f"Signed in as {who}; the ID token passes the portal's checks."
    ), id_token
