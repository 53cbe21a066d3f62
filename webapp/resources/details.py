"""Pages below a service: browsing an S3 bucket, downloading an object, one DynamoDB table."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import abort, current_app, redirect, render_template, request

from ..auth import login_required
from ..credentials import AwsCredentials, get_credentials
from ..errors import render_error
from . import dynamodb, s3
from .model import get_error_code
from .regions import get_region_arg
from .web import aws_error, bp, get_cached, get_client, get_page_size, get_size_arg, get_state

NOT_FOUND = frozenset({"NoSuchKey", "NoSuchBucket", "404", "ResourceNotFoundException"})
# What S3 answers a request signed for another region than the bucket's.
WRONG_REGION = frozenset({"AuthorizationHeaderMalformed", "PermanentRedirect", "301"})


def get_bucket_client(creds: AwsCredentials, bucket: str) -> tuple[Any, str]:
    """An S3 client in the bucket's own region (looked up once, see locations.py), and it."""
    home = get_client(creds, "s3")
    found = get_state()["bucket_regions"].get(bucket, lambda b: s3.get_bucket_region(home, b))
    # Unknown (no such bucket, or S3 would not say): AWS_REGION, whose answer the page shows.
    region = found or current_app.config["AWS_REGION"]
    return get_client(creds, "s3", region), region


def forget_region(exc: Exception, bucket: str) -> None:
    """Drop a cached bucket region that S3 has just contradicted."""
    if get_error_code(exc) in WRONG_REGION:
        get_state()["bucket_regions"].forget(bucket)


@bp.get("/s3/<name>")
@login_required
def bucket(name: str) -> Any:
    """Folders and objects under ?prefix=, one page at a time, with breadcrumbs."""
    creds = get_credentials()
    prefix = request.args.get("prefix", "")
    size, token = get_page_size(), request.args.get("token") or None
    try:
        client, region = get_bucket_client(creds, name)
        page = get_cached(
            creds,
            s3.Entry,
            lambda: s3.list_objects(client, name, prefix, size, token),
            "s3-objects",
            name,
            prefix,
            str(size),
            token or "",
        )
    except (ClientError, BotoCoreError) as exc:
        forget_region(exc, name)
        if get_error_code(exc) in NOT_FOUND:
            abort(404, f"There is no bucket named {name!r}.")
        return aws_error(exc, creds, f"list s3://{name}/{prefix}")
    return render_template(
        "resources/bucket.html",
        bucket=name,
        region=region,
        prefix=prefix,
        crumbs=s3.get_breadcrumbs(prefix),
        page=page,
        size_arg=get_size_arg(size),
        token=token,
        creds=creds,
    )


@bp.get("/s3/<name>/object")
@login_required
def download(name: str) -> Any:
    """Redirect to a short-lived presigned GET URL, once HeadObject shows the role may read it."""
    key = request.args.get("key", "")
    if not key:
        abort(400, "Which object? The link has no key.")
    creds = get_credentials()
    try:
        # The URL is signed for the bucket's region: S3 refuses one signed for any other.
        client, _ = get_bucket_client(creds, name)
        s3.check_readable(client, name, key)
    except (ClientError, BotoCoreError) as exc:
        forget_region(exc, name)
        if get_error_code(exc) in NOT_FOUND:
            return render_error(404, f"There is no object s3://{name}/{key}.")
        return aws_error(exc, creds, f"read s3://{name}/{key}")
    return redirect(s3.get_download_url(client, name, key), 303)


@bp.get("/dynamodb/<name>")
@login_required
def table(name: str) -> Any:
    """Status, item count, size and key schema of one table in ?region= (else the first)."""
    creds = get_credentials()
    region = get_region_arg() or current_app.config["AWS_REGIONS"][0]
    try:
        detail = dynamodb.describe_table(get_client(creds, "dynamodb", region), name)
    except (ClientError, BotoCoreError) as exc:
        if get_error_code(exc) in NOT_FOUND:
            abort(404, f"There is no table named {name!r}.")
        return aws_error(exc, creds, f"describe the table {name}")
    return render_template("resources/table.html", table=detail, region=region, creds=creds)
