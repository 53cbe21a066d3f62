"""Log set-up for the entry points (gunicorn's config, scripts); the app factory never does it."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# A request target in a log line: the path, then its query up to a space or quote.
TARGET = re.compile(r"(?P<path>/[^\s?\"']*)\?(?P<query>[^\s\"']*)")
SECRET_PARAMS = ("code=", "state=")


def configure(level: int = logging.INFO) -> None:
    """Send the app's log lines (webapp.*, the audit trail included) to stderr at level."""
    logging.basicConfig(level=level, format=FORMAT)
    install_query_filter(logging.getLogger("werkzeug"))


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
