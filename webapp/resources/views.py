"""Overview and per-service list pages, and the Refresh button."""

from __future__ import annotations

import functools
from typing import Any

from flask import abort, current_app, redirect, render_template, request

from ..auth import login_required, safe_next
from ..credentials import AwsCredentials, get_credentials
from ..errors import render_error
from .cache import drop_listings
from .model import PAGE_SIZE, Page, Service
from .regions import (
    Cell,
    Listing,
    decode_token,
    encode_token,
    fetch,
    get_region_arg,
    get_regions,
)
from .services import get_service, get_services
from .web import bp, get_page_size, get_size_arg, listing_parts, summary_parts


@bp.get("")
@login_required
def overview() -> Any:
    """A panel per service: the count and first rows across regions, or why there are none."""
    creds = get_credentials()
    services = get_services()
    cells = [
        Cell(s, region, summary_parts(s), functools.partial(s.list_summary, page_size=PAGE_SIZE))
        for s in services
        for region in get_regions(s)
    ]
    listings = {s.name: Listing(s) for s in services}
    for cell, outcome in zip(cells, fetch(creds, cells), strict=True):
        listings[cell.service.name].outcomes[cell.region] = outcome
    return render_template(
        "resources/overview.html",
        services=services,
        listings=listings,
        regions=current_app.config["AWS_REGIONS"],
        creds=creds,
    )


@bp.get("/<service_name>")
@login_required
def service_list(service_name: str) -> Any:
    """One page of one service's resources in each region (or ?region=), with a next link."""
    service = get_service(service_name)
    if service is None:
        abort(404, f"There is no resource page for {service_name!r}.")
    region = get_region_arg(service)
    regions = [region] if region else get_regions(service)
    creds = get_credentials()
    size, token = get_page_size(), request.args.get("token") or None
    tokens: dict[str, str | None] = {r: None for r in regions}
    if token:
        tokens = dict(decode_token(token, regions))
    cells = [
        Cell(
            service,
            r,
            listing_parts(service.name, size, t),
            functools.partial(load_page, service, size=size, token=t),
        )
        for r, t in tokens.items()
    ]
    listing = Listing(service, dict(zip(tokens, fetch(creds, cells), strict=True)))
    if not listing.rows and len(listing.failures) == len(tokens):
        return all_failed(listing, creds)
    return render_template(
        "resources/list.html",
        service=service,
        listing=listing,
        region=region,
        regions=current_app.config["AWS_REGIONS"],
        next_token=encode_token(listing.next_tokens),
        size_arg=get_size_arg(size),
        pager_args={
            "service_name": service.name,
            **get_size_arg(size),
            **({"region": region} if region else {}),
        },
        token=token,
        creds=creds,
    )


def load_page(service: Service, client: Any, size: int, token: str | None) -> Page:
    """One page of service's list (cells hand it the client of their region)."""
    return service.list(client, size, token)


def all_failed(listing: Listing, creds: AwsCredentials) -> tuple[str, int]:
    """The error page when no region answered: 403 if every one refused, else AWS's words."""
    outcomes = [outcome for _, outcome in listing.failures]
    if all(o.denied for o in outcomes):
        what = listing.service.title
        return render_error(403, f"Your role {creds.role_name} is not permitted to list {what}.")
    words = "; ".join(f"{r}: {o.error}" for r, o in listing.failures if not o.denied)
    return render_error(502, f"AWS did not answer as expected ({words}).")


@bp.post("/refresh")
@login_required
def refresh() -> Any:
    """Drop this session's cached listings, then go back to the page the button was on."""
    drop_listings()
    return redirect(safe_next(request.form.get("next")), 303)
