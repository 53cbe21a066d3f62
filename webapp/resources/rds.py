"""RDS: DB instances with engine, class and status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Column, Page, Service

MIN_RECORDS, MAX_RECORDS = 20, 100  # DescribeDBInstances' bounds for MaxRecords


@dataclass(frozen=True)
class DbInstance:
    """One DB instance as the instance list shows it."""

    name: str  # DBInstanceIdentifier
    engine: str
    instance_class: str
    status: str


def list_db_instances(client: Any, page_size: int, token: str | None = None) -> Page:
    """One page of DB instances; the token is RDS's Marker."""
    params: dict[str, Any] = {"MaxRecords": max(MIN_RECORDS, min(page_size, MAX_RECORDS))}
    if token:
        params["Marker"] = token
    answer = client.describe_db_instances(**params)
    instances = [
        DbInstance(
            name=i["DBInstanceIdentifier"],
            engine=" ".join(filter(None, (i.get("Engine"), i.get("EngineVersion")))) or "—",
            instance_class=i.get("DBInstanceClass", "—"),
            status=i.get("DBInstanceStatus", "unknown"),
        )
        for i in answer.get("DBInstances", [])
    ]
    return Page(instances, answer.get("Marker"))


SERVICE = Service(
    name="rds",
    title="RDS databases",
    client="rds",
    list=list_db_instances,
    item_type=DbInstance,
    columns=(
        Column("DB instance", "name"),
        Column("Engine", "engine"),
        Column("Class", "instance_class"),
        Column("Status", "status"),
    ),
)
