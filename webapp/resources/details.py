"""Pages below a service: browsing an S3 bucket, downloading an object, one DynamoDB table."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from flask import abort, redirect, render_template, request

from ..auth import login_required
from ..credentials import get_credentials
from ..errors import render_error
from . import dynamodb, s3
from .model import get_error_code
from .web import aws_error, bp, get_cached, get_client, get_page_size, get_size_arg

NOT_FOUND = frozenset({"NoSuchKey", "NoSuchBucket", "404", "ResourceNotFoundException"})


@bp.get("/s3/<name>")
@login_required
def bucket(name: str) -> Any:
    """Folders and objects under ?prefix=, one page at a time, with breadcrumbs."""
    creds = get_credentials()
    prefix = request.args.get("prefix", "")
    size, token = get_page_size(), request.args.get("token") or None
    client = get_client(creds, "s3")
    try:
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
        if get_error_code(exc) in NOT_FOUND:
            abort(404, f"There is no bucket named {name!r}.")
        return aws_error(exc, creds, f"list s3://{name}/{prefix}")
    return render_template(
        "resources/bucket.html",
        bucket=name,
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
    client = get_client(creds, "s3")
    try:
        s3.check_readable(client, name, key)
    except (ClientError, BotoCoreError) as exc:
        if get_error_code(exc) in NOT_FOUND:
            return render_error(404, f"There is no object s3://{name}/{key}.")
        return aws_error(exc, creds, f"read s3://{name}/{key}")
    return redirect(s3.get_download_url(client, name, key), 303)


@bp.get("/dynamodb/<name>")
@login_required
def table(name: str) -> Any:
    """Status, item count, size and key schema of one table."""
    creds = get_credentials()
    try:
        detail = dynamodb.describe_table(get_client(creds, "dynamodb"), name)
    except (ClientError, BotoCoreError) as exc:
        if get_error_code(exc) in NOT_FOUND:
            abort(404, f"There is no table named {name!r}.")
        return aws_error(exc, creds, f"describe the table {name}")
    return render_template("resources/table.html", table=detail, creds=creds)
