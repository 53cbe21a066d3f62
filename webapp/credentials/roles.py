"""Which AWS roles a user may assume: ROLE_RULES (claim → role) or the single AWS_ROLE_ARN."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..auth.claims import get_claim
from ..config import ROLE_ARN, ConfigError

MATCHES = ("equals", "contains", "starts_with", "ends_with", "email_domain")
CLAIM_TYPES = ("string", "list")
REQUIRED = {"claim", "match", "value", "role_arn"}
# Claims the OIDC, Auth0, Google and Entra documentation define as single strings: `contains` on
# them would be a substring test ("@example.com" in "mallory@example.com.attacker.test").
STRING_CLAIMS = frozenset(
    {"email", "sub", "iss", "azp", "sid", "name", "given_name", "family_name", "middle_name"}
    | {"nickname", "preferred_username", "upn", "hd", "tid", "oid", "locale", "zoneinfo"}
)


@dataclass(frozen=True)
class Rule:
    """Offer role_arn when the claim matches value."""

    claim: str
    match: str
    value: str
    role_arn: str
    claim_type: str | None = None

    def applies_to(self, claims: Mapping[str, Any]) -> bool:
        """Whether the claims satisfy this rule (missing claim: never)."""
        if self.match == "email_domain":
            return _verified_domain(claims) == self.value.lower()
        actual = get_claim(claims, self.claim)  # a name, or a dotted path into nested claims
        items = actual if isinstance(actual, list) else [actual]
        values = [str(v) for v in items if isinstance(v, str | int | bool)]
        if self.match == "starts_with":
            return any(v.startswith(self.value) for v in values)
        if self.match == "ends_with":
            return any(v.endswith(self.value) for v in values)
        # equals, and contains: membership of a list claim (a lone value counts as a list of
        # one), never a substring test.
        return self.value in values


def _verified_domain(claims: Mapping[str, Any]) -> str | None:
    """The part of `email` after its last @, lowercased, when `email_verified` is true."""
    email = claims.get("email")
    if claims.get("email_verified") is not True or not isinstance(email, str) or "@" not in email:
        return None
    return email.rpartition("@")[2].lower()


def load_rules(path: str) -> list[Rule]:
    """Parse a ROLE_RULES file; ConfigError names the file and the faulty rule."""
    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"ROLE_RULES: cannot read {path!r}: {exc}") from None
    entries = document.get("rules")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"ROLE_RULES: {path!r} has no [[rules]] entries")
    return [_rule(path, n, entry) for n, entry in enumerate(entries, start=1)]


def _rule(path: str, n: int, entry: Any) -> Rule:
    where = f"ROLE_RULES: rule {n} in {path!r}"
    if not isinstance(entry, dict) or not REQUIRED <= set(entry) <= REQUIRED | {"claim_type"}:
        raise ConfigError(
            f"{where}: expected the keys claim, match, value, role_arn (and optionally claim_type)"
        )
    if not all(isinstance(entry[k], str) and entry[k] for k in entry):
        raise ConfigError(f"{where}: every key needs a non-empty string")
    rule = Rule(**entry)
    if rule.match not in MATCHES:
        raise ConfigError(f"{where}: match must be one of {', '.join(MATCHES)}")
    if rule.claim_type not in (None, *CLAIM_TYPES):
        raise ConfigError(f"{where}: claim_type must be one of {', '.join(CLAIM_TYPES)}")
    if rule.claim in STRING_CLAIMS and rule.claim_type == "list":
        raise ConfigError(f"{where}: the claim {rule.claim!r} is a string, not a list")
    if rule.match == "email_domain" and (rule.claim != "email" or "@" in rule.value):
        raise ConfigError(
            f'{where}: email_domain needs claim = "email" and a domain as value, e.g. example.com'
        )
    string_claim = rule.claim_type == "string" or rule.claim in STRING_CLAIMS
    if rule.match == "contains" and string_claim:
        raise ConfigError(
            f"{where}: contains means list membership, not substring; for the string claim "
            f"{rule.claim!r} use equals, email_domain or ends_with"
        )
    if not ROLE_ARN.match(rule.role_arn):
        raise ConfigError(f"{where}: role_arn is not an IAM role ARN: {rule.role_arn!r}")
    return rule


def roles_for(claims: Mapping[str, Any], rules: Sequence[Rule], default: str | None) -> list[str]:
    """The distinct role ARNs this user may assume, in rule order."""
    if not rules:
        return [default] if default else []
    offered: list[str] = []
    for rule in rules:
        if rule.applies_to(claims) and rule.role_arn not in offered:
            offered.append(rule.role_arn)
    return offered


def role_name(arn: str) -> str:
    """The last path segment of a role ARN: arn:aws:iam::1:role/a/b → b."""
    return arn.rsplit("/", 1)[-1]
