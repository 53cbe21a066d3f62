"""The WSGI front: STS web-identity answers, devstack switches, federation, proxy to moto."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from werkzeug.wrappers import Request, Response

from . import federation
from .abac import is_allowed, s3_request
from .errors import StsError
from .presigned import PresignedUrls, S3Error
from .proxy import S3_DENIED, Proxy, unsigned_error
from .regions import (
    check_bucket_region,
    check_presigned_region,
    region_denied,
    wrong_region_response,
)
from .state import FrontState
from .sts import WebIdentitySts

CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")  # key, region, service


class Front:
    """WSGI app in front of moto; see the module docstring for what it answers itself."""

    # (issuer URL, client ID) -> provider ARN; set by LocalAWS for POST /_devstack/providers.
    add_provider: Callable[[str, str], str] | None = None

    def __init__(
        self,
        moto_url: str,
        sts: WebIdentitySts,
        state: FrontState,
        tag_policies: dict[str, list[dict[str, Any]]],
    ) -> None:
        self.moto_url = moto_url
        self.sts = sts
        self.state = state
        self.tag_policies = tag_policies  # role name -> statements using ${aws:PrincipalTag/…}
        self.proxy = Proxy(moto_url)
        self.presigned = PresignedUrls(state, sts.credentials, self.proxy)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route one request: local answers first, everything else to moto."""
        body = request.get_data(cache=True, parse_form_data=False)
        params = dict(parse_qsl(request.query_string.decode()))
        if request.mimetype == "application/x-www-form-urlencoded":
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if request.path.startswith("/_devstack/"):
            return self.devstack(request)
        if request.path == "/federation":
            return self.federation(request)
        # The key: in Authorization (header auth) or X-Amz-Credential (presigned URLs).
        query_credential = "Credential=" + params.get("X-Amz-Credential", "") + "/"
        signed = CREDENTIAL.search(request.headers.get("Authorization", "") or query_credential)
        region = signed.group(2) if signed else ""
        with self.state.calling(region):
            if self.state.latency_ms and not request.path.startswith("/moto-api/"):
                time.sleep(self.state.latency_ms / 1000)  # a real region is a round trip away
            return self.call(request, body, params, signed)

    def call(
        self, request: Request, body: bytes, params: dict[str, str], signed: re.Match[str] | None
    ) -> Response:
        """An AWS API call: STS web identity here, S3's own checks, then moto."""
        if params.get("Action") == "AssumeRoleWithWebIdentity":
            return self.assume_role_with_web_identity(params)
        if not signed and not request.path.startswith("/moto-api/"):
            return unsigned_error(request, params)
        if signed is None:
            return self.proxy.forward(request, body)
        key, region, service = signed.groups()
        if region in self.state.deny_regions and service != "sts":
            return region_denied(request, service, region)
        if service == "s3" and "X-Amz-Signature" in params:
            return self.presigned_s3(request, body)
        if service == "s3":
            try:
                check_bucket_region(request, _bucket_and_key(request)[0], region)
            except S3Error as error:
                self.state.count_wrong_region()
                return wrong_region_response(request, error)
            if not self.tags_allow(request, key):
                return Response(S3_DENIED, 403, content_type="application/xml")
        return self.proxy.forward(request, body)

    def presigned_s3(self, request: Request, body: bytes) -> Response:
        """A presigned URL: S3's signature and region checks, the principal-tag rules, moto."""
        try:
            presigned = self.presigned.verify(request)
            check_presigned_region(_bucket_and_key(request)[0], presigned.region)
        except S3Error as error:
            if error.code == "AuthorizationQueryParametersError" and "Region" in error.extra:
                self.state.count_wrong_region()
                return wrong_region_response(request, error)
            return error.response()
        if not self.tags_allow(request, presigned.access_key):
            return Response(S3_DENIED, 403, content_type="application/xml")
        return self.presigned.forward(request, body, presigned)

    def assume_role_with_web_identity(self, params: dict[str, str]) -> Response:
        """Answer the web-identity call: forced errors first, then the real checks."""
        self.state.hold_sts()
        forced = self.state.take_forced_error()
        try:
            if forced is not None:
                raise StsError(forced["code"], forced.get("message"), forced.get("status"))
            xml = self.sts.assume(params)
        except StsError as error:
            self.state.count_sts(error.code)
            return Response(error.to_xml(), error.status, content_type="text/xml")
        self.state.count_sts("ok")
        return Response(xml, 200, content_type="text/xml")

    def devstack(self, request: Request) -> Response:
        """GET stats, GET credentials, POST reset, POST misbehave, POST providers, POST clock."""
        name = request.path.removeprefix("/_devstack/")
        if name == "stats" and request.method == "GET":
            return Response(json.dumps(self.state.stats()), content_type="application/json")
        if name == "credentials" and request.method == "GET":
            return Response(json.dumps(self.state.credentials), content_type="application/json")
        if name == "reset" and request.method == "POST":
            self.state.reset()
            return Response('{"status": "ok"}', content_type="application/json")
        if name == "misbehave" and request.method == "POST":
            switches = request.get_json(force=True, silent=True) or {}
            with self.state.lock:
                if "sts_error" in switches:
                    forced = switches["sts_error"]
                    forced = {"times": 1, **forced} if forced and forced.get("code") else None
                    self.state.forced_error = forced if forced and forced["times"] > 0 else None
                if "sts_delay_ms" in switches:
                    self.state.delay_ms = int(switches["sts_delay_ms"] or 0)
                if "latency_ms" in switches:
                    self.state.latency_ms = int(switches["latency_ms"] or 0)
                if "deny_regions" in switches:  # every call signed for these regions: denied
                    self.state.deny_regions = frozenset(switches["deny_regions"] or ())
            return Response('{"status": "ok"}', content_type="application/json")
        if name == "providers" and request.method == "POST" and self.add_provider is not None:
            # {"url": issuer, "client_id": …}: an IAM OIDC provider, trusted by every role.
            body = request.get_json(force=True, silent=True)
            url, client_id = (
                body.get(k) if isinstance(body, dict) else None for k in ("url", "client_id")
            )
            if not isinstance(url, str) or "://" not in url or not isinstance(client_id, str):
                return Response(
                    json.dumps({"error": "expected a JSON object with url and client_id"}),
                    400,
                    content_type="application/json",
                )
            arn = self.add_provider(url, client_id)
            return Response(json.dumps({"arn": arn}), content_type="application/json")
        if name == "clock" and request.method == "POST":
            # {"offset": seconds}: move the front's clock, e.g. past a presigned URL's expiry.
            body = request.get_json(force=True, silent=True)
            offset = body.get("offset") if isinstance(body, dict) else None
            if isinstance(offset, bool) or not isinstance(offset, int | float):
                return Response(
                    '{"error": "offset must be a number"}', 400, content_type="application/json"
                )
            with self.state.lock:
                self.state.clock_offset = float(offset)
            return Response(json.dumps({"offset": offset}), content_type="application/json")
        return Response('{"error": "not found"}', 404, content_type="application/json")

    def federation(self, request: Request) -> Response:
        """The signin.aws.amazon.com/federation stand-in."""
        args = request.args
        try:
            if args.get("Action") == "getSigninToken":
                token = federation.get_signin_token(
                    self.state,
                    self.moto_url,
                    self.sts.region,
                    args.get("Session", ""),
                    args.get("SessionDuration"),
                )
                return Response(json.dumps({"SigninToken": token}), content_type="application/json")
            if args.get("Action") == "login" and args.get("Destination"):
                page = federation.login(
                    self.state, args.get("SigninToken", ""), args["Destination"]
                )
                return Response(page, content_type="text/html")
        except federation.FederationError as error:
            return Response(str(error), 400, content_type="text/plain")
        return Response("Unsupported federation request", 400, content_type="text/plain")

    def tags_allow(self, request: Request, access_key_id: str) -> bool:
        """Evaluate the role's ${aws:PrincipalTag/…} statements that moto cannot (abac.py)."""
        with self.state.lock:
            session = self.state.sessions.get(access_key_id)
        statements = self.tag_policies.get(session.role_name) if session else None
        if session is None or statements is None:
            return True
        bucket, key = _bucket_and_key(request)
        if bucket is None:
            return True
        asked = s3_request(request.method, key, dict(request.args))
        if asked is None:
            return True
        action, prefix = asked
        resource = f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
        context = {"s3:prefix": prefix} if prefix is not None else {}
        return is_allowed(statements, session.tags, action, resource, context)


def _bucket_and_key(request: Request) -> tuple[str | None, str]:
    """The bucket and key of an S3 request: path-style, or virtual-hosted as BUCKET.localhost."""
    host = request.host.split(":")[0]
    path = unquote(request.path)
    if host.endswith(".localhost"):
        bucket = host.split(".", 1)[0]
        return bucket, path.lstrip("/")
    bucket, _, key = path.lstrip("/").partition("/")
    return (bucket or None), key
