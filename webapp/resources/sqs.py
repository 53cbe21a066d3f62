"""SQS: queues and their approximate message counts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from .model import Column, Page, Service


@dataclass(frozen=True)
class Queue:
    """One queue as the queue list shows it."""

    name: str
    url: str
    messages: int | None


COUNT_WORKERS = 8  # GetQueueAttributes calls in flight at once for one page


def list_queue_names(client: Any, page_size: int, token: str | None = None) -> Page:
    """One page of queues without their counts: one call (what the overview shows)."""
    params: dict[str, Any] = {"MaxResults": page_size}  # NextToken is only returned with it
    if token:
        params["NextToken"] = token
    answer = client.list_queues(**params)
    queues = [Queue(url.rsplit("/", 1)[-1], url, None) for url in answer.get("QueueUrls", [])]
    return Page(queues, answer.get("NextToken"))


def list_queues(client: Any, page_size: int, token: str | None = None) -> Page:
    """One page of queues, each with its ApproximateNumberOfMessages (asked for in parallel)."""
    page = list_queue_names(client, page_size, token)
    if not page.items:
        return page
    with ThreadPoolExecutor(min(COUNT_WORKERS, len(page.items))) as pool:
        counts = list(pool.map(lambda q: get_message_count(client, q.url), page.items))
    queues = [replace(q, messages=n) for q, n in zip(page.items, counts, strict=True)]
    return Page(queues, page.next_token)


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
    summary=list_queue_names,
    item_type=Queue,
    columns=(Column("Queue", "name"), Column("Messages (approx.)", "messages", "number")),
)
