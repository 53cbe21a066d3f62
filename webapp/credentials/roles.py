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
OPTIONAL = {"claim_type", "account_name", "role_label"}
LABEL_MAX = 64  # display names: one line of printable text, short enough for the header
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
    account_name: str | None = None  # display name of the role's account (picker, header)
    role_label: str | None = None  # display name of the role (default: its ARN's last segment)

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
    rules = [_rule(path, n, entry) for n, entry in enumerate(entries, start=1)]
    _check_names_agree(path, rules)
    return rules


def _check_names_agree(path: str, rules: Sequence[Rule]) -> None:
    """One account name per account ID and one label per role, whichever rule gives them."""
    accounts: dict[str, str] = {}
    labels: dict[str, str] = {}
    for n, rule in enumerate(rules, start=1):
        for table, key, value in (
            (accounts, account_id(rule.role_arn), rule.account_name),
            (labels, rule.role_arn, rule.role_label),
        ):
            if value is not None and table.setdefault(key, value) != value:
                raise ConfigError(
                    f"ROLE_RULES: rule {n} in {path!r}: {key} is already named "
                    f"{table[key]!r} by an earlier rule, not {value!r}"
                )


def _rule(path: str, n: int, entry: Any) -> Rule:
    where = f"ROLE_RULES: rule {n} in {path!r}"
    if not isinstance(entry, dict) or not REQUIRED <= set(entry) <= REQUIRED | OPTIONAL:
        raise ConfigError(
            f"{where}: expected the keys claim, match, value, role_arn (and optionally "
            "claim_type, account_name, role_label)"
        )
    if not all(isinstance(entry[k], str) and entry[k] for k in entry):
        raise ConfigError(f"{where}: every key needs a non-empty string")
    for key in ("account_name", "role_label"):
        label = entry.get(key)
        if label is not None and (len(label) > LABEL_MAX or not label.isprintable()):
            raise ConfigError(f"{where}: {key} must be one line of at most {LABEL_MAX} characters")
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


def account_id(arn: str) -> str:
    """The account ID of a role ARN: arn:aws:iam::123456789012:role/x → 123456789012."""
    return arn.split(":")[4]


@dataclass(frozen=True)
class OfferedRole:
    """A role as the picker and the header show it."""

    arn: str
    name: str  # the rule's role_label, else the ARN's last segment
    account_id: str
    account_name: str | None


def describe(arn: str, rules: Sequence[Rule]) -> OfferedRole:
    """The display names the rules give this role and its account (the first that names them)."""
    label = next((r.role_label for r in rules if r.role_arn == arn and r.role_label), None)
    account = account_id(arn)
    name = next(
        (r.account_name for r in rules if r.account_name and account_id(r.role_arn) == account),
        None,
    )
    return OfferedRole(arn, label or role_name(arn), account, name)


def by_account(arns: Sequence[str], rules: Sequence[Rule]) -> list[list[OfferedRole]]:
    """The roles grouped by account, accounts and roles in the order the rules first offer them."""
    groups: dict[str, list[OfferedRole]] = {}
    for arn in arns:
        role = describe(arn, rules)
        groups.setdefault(role.account_id, []).append(role)
    return list(groups.values())
