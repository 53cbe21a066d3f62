"""Fixes for moto bugs that make faithful clients fail; moto runs in this process, so patch it."""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSRequest


def patch_signature_check() -> None:
    """Verify SigV4 over the body the client really sent.

    moto rebuilds the request with `data=body or querystring`, and for a request with neither
    body nor query it fills the querystring with the headers. The re-signed payload then is
    the urlencoded headers, so e.g. Lambda ListFunctions (a bare GET) always fails with
    SignatureDoesNotMatch once enforcement is on. Form POSTs need the querystring (werkzeug
    has consumed their body), so only body-less methods are corrected.
    """
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase._create_aws_request
    if getattr(original, "devstack_patched", False):
        return

    def create_aws_request(self: Any) -> AWSRequest:
        request = original(self)
        if self._method in ("GET", "HEAD", "DELETE") and not self._body:
            request.data = b""
        return request

    create_aws_request.devstack_patched = True  # type: ignore[attr-defined]
    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]
