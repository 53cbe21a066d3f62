"""S3: buckets, browsing a bucket by prefix, and presigned downloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .model import Column, Page, Service, to_timestamp

DOWNLOAD_SECONDS = 300


@dataclass(frozen=True)
class Bucket:
    """One bucket as the bucket list shows it."""

    name: str
    created: float | None


@dataclass(frozen=True)
class Entry:
    """A row of a bucket listing: a folder (common prefix) or an object."""

    key: str
    folder: bool
    size: int | None = None
    last_modified: float | None = None

    @property
    def name(self) -> str:
        """The last path segment, as shown under the current prefix."""
        return self.key.rstrip("/").rsplit("/", 1)[-1] + ("/" if self.folder else "")


def list_buckets(client: Any, page_size: int, token: str | None = None) -> Page:
    """One page of the buckets the account holds (ListAllMyBuckets)."""
    params: dict[str, Any] = {"MaxBuckets": page_size}
    if token:
        params["ContinuationToken"] = token
    answer = client.list_buckets(**params)
    buckets = [Bucket(b["Name"], to_timestamp(b.get("CreationDate"))) for b in answer["Buckets"]]
    return Page(buckets, answer.get("ContinuationToken"))


def list_objects(
    client: Any,
    bucket: str,
    prefix: str,
    page_size: int,
    token: str | None = None,
    delimiter: str = "/",
) -> Page:
    """One page of folders and objects under prefix (one ListObjectsV2 call; "" = flat)."""
    # A paginator with MaxItems counts only Contents and would keep calling through pages
    # that hold nothing but folders; one call per page keeps the cost of a page fixed.
    params: dict[str, Any] = {
        "Bucket": bucket,
        "Prefix": prefix,
        "MaxKeys": page_size,
    }
    if delimiter:
        params["Delimiter"] = delimiter
    if token:
        params["ContinuationToken"] = token
    answer = client.list_objects_v2(**params)
    folders = [Entry(p["Prefix"], True) for p in answer.get("CommonPrefixes", [])]
    objects = [
        Entry(o["Key"], False, o.get("Size", 0), to_timestamp(o.get("LastModified")))
        for o in answer.get("Contents", [])
        if o["Key"] != prefix  # the "folder marker" object some consoles create
    ]
    next_token = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
    return Page(folders + objects, next_token)


def check_readable(client: Any, bucket: str, key: str) -> None:
    """HeadObject: raises botocore's ClientError when the role may not read the object."""
    client.head_object(Bucket=bucket, Key=key)


def get_download_url(client: Any, bucket: str, key: str) -> str:
    """A presigned GET URL for the object, valid for DOWNLOAD_SECONDS."""
    return str(
        client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=DOWNLOAD_SECONDS
        )
    )


def get_bucket_region(client: Any, bucket: str) -> str | None:
    """GetBucketLocation, else the x-amz-bucket-region header S3 sends even with an error."""
    try:
        constraint = client.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        # us-east-1 answers with no constraint; "EU" is the legacy name of eu-west-1.
        return {"": "us-east-1", "EU": "eu-west-1"}.get(constraint or "", str(constraint))
    except ClientError as exc:
        found = get_region_header(exc.response)
    if found is None:
        try:
            found = get_region_header(client.head_bucket(Bucket=bucket))
        except ClientError as exc:
            found = get_region_header(exc.response)
    return found


def get_region_header(response: dict[str, Any]) -> str | None:
    """The x-amz-bucket-region header of a botocore response or error response."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    region = headers.get("x-amz-bucket-region")
    return str(region) if region else None


def get_breadcrumbs(prefix: str) -> list[tuple[str, str]]:
    """(label, prefix) for each folder level of prefix, outermost first."""
    crumbs, start = [], 0
    while (end := prefix.find("/", start)) != -1:
        crumbs.append((prefix[start:end] or "(empty)", prefix[: end + 1]))  # keys may hold "//"
        start = end + 1
    if start < len(prefix):
        crumbs.append((prefix[start:], prefix))
    return crumbs


SERVICE = Service(
    name="s3",
    title="S3 buckets",
    client="s3",
    list=list_buckets,
    item_type=Bucket,
    columns=(Column("Bucket", "name"), Column("Created", "created", "time")),
    detail_endpoint="resources.bucket",
    regional=False,  # ListBuckets answers for every region; each bucket lives in its own
)
