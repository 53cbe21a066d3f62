"""AssumeRoleWithWebIdentity as STS answers it, minting the credentials through moto."""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import boto3
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from .errors import STS_NS, StsError
from .signed import post_sts
from .state import FrontState, Session
from .tokens import JwksCache, check_claims, parse_token, verify_signature
from .trust import ACTION, check_trust, condition_context

SESSION_NAME = re.compile(r"[\w+=,.@-]*")
TAGS_CLAIM = "https://aws.amazon.com/tags"
DENIED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
TOO_LONG = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


def _invalid(value: Any, field: str, constraint: str) -> StsError:
    shown = "null" if value is None else f"'{value}'"
    return StsError(
        "ValidationError",
        f"1 validation error detected: Value {shown} at '{field}' failed to satisfy "
        f"constraint: Member {constraint}",
    )


def check_parameters(params: dict[str, str]) -> int:
    """Validate the request parameters as STS's model does; return DurationSeconds."""
    for field in ("RoleArn", "RoleSessionName", "WebIdentityToken"):
        if params.get(field) is None:
            raise _invalid(None, field[0].lower() + field[1:], "must not be null")
    name = params["RoleSessionName"]
    if len(name) < 2:
        raise _invalid(name, "roleSessionName", "must have length greater than or equal to 2")
    if len(name) > 64:
        raise _invalid(name, "roleSessionName", "must have length less than or equal to 64")
    if not SESSION_NAME.fullmatch(name):
        raise _invalid(
            name, "roleSessionName", r"must satisfy regular expression pattern: [\w+=,.@-]*"
        )
    token = params["WebIdentityToken"]
    if len(token) < 4:
        raise _invalid("***", "webIdentityToken", "must have length greater than or equal to 4")
    if len(token) > 20000:
        raise _invalid("***", "webIdentityToken", "must have length less than or equal to 20000")
    raw = params.get("DurationSeconds", "3600")
    try:
        duration = int(raw)
    except ValueError:
        raise _invalid(raw, "durationSeconds", "must be an integer") from None
    if duration < 900:
        raise _invalid(raw, "durationSeconds", "must have value greater than or equal to 900")
    if duration > 43200:
        raise _invalid(raw, "durationSeconds", "must have value less than or equal to 43200")
    return duration


def _tag_text_ok(text: str) -> bool:
    # STS's pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in text)


def _bad_tags(detail: str) -> StsError:
    return StsError("InvalidIdentityToken", f"Invalid session tags in the token: {detail}")


def check_session_tags(claims: dict[str, Any]) -> dict[str, str]:
    """Validate the session-tags claim as STS does; return the tags to attach (key -> value)."""
    if TAGS_CLAIM not in claims:
        return {}
    claim = claims[TAGS_CLAIM]
    tags = claim.get("principal_tags", {}) if isinstance(claim, dict) else None
    if not isinstance(tags, dict):
        raise _bad_tags("the claim must be an object with principal_tags")
    if len(tags) > 50:
        raise StsError("PackedPolicyTooLarge", "Serialized token too large for session")
    attached: dict[str, str] = {}
    for key, values in tags.items():
        if not 1 <= len(key) <= 128 or not _tag_text_ok(key) or key.lower().startswith("aws:"):
            raise _bad_tags(f"tag key '{key}' is not allowed")
        if key.lower() in {k.lower() for k in attached}:
            raise _bad_tags(f"duplicate tag key '{key}' (keys are case-insensitive)")
        if not (isinstance(values, list) and len(values) == 1 and isinstance(values[0], str)):
            raise _bad_tags(f"tag '{key}' must have exactly one string value")
        if len(values[0]) > 256 or not _tag_text_ok(values[0]):
            raise _bad_tags(f"the value of tag '{key}' is not allowed")
        attached[key] = values[0]
    transitive = claim.get("transitive_tag_keys", [])
    if not isinstance(transitive, list) or not all(isinstance(k, str) for k in transitive):
        raise _bad_tags("transitive_tag_keys must be a list of tag keys")
    lowered = {k.lower() for k in attached}
    for key in transitive:
        if key.lower() not in lowered:
            raise _bad_tags(f"transitive tag key '{key}' is not a session tag")
    return attached


class WebIdentitySts:
    """Answers AssumeRoleWithWebIdentity: token checks here, credentials from moto."""

    def __init__(
        self,
        moto_url: str,
        region: str,
        credentials: Credentials,
        state: FrontState,
        accounts: dict[str, Credentials] | None = None,
    ) -> None:
        self.moto_url = moto_url
        self.region = region
        self.credentials = credentials
        self.state = state
        self.jwks = JwksCache()
        self.iam = self._iam(credentials)
        # Further accounts: each has its own OIDC provider and roles, read with its front user
        # (moto serves an IAM call from the account of the access key that signed it).
        self.account_iams = {account: self._iam(keys) for account, keys in (accounts or {}).items()}

    def _iam(self, credentials: Credentials) -> Any:
        return boto3.client(
            "iam",
            endpoint_url=self.moto_url,
            region_name=self.region,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
        )

    def iam_for(self, role_arn: str) -> Any:
        """The IAM client of the role's account (STS looks up provider and role there)."""
        parts = role_arn.split(":")
        return self.account_iams.get(parts[4], self.iam) if len(parts) > 4 else self.iam

    def find_provider(self, issuer: str, iam: Any = None) -> tuple[str, str, list[str]]:
        """Return (arn, url, client IDs) of the IAM OIDC provider whose URL is `issuer`."""
        iam = iam or self.iam
        scheme, sep, rest = issuer.partition("://")
        if sep and scheme in ("https", "http"):
            for entry in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
                provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=entry["Arn"])
                # IAM stores the URL without its scheme; the rest must match exactly.
                if provider["Url"] == rest:
                    return entry["Arn"], rest, provider.get("ClientIDList", [])
        raise StsError(
            "InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {issuer}"
        )

    def get_role(self, role_arn: str) -> dict[str, Any]:
        """Fetch the role named by `role_arn`; a missing role is an AccessDenied, as in STS."""
        try:
            role = self.iam_for(role_arn).get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
        except ClientError:
            raise StsError("AccessDenied", DENIED) from None
        if role["Arn"] != role_arn:
            raise StsError("AccessDenied", DENIED)
        return role

    def assume(self, params: dict[str, str]) -> bytes:
        """Run every STS check, then mint credentials in moto; return STS's XML answer."""
        duration = check_parameters(params)
        token = parse_token(params["WebIdentityToken"])
        issuer = token.claims.get("iss")
        if not isinstance(issuer, str):
            raise StsError("InvalidIdentityToken", "Missing a required claim: iss")
        iam = self.iam_for(params["RoleArn"])
        provider_arn, provider_url, client_ids = self.find_provider(issuer, iam)
        verify_signature(token, issuer, self.jwks)
        aud = check_claims(token.claims, client_ids, now=self.state.now())
        tags = check_session_tags(token.claims)
        role = self.get_role(params["RoleArn"])
        policy = role["AssumeRolePolicyDocument"]
        if isinstance(policy, str):
            policy = json.loads(policy)
        actions = [ACTION, "sts:TagSession"] if tags else [ACTION]
        context = condition_context(provider_url, token.claims, aud)
        if not check_trust(policy, provider_arn, context, actions):
            raise StsError("AccessDenied", DENIED)
        if duration > role.get("MaxSessionDuration", 3600):
            raise StsError("ValidationError", TOO_LONG)
        body = self._mint(params)
        return self._patch(body, role, str(token.claims["sub"]), aud, issuer, tags)

    def _mint(self, params: dict[str, str]) -> bytes:
        # Signed with the front's IAM user: moto's enforcement cannot handle the unsigned call.
        response = post_sts(self.moto_url, self.region, self.credentials, params)
        if response.status_code != 200:
            raise StsError("IDPCommunicationError", f"moto refused the call: {response.text}")
        return response.content

    def _patch(
        self, body: bytes, role: dict[str, Any], sub: str, aud: str, iss: str, tags: dict[str, str]
    ) -> bytes:
        """Fix what moto gets wrong (AssumedRoleId) and add the web-identity fields it omits."""
        ET.register_namespace("", STS_NS)
        root = ET.fromstring(body)  # noqa: S314 - moto's own answer, not outside input
        ns = {"s": STS_NS}
        result = root.find("s:AssumeRoleWithWebIdentityResult", ns)
        user_el = result.find("s:AssumedRoleUser", ns)
        arn = user_el.find("s:Arn", ns).text
        session_name = arn.rsplit("/", 1)[-1]
        user_el.find("s:AssumedRoleId", ns).text = f"{role['RoleId']}:{session_name}"
        for tag, text in (("SubjectFromWebIdentityToken", sub), ("Audience", aud)):
            ET.SubElement(result, f"{{{STS_NS}}}{tag}").text = text
        ET.SubElement(result, f"{{{STS_NS}}}Provider").text = iss
        creds = result.find("s:Credentials", ns)
        key_id = creds.find("s:AccessKeyId", ns).text
        expiration = datetime.fromisoformat(creds.find("s:Expiration", ns).text)
        with self.state.lock:
            self.state.sessions[key_id] = Session(
                access_key_id=key_id,
                secret_access_key=creds.find("s:SecretAccessKey", ns).text,
                session_token=creds.find("s:SessionToken", ns).text,
                arn=arn,
                role_name=role["RoleName"],
                expiration=expiration.timestamp(),
                tags=tags,
            )
        return ET.tostring(root, encoding="utf-8", xml_declaration=False)
