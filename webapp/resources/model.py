"""What every lister shares: a page of rows, the service descriptor, and how to read AWS errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

PAGE_SIZE = 50
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "UnauthorizedException",
        "Forbidden",
        "403",  # HeadObject has no body, so botocore reports the bare status as the code
    }
)
# 403s that mean "these credentials are broken", not "this role may not".
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "RequestExpired",
    }
)


@dataclass(frozen=True)
class Page:
    """One page of rows (dataclass instances) and the token that fetches the next page, if any."""

    items: list[Any]
    next_token: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form for the listing cache."""
        return {"items": [asdict(item) for item in self.items], "next_token": self.next_token}

    @classmethod
    def from_json(cls, data: dict[str, Any], item_type: type) -> Page:
        """Rebuild a page that to_json produced."""
        return cls([item_type(**item) for item in data["items"]], data["next_token"])


@dataclass(frozen=True)
class Column:
    """A table column: header, row attribute, and how to show it (text, size, time, number)."""

    title: str
    attr: str
    kind: str = "text"


@dataclass(frozen=True)
class Service:
    """A lister registered with the portal: adding a service is one module and one line."""

    name: str  # URL segment and cache key
    title: str
    client: str  # boto3 service name
    list: Callable[[Any, int, str | None], Page]  # (client, page_size, token) -> Page
    item_type: type
    columns: tuple[Column, ...]
    detail_endpoint: str | None = None  # per-row page, linked from the first column
    # A cheaper first page for the overview, which shows only names (e.g. no per-item calls).
    summary: Callable[[Any, int, str | None], Page] | None = None
    regional: bool = True  # listed in every AWS_REGIONS region; else once, in AWS_REGION

    def list_summary(self, client: Any, page_size: int) -> Page:
        """The overview's first page: the summary lister when there is one, else the list."""
        return (self.summary or self.list)(client, page_size, None)


def get_error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError, or the exception's class name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "")
    return type(exc).__name__


def is_denied(exc: Exception) -> bool:
    """True when AWS refused the call because of the role's permissions."""
    if not isinstance(exc, ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = get_error_code(exc)
    return code in DENIED_CODES or (status == 403 and code not in CREDENTIAL_CODES)


def describe_error(exc: Exception) -> str:
    """A short plain-words line for a failed call (code and message, never a traceback)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code') or 'Error'}: {error.get('Message') or 'no details'}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def to_timestamp(value: datetime | str | None) -> float | None:
    """A botocore datetime or an ISO-8601 string (Lambda's) as a Unix time."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.timestamp()
