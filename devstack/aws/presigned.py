"""S3 presigned URLs (query-string SigV4): checked here as S3 does, then sent to moto header-signed.

moto's IAM enforcement reads only the Authorization header, so it refuses every presigned URL.
The front recomputes the query signature with botocore's signer over the same canonical request,
then re-signs the request in headers with the same credentials: moto's policy evaluation still
decides whether that principal may perform the action.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from botocore.auth import SIGV4_TIMESTAMP, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.wrappers import Request, Response

from .proxy import Proxy, raw_target
from .state import FrontState

REQUIRED = (
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)  # fmt: skip
TOKEN = "X-Amz-Security-Token"
AUTH_PARAMS = {*REQUIRED, TOKEN}
MAX_EXPIRES = 7 * 24 * 3600
# Client headers S3 acts on for object requests; browser noise (cookies, user agent) stays behind.
FORWARDED = {
    "range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since",
    "content-type", "content-md5", "content-encoding", "content-disposition", "content-language",
}  # fmt: skip
SIGNER_HEADERS = {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
MISSING = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
BAD_TOKEN = "The provided token is malformed or otherwise invalid."
BAD_CREDENTIAL = (
    "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
    'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)


class S3Error(Exception):
    """An S3 error answer: code, message, HTTP status and the extra elements S3 adds."""

    def __init__(self, code: str, message: str, status: int, **extra: str) -> None:
        super().__init__(code)
        self.code, self.message, self.status, self.extra = code, message, status, extra

    def response(self) -> Response:
        """Render the error as S3's XML body."""
        fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in self.extra.items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{fields}"
            f"<RequestId>{secrets.token_hex(8).upper()}</RequestId>"
            f"<HostId>{secrets.token_urlsafe(48)}</HostId></Error>"
        )
        return Response(body, self.status, content_type="application/xml")


def bad_query(message: str) -> S3Error:
    return S3Error("AuthorizationQueryParametersError", message, 400)


@dataclass(frozen=True)
class Presigned:
    """A presigned request whose signature checked out."""

    access_key: str
    credentials: Credentials
    region: str


class PresignedUrls:
    """Verifies presigned S3 requests and forwards them to moto signed in headers."""

    def __init__(self, state: FrontState, front_user: Credentials, proxy: Proxy) -> None:
        self.state = state
        self.front_user = front_user
        self.proxy = proxy

    def verify(self, request: Request) -> Presigned:
        """Check the query signature as S3 does; raise S3Error with S3's answer if it fails."""
        pairs = query_pairs(raw_target(request))
        params = dict(pairs)
        if any(name not in params for name in REQUIRED):
            raise bad_query(MISSING)
        if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            raise bad_query('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
        access_key, *scope = params["X-Amz-Credential"].split("/")
        if len(scope) != 4 or scope[3] != "aws4_request":
            raise bad_query(BAD_CREDENTIAL)
        date, region = scope[:2]  # the front routes only service s3 here
        timestamp = params["X-Amz-Date"]
        try:
            signed_at = datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
            expires = int(params["X-Amz-Expires"])
        except ValueError:
            raise bad_query("X-Amz-Date and X-Amz-Expires must be well-formed") from None
        if expires < 0:
            raise bad_query("X-Amz-Expires must be non-negative")
        if expires > MAX_EXPIRES:
            raise bad_query(
                "X-Amz-Expires must be less than a week (in seconds) that is, "
                f"the given X-Amz-Expires must be less than {MAX_EXPIRES} seconds"
            )
        if date != timestamp[:8]:
            raise bad_query("Invalid credential date. Date is not the same as X-Amz-Date.")
        credentials, expiration = self.lookup(access_key)
        now = self.state.now()
        if now > signed_at.timestamp() + expires:
            raise S3Error(
                "AccessDenied", "Request has expired", 403,
                **{"X-Amz-Expires": str(expires), "Expires": iso(signed_at.timestamp() + expires),
                   "ServerTime": iso(now)},
            )  # fmt: skip
        if signed_at.timestamp() > now + 900:
            raise S3Error("AccessDenied", "Request is not valid yet", 403)
        signed_headers = tuple(params["X-Amz-SignedHeaders"].split(";"))
        names = {name.lower() for name, _ in request.headers.items()}
        unsigned = sorted(n for n in names if n.startswith("x-amz-") and n not in signed_headers)
        if unsigned:
            message = "There were headers present in the request which were not signed"
            raise S3Error("AccessDenied", message, 403, HeadersNotSigned=", ".join(unsigned))
        aws = AWSRequest(
            method=request.method,
            url=f"{request.scheme}://{request.host}{raw_target(request).partition('?')[0]}",
            headers={k: v for k, v in request.headers.items() if k.lower() in signed_headers},
        )
        aws.params = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
        aws.context["timestamp"] = timestamp
        auth = S3SigV4QueryAuth(credentials, "s3", region, expires)
        canonical = auth.canonical_request(aws)
        string_to_sign = auth.string_to_sign(aws, canonical)
        provided = params["X-Amz-Signature"]
        if not hmac.compare_digest(auth.signature(string_to_sign, aws), provided):
            raise S3Error(
                "SignatureDoesNotMatch", MISMATCH, 403, AWSAccessKeyId=access_key,
                StringToSign=string_to_sign, SignatureProvided=provided, CanonicalRequest=canonical,
            )  # fmt: skip
        if credentials.token is not None and credentials.token != params.get(TOKEN):
            raise S3Error("InvalidToken", BAD_TOKEN, 400)
        if expiration is not None and now > expiration:
            raise S3Error("ExpiredToken", "The provided token has expired.", 400)
        return Presigned(access_key, credentials, region)

    def lookup(self, access_key: str) -> tuple[Credentials, float | None]:
        """Credentials (and expiry) of a key the front issued or holds; else InvalidAccessKeyId."""
        with self.state.lock:
            session = self.state.sessions.get(access_key)
        if session is not None:
            credentials = Credentials(access_key, session.secret_access_key, session.session_token)
            return credentials, session.expiration
        if access_key == self.front_user.access_key:
            return self.front_user, None
        message = "The AWS Access Key Id you provided does not exist in our records."
        raise S3Error("InvalidAccessKeyId", message, 403, AWSAccessKeyId=access_key)

    def forward(self, request: Request, body: bytes, presigned: Presigned) -> Response:
        """Send the request to moto without the query auth, signed in headers instead."""
        path, _, query = raw_target(request).partition("?")
        kept = [(k, v) for k, v in query_pairs("?" + query) if k not in AUTH_PARAMS]
        encoded = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in kept)
        url = self.proxy.moto_url + path + (f"?{encoded}" if encoded else "")
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in FORWARDED
            or (k.lower().startswith("x-amz-") and k.lower() not in SIGNER_HEADERS)
        }
        aws = AWSRequest(method=request.method, url=url, data=body, headers=headers)
        S3SigV4Auth(presigned.credentials, "s3", presigned.region).add_auth(aws)
        return self.proxy.relay(request.method, url, dict(aws.headers.items()), body)


def query_pairs(target: str) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs of the query, in order; '+' stays a plus as S3 reads it."""
    query = target.partition("?")[2]
    return [
        (unquote(name), unquote(value))
        for name, _, value in (pair.partition("=") for pair in query.split("&") if pair)
    ]


def iso(epoch: float) -> str:
    """S3's timestamp format in error bodies."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
