"""Log set-up for the entry points (gunicorn's config, scripts); the app factory never does it."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure(level: int = logging.INFO) -> None:
    """Send the app's log lines (webapp.*, the audit trail included) to stderr at level."""
    logging.basicConfig(level=level, format=FORMAT)
