"""The request id: nginx's X-Request-ID (or a new one), in log lines, the answer and error pages.

A user who quotes the id on an error page leads to the log lines of that request, nginx's and
gunicorn's access lines included.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Flask, has_request_context, request

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9-]{8,64}")  # nginx's $request_id is 32 hex digits
_KEY = "webapp.request_id"  # in the WSGI environ: one per request, whatever contexts it pushes


def get_request_id() -> str:
    """This request's id: the X-Request-ID it came with if well-formed, else a new one."""
    environ = request.environ
    if _KEY not in environ:
        sent = request.headers.get(HEADER, "")
        # Anything else (too long, or with characters that could forge a log line) is replaced.
        environ[_KEY] = sent if _VALID.fullmatch(sent) else uuid.uuid4().hex
    found: str = environ[_KEY]
    return found


def _echo(response: Any) -> Any:
    response.headers[HEADER] = get_request_id()
    return response


def _for_templates() -> dict[str, Any]:
    return {"request_id": get_request_id() if has_request_context() else None}


def init_app(app: Flask) -> None:
    """Answer every request with its id, and let templates (error pages) show it."""
    app.after_request(_echo)
    app.context_processor(_for_templates)
