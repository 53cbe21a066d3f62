"""The services the portal lists: adding one is one lister module and one line here."""

from __future__ import annotations

from . import dynamodb, ec2, lambda_, logs, rds, s3, sqs
from .model import Service

SERVICES: list[Service] = [
    s3.SERVICE,
    dynamodb.SERVICE,
    lambda_.SERVICE,
    sqs.SERVICE,
    ec2.SERVICE,
    rds.SERVICE,
    logs.SERVICE,
]


def get_services() -> list[Service]:
    """The listed services, in the order the overview shows them."""
    return SERVICES


def get_service(name: str) -> Service | None:
    """The listed service with this URL name."""
    return next((s for s in SERVICES if s.name == name), None)
