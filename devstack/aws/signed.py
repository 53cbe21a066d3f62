"""SigV4-signed query calls from the front to moto (enforcement refuses anything unsigned)."""

from __future__ import annotations

from urllib.parse import urlencode

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def post_sts(
    moto_url: str, region: str, credentials: Credentials, params: dict[str, str]
) -> requests.Response:
    """POST an STS query-protocol call to moto, signed with `credentials`."""
    request = AWSRequest(
        method="POST",
        url=moto_url + "/",
        data=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(credentials, "sts", region).add_auth(request)
    return requests.post(request.url, data=request.body, headers=dict(request.headers), timeout=10)
