"""CloudWatch Logs: log groups with retention and stored size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Column, Page, Service

MAX_LIMIT = 50  # DescribeLogGroups' maximum limit


@dataclass(frozen=True)
class LogGroup:
    """One log group as the log group list shows it."""

    name: str
    retention_days: int | None  # None: kept forever
    stored_bytes: int | None
    created: float | None


def list_log_groups(client: Any, page_size: int, token: str | None = None) -> Page:
    """One page of log groups; the token is Logs' nextToken."""
    params: dict[str, Any] = {"limit": max(1, min(page_size, MAX_LIMIT))}
    if token:
        params["nextToken"] = token
    answer = client.describe_log_groups(**params)
    groups = [
        LogGroup(
            name=g["logGroupName"],
            retention_days=g.get("retentionInDays"),
            stored_bytes=g.get("storedBytes"),
            created=g["creationTime"] / 1000 if g.get("creationTime") else None,  # milliseconds
        )
        for g in answer.get("logGroups", [])
    ]
    return Page(groups, answer.get("nextToken"))


SERVICE = Service(
    name="logs",
    title="CloudWatch log groups",
    client="logs",
    list=list_log_groups,
    item_type=LogGroup,
    columns=(
        Column("Log group", "name"),
        Column("Retention (days)", "retention_days", "number"),
        Column("Stored", "stored_bytes", "size"),
        Column("Created", "created", "time"),
    ),
)
