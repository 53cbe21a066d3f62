"""EC2: instances with type, state and Name tag."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Column, Page, Service

MIN_RESULTS, MAX_RESULTS = 5, 1000  # DescribeInstances' bounds for MaxResults


@dataclass(frozen=True)
class Instance:
    """One instance as the instance list shows it."""

    instance_id: str
    name: str
    instance_type: str
    state: str


def list_instances(client: Any, page_size: int, token: str | None = None) -> Page:
    """One page of instances across reservations; the token is EC2's NextToken."""
    params: dict[str, Any] = {"MaxResults": max(MIN_RESULTS, min(page_size, MAX_RESULTS))}
    if token:
        params["NextToken"] = token
    answer = client.describe_instances(**params)
    instances = [
        Instance(
            instance_id=i["InstanceId"],
            name=get_name_tag(i.get("Tags", [])),
            instance_type=i.get("InstanceType", "—"),
            state=i.get("State", {}).get("Name", "unknown"),
        )
        for reservation in answer.get("Reservations", [])
        for i in reservation.get("Instances", [])
    ]
    return Page(instances, answer.get("NextToken"))


def get_name_tag(tags: list[dict[str, str]]) -> str:
    """The value of the Name tag, or an empty string."""
    return next((t.get("Value", "") for t in tags if t.get("Key") == "Name"), "")


SERVICE = Service(
    name="ec2",
    title="EC2 instances",
    client="ec2",
    list=list_instances,
    item_type=Instance,
    columns=(
        Column("Instance", "instance_id"),
        Column("Name", "name"),
        Column("Type", "instance_type"),
        Column("State", "state"),
    ),
)
