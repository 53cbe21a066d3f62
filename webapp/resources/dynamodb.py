"""DynamoDB: table names, and one table's status, size and key schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Column, Page, Service, to_timestamp


@dataclass(frozen=True)
class Table:
    """One table as the table list shows it (ListTables returns names only)."""

    name: str


@dataclass(frozen=True)
class TableDetail:
    """What DescribeTable says about one table."""

    name: str
    status: str
    item_count: int | None
    size_bytes: int | None
    key_schema: list[tuple[str, str, str]]  # (attribute, HASH or RANGE, S/N/B)
    created: float | None
    billing_mode: str


def list_tables(client: Any, page_size: int, token: str | None = None) -> Page:
    """One page of table names; the token is the last name of the previous page."""
    params: dict[str, Any] = {"Limit": min(page_size, 100)}  # the API's own maximum
    if token:
        params["ExclusiveStartTableName"] = token
    answer = client.list_tables(**params)
    return Page(
        [Table(name) for name in answer["TableNames"]], answer.get("LastEvaluatedTableName")
    )


def describe_table(client: Any, name: str) -> TableDetail:
    """Status, approximate item count and size, and key schema of one table."""
    table = client.describe_table(TableName=name)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    schema = [
        (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
        for k in table.get("KeySchema", [])
    ]
    return TableDetail(
        name=table["TableName"],
        status=table.get("TableStatus", "UNKNOWN"),
        item_count=table.get("ItemCount"),
        size_bytes=table.get("TableSizeBytes"),
        key_schema=schema,
        created=to_timestamp(table.get("CreationDateTime")),
        billing_mode=table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
    )


SERVICE = Service(
    name="dynamodb",
    title="DynamoDB tables",
    client="dynamodb",
    list=list_tables,
    item_type=Table,
    columns=(Column("Table", "name"),),
    detail_endpoint="resources.table",
)
