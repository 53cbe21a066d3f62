"""STS error type and its XML wire format."""

from __future__ import annotations

import uuid
from xml.sax.saxutils import escape

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
# Codes STS answers with 403; every other client error is a 400.
FORBIDDEN_CODES = {"AccessDenied", "IDPRejectedClaim", "RegionDisabledException"}
DEFAULT_MESSAGES = {
    "InvalidIdentityToken": "Incorrect token audience",
    "ExpiredTokenException": "Token is expired",
    "IDPRejectedClaim": "The identity provider rejected the claim",
    "IDPCommunicationError": (
        "The request could not be fulfilled because the non-AWS identity provider (IDP) "
        "that was asked to verify the incoming identity token could not be reached."
    ),
    "AccessDenied": "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    "PackedPolicyTooLarge": "Serialized token too large for session",
    "MalformedPolicyDocument": "The policy document is malformed",
    "RegionDisabledException": "STS is not activated in the requested region for the account",
    "ValidationError": "1 validation error detected",
    "Throttling": "Rate exceeded",
}


class StsError(Exception):
    """An STS error answer: code, message and HTTP status."""

    def __init__(self, code: str, message: str | None = None, status: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message if message is not None else DEFAULT_MESSAGES.get(code, code)
        self.status = status or (403 if code in FORBIDDEN_CODES else 400)

    def to_xml(self) -> str:
        """Render the error the way STS does, so botocore raises ClientError with this code."""
        return (
            f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type>'
            f"<Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>"
            f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
