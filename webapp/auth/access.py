"""Who may see a page: signed-in users, administrators; and where a sign-in may return to."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, url_for

from .. import sessions


def safe_next(target: str | None) -> str:
    """Return target if it is a same-origin relative path, else '/'."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anonymous visitors to sign in, then back here."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if sessions.get_user() is None:
            if request.method != "GET":
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed in with ADMIN_ROLE among the current roles (re-read from the IdP), else 403."""

    @login_required
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_app.config["ADMIN_ROLE"] not in (sessions.get_user() or {}).get("roles", []):
            abort(403, "This page is for administrators.")
        return view(*args, **kwargs)

    return wrapped
