"""Overview and per-service list pages, and the Refresh button."""

from __future__ import annotations

import functools
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import abort, redirect, render_template, request

from .. import metrics
from ..auth import login_required, safe_next
from ..credentials import get_credentials
from .cache import drop_listings, get_listings, put_listing
from .fanout import Outcome, run_all
from .model import PAGE_SIZE, Page
from .services import get_service, get_services
from .web import (
    aws_error,
    bp,
    get_cached,
    get_client,
    get_page_size,
    get_size_arg,
    get_state,
    listing_parts,
    summary_parts,
)


@bp.get("")
@login_required
def overview() -> Any:
    """A panel per service: the count and first rows, or why there are none."""
    creds = get_credentials()
    outcomes: dict[str, Outcome] = {}
    jobs = {}
    services = get_services()
    parts = {s.name: (creds.access_key_id, *summary_parts(s)) for s in services}
    found = get_listings(list(parts.values()))
    metrics.count_listing_cache(found)
    for service, cached in zip(services, found, strict=True):
        if cached is not None:
            outcomes[service.name] = Outcome(page=Page.from_json(cached, service.item_type))
        else:
            client = get_client(creds, service.client)
            jobs[service.name] = functools.partial(service.list_summary, client, PAGE_SIZE)
    state = get_state()
    for name, outcome in run_all(state["executor"], jobs, state["timeout"]).items():
        metrics.count_listing(name, outcome.kind)
        if outcome.page is not None:
            put_listing(outcome.page.to_json(), *parts[name])
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
    creds = get_credentials()
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
    drop_listings()
    return redirect(safe_next(request.form.get("next")), 303)
