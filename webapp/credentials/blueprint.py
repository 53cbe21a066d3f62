"""The blueprint of the credential pages: the role picker, the console link, CLI credentials."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("credentials", __name__)
