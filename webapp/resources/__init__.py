"""Resource pages: what the signed-in user's role may see, one lister module per AWS service."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Blueprint, Flask, current_app
from flask.blueprints import BlueprintSetupState

from . import dynamodb, ec2, lambda_, s3, sqs
from .clients import ClientCache
from .model import Service

# The registry: adding a service is one module and one line here.
SERVICES: list[Service] = [
    s3.SERVICE,
    dynamodb.SERVICE,
    lambda_.SERVICE,
    sqs.SERVICE,
    ec2.SERVICE,
]
SERVICE_TIMEOUT_SECONDS = 10.0
MAX_WORKERS = 16

bp = Blueprint("resources", __name__, url_prefix="/resources")


@bp.record_once
def _init_state(state: BlueprintSetupState) -> None:
    init_app(state.app)


def init_app(app: Flask) -> None:
    """Per-app state: the listing thread pool and the client cache (never per request)."""
    app.extensions["webapp.resources"] = {
        "executor": ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="lister"),
        "clients": ClientCache(endpoint_url=app.config.get("AWS_ENDPOINT_URL")),
        "timeout": SERVICE_TIMEOUT_SECONDS,
    }


def get_state() -> dict[str, Any]:
    """This app's executor, client cache and per-service timeout."""
    return current_app.extensions["webapp.resources"]


def get_services() -> list[Service]:
    """The registered services, in the order the overview shows them."""
    return SERVICES


def get_service(name: str) -> Service | None:
    """The registered service with this URL name."""
    return next((s for s in get_services() if s.name == name), None)


from . import cli_credentials, console, details, filters, views  # noqa: E402, F401  (routes on bp)
