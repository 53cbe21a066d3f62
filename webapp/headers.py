"""Response headers the portal sets itself: caching of private pages, and the security headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request

# Where AWS's federation endpoint sends the browser after Action=login (console.DESTINATION),
# and the regional console hosts that one redirects to.
CONSOLE_ORIGINS = ("https://console.aws.amazon.com", "https://*.console.aws.amazon.com")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000"


def no_store(response: Any) -> Any:
    """Mark a response that must never be cached (it shows a user's data or secrets)."""
    response.headers["Cache-Control"] = "no-store"
    return response


def get_origin(url: str) -> str:
    """scheme://host[:port] of a URL, as a CSP source expression names it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def content_security_policy(issuer: str, federation_url: str) -> str:
    """The portal's CSP: its own files only, no framing, forms only to where they redirect."""
    # Chromium checks form-action against every redirect a form submission follows, hop by hop:
    # POST /logout goes on to the IdP (and back), POST /resources/console to the federation
    # endpoint and from there to the console. `https:` instead would let an injected form post
    # anywhere.
    form_action = ["'self'", get_origin(issuer), get_origin(federation_url), *CONSOLE_ORIGINS]
    return "; ".join(
        [
            "default-src 'self'",
            "base-uri 'none'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "form-action " + " ".join(dict.fromkeys(form_action)),
        ]
    )


def _add_security_headers(response: Any) -> Any:
    """Add the security headers a view has not set itself (the console keeps no-referrer)."""
    response.headers.setdefault("Content-Security-Policy", current_app.extensions["webapp.headers"])
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    """Compute this app's CSP once and add the security headers to every answer."""
    app.extensions["webapp.headers"] = content_security_policy(
        app.config["AUTH0_ISSUER"], app.config["AWS_FEDERATION_URL"]
    )
    app.after_request(_add_security_headers)
