"""Log set-up for the entry points (gunicorn's config, scripts); the app factory never does it.

Every line is one JSON object: time (ISO 8601, UTC), level, logger, message, the request id and
the signed-in user's sub when logged during a request. Audit events carry their fields too.
What may be logged is the caller's care: never a token, an authorization code, a cookie or a
credential; nothing here adds one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import unquote_plus

from flask import has_request_context, session

from .request_id import get_request_id

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"  # plain text, for tools that want it
# Their DEBUG lines quote requests and answers: the ID token sent to STS, the credentials it
# returns, the federation URL that carries them. Never below INFO, whatever level is asked for.
QUIET_BELOW_INFO = ("botocore", "boto3", "urllib3", "authlib")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback becomes one escaped field)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line: dict[str, Any] = {
            "time": when.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "sub": getattr(record, "sub", None),
        }
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):  # audit.record's event: its fields, not its text twice
            line["message"] = str(audit.get("event"))
            line["audit"] = audit
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


class RequestContextFilter(logging.Filter):
    """Adds the request id and the signed-in user's sub to records logged during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate record (None outside a request); never drops one."""
        record.request_id = get_request_id() if has_request_context() else None
        record.sub = _signed_in_sub()
        return True


def _signed_in_sub() -> str | None:
    if not has_request_context():
        return None
    try:
        user = session.get("user")
    except (AssertionError, AttributeError):  # logged while the session is being opened
        return None
    sub = user.get("sub") if isinstance(user, dict) else None
    return sub if isinstance(sub, str) else None


def get_handler(stream: TextIO) -> logging.Handler:
    """A handler that writes JSON lines, with the request's id and user, to stream."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    return handler


def configure(level: int = logging.INFO) -> None:
    """Send the app's log lines (webapp.*, the audit trail included) to stderr as JSON, at level."""
    logging.basicConfig(level=level, handlers=[get_handler(sys.stderr)])
    for name in QUIET_BELOW_INFO:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    install_query_filter(logging.getLogger("werkzeug"))


# A request target in a log line: the path, then its query up to a space or quote.
TARGET = re.compile(r"(?P<path>/[^\s?\"']*)\?(?P<query>[^\s\"']*)")
SECRET_PARAMS = ("code=", "state=")


def install_query_filter(logger: logging.Logger) -> None:
    """Add HideSignInQuery to logger once (configure may run more than once)."""
    if not any(isinstance(f, HideSignInQuery) for f in logger.filters):
        logger.addFilter(HideSignInQuery())


class HideSignInQuery(logging.Filter):
    """Log /callback, or any path whose query has code= or state=, without its query."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message in place; never drop the record."""
        # werkzeug logs '... "%s" %s %s' with the request line as an argument: redact the
        # formatted message, so no argument is cut from under a %s.
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: logging reports it, not us
            return True
        hidden = hide_sign_in_query(message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


def hide_sign_in_query(text: str) -> str:
    """text with the query cut from request targets that may carry an authorization code."""
    return TARGET.sub(_path_only, text)


def _path_only(match: re.Match[str]) -> str:
    query = unquote_plus(match["query"]).lower()
    if match["path"].endswith("/callback") or any(p in query for p in SECRET_PARAMS):
        return match["path"]
    return match[0]
