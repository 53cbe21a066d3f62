"""Overview and per-service list pages, and the Refresh button."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import abort, current_app, redirect, render_template, request

from .. import sts
from ..auth import login_required, safe_next
from ..errors import render_error
from . import bp, cache, get_service, get_services, get_state
from .model import PAGE_SIZE, Page, describe_error, is_denied
from .overview import Outcome, run_all

MAX_PAGE_SIZE = 1000


def get_client(creds: sts.AwsCredentials, service: str) -> Any:
    """A cached boto3 client for this request's credentials."""
    return get_state()["clients"].get(creds, service, current_app.config["AWS_REGION"])


def get_page_size() -> int:
    """The ?size= of this request, within 1..MAX_PAGE_SIZE (default PAGE_SIZE)."""
    size = request.args.get("size", type=int) or PAGE_SIZE
    return max(1, min(size, MAX_PAGE_SIZE))


def get_size_arg(size: int) -> dict[str, int]:
    """The size argument that pager links carry (none for the default size)."""
    return {} if size == PAGE_SIZE else {"size": size}


def get_cached(
    creds: sts.AwsCredentials, item_type: type, load: Callable[[], Page], *parts: str
) -> Page:
    """A page from the listing cache, or loaded and kept for the next ~30 s."""
    # The key id is part of the key: another role (or renewed credentials) never sees this one.
    cached = cache.get_listing(creds.access_key_id, *parts)
    if cached is not None:
        return Page.from_json(cached, item_type)
    page = load()
    cache.put_listing(page.to_json(), creds.access_key_id, *parts)
    return page


def listing_parts(service_name: str, size: int, token: str | None) -> tuple[str, str, str]:
    """The listing-cache key of one page of a service (the overview shares the first page's)."""
    return service_name, str(size), token or ""


def aws_error(exc: Exception, creds: sts.AwsCredentials, what: str) -> tuple[str, int]:
    """The error page for a failed AWS call: 403 for a denial, else AWS's words."""
    if is_denied(exc):
        return render_error(403, f"Your role {creds.role_name} is not permitted to {what}.")
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 502)
    code = 400 if 400 <= status < 500 else 502
    return render_error(code, f"AWS did not answer as expected ({describe_error(exc)}).")


@bp.get("")
@login_required
def overview() -> Any:
    """A panel per service: the count and first rows, or why there are none."""
    creds = sts.get_credentials()
    outcomes: dict[str, Outcome] = {}
    jobs = {}
    services = get_services()
    for service in services:
        cached = cache.get_listing(
            creds.access_key_id, *listing_parts(service.name, PAGE_SIZE, None)
        )
        if cached is not None:
            outcomes[service.name] = Outcome(page=Page.from_json(cached, service.item_type))
        else:
            client = get_client(creds, service.client)
            jobs[service.name] = functools.partial(service.list, client, PAGE_SIZE, None)
    state = get_state()
    for name, outcome in run_all(state["executor"], jobs, state["timeout"]).items():
        if outcome.page is not None:
            parts = listing_parts(name, PAGE_SIZE, None)
            cache.put_listing(outcome.page.to_json(), creds.access_key_id, *parts)
        outcomes[name] = outcome
    return render_template(
        "resources/overview.html", services=services, outcomes=outcomes, creds=creds
    )


@bp.get("/<service_name>")
@login_required
def service_list(service_name: str) -> Any:
    """One page of one service's resources, with a next link when there are more."""
    service = get_service(service_name)
    if service is None:
        abort(404, f"There is no resource page for {service_name!r}.")
    creds = sts.get_credentials()
    size, token = get_page_size(), request.args.get("token") or None
    client = get_client(creds, service.client)
    try:
        page = get_cached(
            creds,
            service.item_type,
            lambda: service.list(client, size, token),
            *listing_parts(service.name, size, token),
        )
    except (ClientError, BotoCoreError) as exc:
        return aws_error(exc, creds, f"list {service.title}")
    return render_template(
        "resources/list.html",
        service=service,
        page=page,
        size_arg=get_size_arg(size),
        token=token,
        creds=creds,
    )


@bp.post("/refresh")
@login_required
def refresh() -> Any:
    """Drop this session's cached listings, then go back to the page the button was on."""
    cache.drop_listings()
    return redirect(safe_next(request.form.get("next")), 303)
