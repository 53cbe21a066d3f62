"""What the resource pages share: the blueprint, the per-app state, page sizes, cached listings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, request

from ..credentials import AwsCredentials
from ..errors import render_error
from .cache import get_listing, put_listing
from .model import PAGE_SIZE, Page, Service, describe_error, is_denied

MAX_PAGE_SIZE = 1000

bp = Blueprint("resources", __name__, url_prefix="/resources")


def get_state() -> dict[str, Any]:
    """This app's executor, client cache and per-service timeout."""
    state: dict[str, Any] = current_app.extensions["webapp.resources"]
    return state


def get_client(creds: AwsCredentials, service: str, region: str | None = None) -> Any:
    """A cached boto3 client for this request's credentials, in region (else AWS_REGION)."""
    return get_state()["clients"].get(creds, service, region or current_app.config["AWS_REGION"])


def get_page_size() -> int:
    """The ?size= of this request, within 1..MAX_PAGE_SIZE (default PAGE_SIZE)."""
    size = request.args.get("size", type=int) or PAGE_SIZE
    return max(1, min(size, MAX_PAGE_SIZE))


def get_size_arg(size: int) -> dict[str, int]:
    """The size argument that pager links carry (none for the default size)."""
    return {} if size == PAGE_SIZE else {"size": size}


def get_cached(
    creds: AwsCredentials, item_type: type, load: Callable[[], Page], *parts: str
) -> Page:
    """A page from the listing cache, or loaded and kept for the next ~30 s."""
    # The key id is part of the key: another role (or renewed credentials) never sees this one.
    cached = get_listing(creds.access_key_id, *parts)
    if cached is not None:
        return Page.from_json(cached, item_type)
    page = load()
    put_listing(page.to_json(), creds.access_key_id, *parts)
    return page


def listing_parts(service_name: str, size: int, token: str | None) -> tuple[str, str, str]:
    """The listing-cache key of one page of a service's list."""
    return service_name, str(size), token or ""


def summary_parts(service: Service) -> tuple[str, ...]:
    """The listing-cache key of a service's overview panel: the list's first page, unless the
    service has a cheaper summary lister (whose page lacks what the list shows)."""
    if service.summary is not None:
        return "summary", service.name
    return listing_parts(service.name, PAGE_SIZE, None)


def aws_error(exc: Exception, creds: AwsCredentials, what: str) -> tuple[str, int]:
    """The error page for a failed AWS call: 403 for a denial, else AWS's words."""
    if is_denied(exc):
        return render_error(403, f"Your role {creds.role_name} is not permitted to {what}.")
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 502)
    code = 400 if 400 <= status < 500 else 502
    return render_error(code, f"AWS did not answer as expected ({describe_error(exc)}).")
