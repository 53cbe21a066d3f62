"""Resource pages: what the signed-in user's role may see, one lister module per AWS service."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from .. import metrics
from . import details, search, views  # noqa: F401  (their routes and globals are on bp)
from .clients import ClientCache
from .locations import BucketRegions
from .services import SERVICES, get_service, get_services
from .web import bp

SERVICE_TIMEOUT_SECONDS = 10.0
MIN_WORKERS, MAX_WORKERS = 16, 64

__all__ = ["SERVICES", "get_service", "get_services", "init_app"]


def init_app(app: Flask) -> None:
    """Register the pages with their per-app state: the listing pool and the client cache."""
    # Room for one overview's every (service, region) at once, so its wall time stays about
    # one round trip whatever the number of regions; bounded all the same.
    cells = sum(len(app.config["AWS_REGIONS"]) if s.regional else 1 for s in SERVICES)
    workers = max(MIN_WORKERS, min(cells, MAX_WORKERS))
    app.extensions["webapp.resources"] = {
        "executor": ThreadPoolExecutor(workers, thread_name_prefix="lister"),
        "clients": ClientCache(
            endpoint_url=app.config["AWS_ENDPOINT_URL"], timeout=app.config["HTTP_TIMEOUT_SECONDS"]
        ),
        "timeout": SERVICE_TIMEOUT_SECONDS,
        "bucket_regions": BucketRegions(),
    }
    metrics.time_aws_calls(app, app.extensions["webapp.resources"]["clients"].events)
    app.register_blueprint(bp)
