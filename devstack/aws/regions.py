"""Regions as AWS enforces them: S3 refuses a request signed for another region than the bucket's,
and the deny_regions switch refuses every call signed for a region (as an SCP on
aws:RequestedRegion would). moto accepts both, so the front answers them itself.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from .presigned import S3Error
from .proxy import S3_DENIED, is_json_protocol, json_error


def get_bucket_region(bucket: str) -> str | None:
    """The region moto created the bucket in (moto runs in this process), or None if none."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None
    partition, account_id = owner
    found = s3_backends[account_id][partition].buckets.get(bucket)
    return str(found.region_name) if found is not None else None


def check_bucket_region(request: Request, bucket: str | None, signed_region: str) -> None:
    """Raise S3's own error when a header-signed bucket request is signed for the wrong region."""
    expected = get_bucket_region(bucket) if bucket else None
    # GetBucketLocation answers from any region: it is how a client finds the right one.
    if expected is None or expected == signed_region or "location" in request.args:
        return
    message = (
        f"The authorization header is malformed; the region '{signed_region}' is wrong; "
        f"expecting '{expected}'"
    )
    raise S3Error("AuthorizationHeaderMalformed", message, 400, Region=expected)


def check_presigned_region(bucket: str | None, signed_region: str) -> None:
    """Raise S3's error for a presigned URL whose X-Amz-Credential names the wrong region."""
    expected = get_bucket_region(bucket) if bucket else None
    if expected is None or expected == signed_region:
        return
    message = (
        "Error parsing the X-Amz-Credential parameter; the region "
        f"'{signed_region}' is wrong; expecting '{expected}'"
    )
    raise S3Error("AuthorizationQueryParametersError", message, 400, Region=expected)


def wrong_region_response(request: Request, error: S3Error) -> Response:
    """S3's answer, with the x-amz-bucket-region header it adds (HEAD answers carry no body)."""
    response = error.response()
    response.headers["x-amz-bucket-region"] = error.extra["Region"]
    if request.method == "HEAD":
        response.set_data(b"")
    return response


def region_denied(request: Request, service: str, region: str) -> Response:
    """AccessDenied in the service's own error shape, for a call signed for a denied region."""
    if service == "s3":
        return Response(S3_DENIED, 403, content_type="application/xml")
    message = f"Access denied in {region}: explicit deny on aws:RequestedRegion (devstack switch)"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type>'
        f"<Code>AccessDenied</Code><Message>{message}</Message></Error></ErrorResponse>"
    )
    if is_json_protocol(request):
        return json_error(request, 403, [], xml.encode())
    return Response(xml, 403, content_type="text/xml")
