"""SQS: queues and their approximate message counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Column, Page, Service


@dataclass(frozen=True)
class Queue:
    """One queue as the queue list shows it."""

    name: str
    url: str
    messages: int | None


def list_queues(client: Any, page_size: int, token: str | None = None) -> Page:
    """One page of queues, each with its ApproximateNumberOfMessages."""
    params: dict[str, Any] = {"MaxResults": page_size}  # NextToken is only returned with it
    if token:
        params["NextToken"] = token
    answer = client.list_queues(**params)
    queues = [
        Queue(url.rsplit("/", 1)[-1], url, get_message_count(client, url))
        for url in answer.get("QueueUrls", [])
    ]
    return Page(queues, answer.get("NextToken"))


def get_message_count(client: Any, url: str) -> int | None:
    """ApproximateNumberOfMessages of one queue (None when the attribute is missing)."""
    attributes = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    ).get("Attributes", {})
    value = attributes.get("ApproximateNumberOfMessages")
    return int(value) if value is not None else None


SERVICE = Service(
    name="sqs",
    title="SQS queues",
    client="sqs",
    list=list_queues,
    item_type=Queue,
    columns=(Column("Queue", "name"), Column("Messages (approx.)", "messages", "number")),
)
