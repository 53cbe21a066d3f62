"""Listing across regions: which regions a page covers; one page per (service, region) at once."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, current_app, request

from .. import metrics
from ..config import REGION
from ..credentials import AwsCredentials
from .cache import get_listings, put_listings
from .fanout import Outcome, run_all
from .model import Page, Service
from .web import get_client, get_state


def get_regions(service: Service) -> list[str]:
    """Every AWS_REGIONS region for a regional service; AWS_REGION alone for a global one."""
    config = current_app.config
    return list(config["AWS_REGIONS"]) if service.regional else [config["AWS_REGION"]]


def get_region_arg(service: Service | None = None) -> str | None:
    """This request's ?region=, checked against AWS_REGIONS (400 malformed, 404 not listed)."""
    region = request.args.get("region") or None
    if region is None:
        return None
    if not REGION.fullmatch(region):
        abort(400, f"{region!r} is not an AWS region name (such as eu-west-1).")
    if service is not None and not service.regional:
        abort(400, f"{service.title} are global: they are not listed by region.")
    listed = current_app.config["AWS_REGIONS"]
    if region not in listed:
        abort(404, f"The portal does not list region {region}; it lists {', '.join(listed)}.")
    return region


@dataclass(frozen=True)
class Cell:
    """One service in one region: its listing-cache key and how to load its page with a client."""

    service: Service
    region: str
    parts: tuple[str, ...]
    load: Callable[[Any], Page]


@dataclass
class Listing:
    """One service's outcome in each region it was listed in, in AWS_REGIONS order."""

    service: Service
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    @property
    def rows(self) -> list[tuple[str, Any]]:
        """(region, item) for every item any region answered."""
        return [
            (region, item)
            for region, outcome in self.outcomes.items()
            if outcome.page is not None
            for item in outcome.page.items
        ]

    @property
    def failures(self) -> list[tuple[str, Outcome]]:
        """(region, outcome) for every region that was denied, failed or timed out."""
        return [(r, o) for r, o in self.outcomes.items() if o.page is None]

    @property
    def next_tokens(self) -> dict[str, str]:
        """region -> next token, for the regions that have more."""
        return {
            r: o.page.next_token for r, o in self.outcomes.items() if o.page and o.page.next_token
        }


def fetch(creds: AwsCredentials, cells: list[Cell]) -> list[Outcome]:
    """One outcome per cell: from the listing cache, else listed now, all at once on the pool."""
    # The key id is part of the key: another role (or renewed credentials) never sees this one.
    keys = [(creds.access_key_id, cell.region, *cell.parts) for cell in cells]
    found = get_listings(keys)
    metrics.count_listing_cache(found)
    outcomes: dict[int, Outcome] = {}
    jobs: dict[str, Callable[[], Page]] = {}
    for i, (cell, cached) in enumerate(zip(cells, found, strict=True)):
        if cached is not None:
            outcomes[i] = Outcome(page=Page.from_json(cached, cell.service.item_type))
        else:
            client = get_client(creds, cell.service.client, cell.region)
            jobs[str(i)] = functools.partial(cell.load, client)
    state = get_state()
    fresh = []
    for name, outcome in run_all(state["executor"], jobs, state["timeout"]).items():
        i = int(name)
        metrics.count_listing(cells[i].service.name, outcome.kind)
        if outcome.page is not None:
            fresh.append((outcome.page.to_json(), keys[i]))
        outcomes[i] = outcome
    put_listings(fresh)  # one round trip for them all
    return [outcomes[i] for i in range(len(cells))]


def encode_token(tokens: dict[str, str]) -> str | None:
    """The ?token= of the next page: each region's own next token, in one URL-safe string."""
    if not tokens:
        return None
    return base64.urlsafe_b64encode(json.dumps(tokens).encode()).decode().rstrip("=")


def decode_token(raw: str, regions: list[str]) -> dict[str, str]:
    """The region -> token map of a ?token= (400 if it is not one of ours for these regions)."""
    try:
        tokens = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        tokens = None
    if (
        not isinstance(tokens, dict)
        or not tokens
        or not all(isinstance(t, str) and t for t in tokens.values())
        or not set(tokens) <= set(regions)
    ):
        abort(400, "That page link is not valid here; start again from the first page.")
    return {r: tokens[r] for r in regions if r in tokens}
