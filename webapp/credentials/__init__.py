"""Credentials: which roles a user may assume, the STS broker, why it failed, and the pages that
hand the credentials out (role picker, console sign-in, CLI credentials)."""

from __future__ import annotations

import logging

from flask import Flask

from ..auth import SignInAgain
from . import broker, cli, console, picker, problems  # noqa: F401  (routes are on bp)
from .blueprint import bp
from .broker import AwsCredentials, chosen_role, get_credentials, load_cached, offered_roles
from .problems import NoRoleError, RoleChoiceNeeded, StsProblem, explain
from .roles import load_rules

log = logging.getLogger(__name__)

__all__ = [
    "AwsCredentials",
    "NoRoleError",
    "RoleChoiceNeeded",
    "SignInAgain",
    "StsProblem",
    "chosen_role",
    "explain",
    "get_credentials",
    "init_app",
    "load_cached",
    "offered_roles",
]


def init_app(app: Flask) -> None:
    """Load the role rules, build the STS client, register the pages and the problem pages."""
    rules = load_rules(app.config["ROLE_RULES"]) if app.config["ROLE_RULES"] else []
    if not rules and not app.config["AWS_ROLE_ARN"]:
        log.warning("neither ROLE_RULES nor AWS_ROLE_ARN is set: nobody will get AWS credentials")
    broker.init_app(app, rules)
    problems.register_handlers(app)
    app.register_blueprint(bp)
