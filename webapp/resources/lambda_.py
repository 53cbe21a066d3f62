"""Lambda: functions with runtime, memory and last change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Column, Page, Service, to_timestamp


@dataclass(frozen=True)
class Function:
    """One function as the function list shows it."""

    name: str
    runtime: str
    memory_mb: int | None
    last_modified: float | None


def list_functions(client: Any, page_size: int, token: str | None = None) -> Page:
    """One page of functions; the token is Lambda's Marker."""
    params: dict[str, Any] = {"MaxItems": page_size}
    if token:
        params["Marker"] = token
    answer = client.list_functions(**params)
    functions = [
        Function(
            name=f["FunctionName"],
            runtime=f.get("Runtime") or f.get("PackageType", "—"),  # images have no runtime
            memory_mb=f.get("MemorySize"),
            last_modified=to_timestamp(f.get("LastModified")),
        )
        for f in answer["Functions"]
    ]
    return Page(functions, answer.get("NextMarker"))


SERVICE = Service(
    name="lambda",
    title="Lambda functions",
    client="lambda",
    list=list_functions,
    item_type=Function,
    columns=(
        Column("Function", "name"),
        Column("Runtime", "runtime"),
        Column("Memory (MB)", "memory_mb", "number"),
        Column("Last modified", "last_modified", "time"),
    ),
)
