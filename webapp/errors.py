"""Error pages: plain words, the right status, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    429: "Too many requests",
    500: "Something went wrong",
    502: "An upstream service failed",
    503: "Temporarily unavailable",
}


def render_error(status: int, message: str | None = None) -> tuple[str, int]:
    """The error page for a status code, with an optional plain-words message."""
    title = TITLES.get(status, "Error")
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _http_error(exc: HTTPException) -> Any:
    if exc.code is None or exc.code < 400:
        return exc
    # werkzeug's stock descriptions are fine; ours come through abort(code, "message").
    return render_error(exc.code, exc.description)


def _csrf_error(exc: CSRFError) -> Any:
    return render_error(400, "The form was stale or incomplete. Reload the page and try again.")


def _redis_down(exc: redis.RedisError) -> Any:
    log.error("session store unavailable: %s", exc)
    return render_error(503, ServiceUnavailable.description)


def _unexpected(exc: InternalServerError) -> Any:
    original = getattr(exc, "original_exception", None)
    if isinstance(original, redis.RedisError):
        return _redis_down(original)
    return render_error(500, "The error has been logged. Try again, or contact your administrator.")


def init_app(app: Flask) -> None:
    """Register the handlers for every error status."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(redis.RedisError, _redis_down)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(HTTPException, _http_error)
