"""Which AWS roles a user may assume: ROLE_RULES (claim → role) or the single AWS_ROLE_ARN."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import ROLE_ARN, ConfigError

MATCHES = ("equals", "contains", "starts_with")


@dataclass(frozen=True)
class Rule:
    """Offer role_arn when the claim matches value."""

    claim: str
    match: str
    value: str
    role_arn: str

    def applies_to(self, claims: Mapping[str, Any]) -> bool:
        """Whether the claims satisfy this rule (missing claim: never)."""
        actual = claims.get(self.claim)
        values = actual if isinstance(actual, list) else [actual]
        values = [v for v in values if isinstance(v, str | int | bool)]
        if self.match == "equals":
            return any(str(v) == self.value for v in values)
        if self.match == "starts_with":
            return any(str(v).startswith(self.value) for v in values)
        if isinstance(actual, list):
            return self.value in [str(v) for v in values]
        return isinstance(actual, str) and self.value in actual


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
    if not isinstance(entry, dict) or set(entry) != {"claim", "match", "value", "role_arn"}:
        raise ConfigError(f"{where}: expected exactly the keys claim, match, value, role_arn")
    if not all(isinstance(entry[k], str) and entry[k] for k in entry):
        raise ConfigError(f"{where}: every key needs a non-empty string")
    if entry["match"] not in MATCHES:
        raise ConfigError(f"{where}: match must be one of {', '.join(MATCHES)}")
    if not ROLE_ARN.match(entry["role_arn"]):
        raise ConfigError(f"{where}: role_arn is not an IAM role ARN: {entry['role_arn']!r}")
    return Rule(**entry)


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
