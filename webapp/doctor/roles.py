"""Which roles the portal may assume: ROLE_RULES parse, and every role ARN is well-formed."""

from __future__ import annotations

from collections.abc import Sequence

from ..config import ROLE_ARN, ConfigError
from ..credentials.roles import Rule, load_rules
from .result import Result, failed, passed

ROLES = "Role configuration"


def get_role_arns(rules: Sequence[Rule], default: str | None) -> list[str]:
    """The distinct roles the portal may assume: the rules' (in order), else AWS_ROLE_ARN."""
    if not rules:
        return [default] if default else []
    return list(dict.fromkeys(rule.role_arn for rule in rules))


def check_role_config(
    role_rules: str | None, default: str | None
) -> tuple[Result, list[Rule], list[str]]:
    """The verdict on ROLE_RULES / AWS_ROLE_ARN, the parsed rules and the role ARNs they name."""
    rules: list[Rule] = []
    if role_rules:
        try:
            rules = load_rules(role_rules)
        except ConfigError as error:
            fix = "Fix the rule file (README, Roles: claim, match, value, role_arn per rule)."
            return failed(ROLES, str(error), fix), [], []
    arns = get_role_arns(rules, default)
    if not arns:
        return (
            failed(
                ROLES,
                "Neither ROLE_RULES nor AWS_ROLE_ARN is set: nobody gets AWS credentials.",
                "Set ROLE_RULES to a rule file, or AWS_ROLE_ARN to the one role for everyone.",
            ),
            rules,
            arns,
        )
    malformed = [arn for arn in arns if not ROLE_ARN.match(arn)]
    if malformed:
        return (
            failed(
                ROLES,
                f"Not IAM role ARNs: {', '.join(map(repr, malformed))}.",
                "Write each role as arn:aws:iam::<12-digit account>:role/<name>.",
            ),
            rules,
            arns,
        )
    source = f"ROLE_RULES {role_rules!r} ({len(rules)} rules)" if rules else "AWS_ROLE_ARN"
    ignored = " AWS_ROLE_ARN is ignored while ROLE_RULES is set." if rules and default else ""
    detail = f"{source} names {len(arns)} well-formed role(s): {', '.join(arns)}.{ignored}"
    return passed(ROLES, detail), rules, arns
