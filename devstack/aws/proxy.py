"""Pass-through to moto, plus the error shapes moto gets wrong for JSON-protocol services."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import urllib3
from werkzeug.wrappers import Request, Response

from .errors import StsError

# Server and Date too: werkzeug adds its own, and duplicates confuse clients.
HOP_BY_HOP = {
    "server", "date", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailers", "transfer-encoding", "upgrade", "expect",
}  # fmt: skip
S3_DENIED = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'  # noqa: E501
# moto renders IAM-enforcement errors as XML for every service; JSON-protocol services name them so.
JSON_CODES = {
    "AccessDenied": "AccessDeniedException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
}
XML_ERROR = re.compile(rb"<Code>([^<]*)</Code>\s*<Message>([^<]*)</Message>")


class Proxy:
    """Forwards requests to moto unchanged and streams the answers back."""

    def __init__(self, moto_url: str) -> None:
        self.moto_url = moto_url
        self.pool = urllib3.PoolManager(maxsize=32, retries=False)

    def forward(self, request: Request, body: bytes) -> Response:
        """Forward the request to moto unchanged and stream moto's answer back."""
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        if "Transfer-Encoding" in request.headers:
            headers.pop("Content-Length", None)
        # Keep the client's exact encoding of path and query: the SigV4 signature covers it.
        url = self.moto_url + raw_target(request)
        upstream = self.send(request.method, url, headers, body)
        out = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        if upstream.status >= 400 and is_json_protocol(request):
            return json_error(request, upstream.status, out, upstream.read())
        return Response(_stream(upstream), upstream.status, out, direct_passthrough=True)

    def send(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> urllib3.BaseHTTPResponse:
        """Send one request to moto; the answer is left unread for streaming."""
        return self.pool.request(
            method,
            url,
            body=body if body or method not in ("GET", "HEAD", "DELETE") else None,
            headers=headers,
            preload_content=False,
            decode_content=False,
            redirect=False,
        )

    def relay(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Response:
        """Send one request to moto and stream its answer back as it is."""
        upstream = self.send(method, url, headers, body)
        out = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(_stream(upstream), upstream.status, out, direct_passthrough=True)


def raw_target(request: Request) -> str:
    """Path and query as the client encoded them (werkzeug's own attributes are decoded)."""
    target = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not target:
        target = request.full_path if request.query_string else request.path
    return target if target.startswith("/") else _path_and_query(target)


def is_json_protocol(request: Request) -> bool:
    # JSON services carry X-Amz-Target; Lambda is REST-JSON under /2015-03-31/ and friends.
    return "X-Amz-Target" in request.headers or "/lambda/aws4_request" in request.headers.get(
        "Authorization", ""
    )


def json_error(request: Request, status: int, headers: list[Any], body: bytes) -> Response:
    """Re-render moto's XML enforcement error as the JSON error the service really sends."""
    match = XML_ERROR.search(body)
    if match is None:
        return Response(body, status, headers)
    code, message = match.group(1).decode(), match.group(2).decode()
    json_code = JSON_CODES.get(code, code)
    out = {"x-amzn-ErrorType": json_code}
    # SQS's JSON protocol is query-compatible: botocore takes the classic code from this header.
    if request.headers.get("X-Amz-Target", "").startswith("AmazonSQS."):
        out["x-amzn-query-error"] = f"{code};Sender"
    payload = json.dumps({"__type": json_code, "message": message})
    return Response(payload, status, out, content_type="application/x-amz-json-1.0")


def _path_and_query(target: str) -> str:
    parts = urlsplit(target)
    return parts.path + ("?" + parts.query if parts.query else "")


def _stream(upstream: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    try:
        yield from upstream.stream(64 * 1024, decode_content=False)
    finally:
        upstream.release_conn()


def unsigned_error(request: Request, params: dict[str, str]) -> Response:
    """What AWS says to an unsigned call; moto's enforcement would crash on it instead."""
    if "X-Amz-Target" in request.headers:
        body = {
            "__type": "MissingAuthenticationTokenException",
            "message": "Missing Authentication Token",
        }
        return Response(json.dumps(body), 400, content_type="application/x-amz-json-1.0")
    if "Action" in params:
        error = StsError(
            "MissingAuthenticationToken", "Request is missing Authentication Token", 403
        )
        return Response(error.to_xml(), 403, content_type="text/xml")
    return Response(S3_DENIED, 403, content_type="application/xml")
