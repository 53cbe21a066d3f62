"""Role rules: claim → role, exact where it matters; a rule that could be fooled stops start-up."""

from __future__ import annotations

import json

import pytest

from devstack.testing import AuthActions, app_config
from webapp import create_app, credentials
from webapp.auth.claims import user_from
from webapp.config import ConfigError
from webapp.credentials.roles import Rule, load_rules, roles_for

ADMIN = "arn:aws:iam::123456789012:role/portal-admin"
READER = "arn:aws:iam::123456789012:role/portal-reader"
ROLES_CLAIM = "https://aws-portal.example/roles"


def rules_file(tmp_path, *rules: dict[str, str]) -> str:
    """A ROLE_RULES file holding these rules; returns its path."""
    lines = []
    for rule in rules:
        lines.append("[[rules]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in rule.items()]
    path = tmp_path / "rules.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def rule(claim: str, match: str, value: str, **extra: str) -> dict[str, str]:
    return {"claim": claim, "match": match, "value": value, "role_arn": READER, **extra}


DOMAIN = Rule("email", "email_domain", "example.com", READER)


@pytest.mark.parametrize(
    ("claims", "offered"),
    [
        ({"email": "alice@example.com", "email_verified": True}, True),
        ({"email": "Alice@EXAMPLE.com", "email_verified": True}, True),
        ({"email": "mallory@example.com.attacker.test", "email_verified": True}, False),
        ({"email": "mallory@attacker-example.com", "email_verified": True}, False),
        ({"email": "mallory@sub.example.com", "email_verified": True}, False),
        ({"email": "example.com", "email_verified": True}, False),
        # The last @ decides: a quoted local part may itself hold an @.
        ({"email": '"x@example.com"@attacker.test', "email_verified": True}, False),
        ({"email": "alice@example.com", "email_verified": False}, False),
        ({"email": "alice@example.com", "email_verified": "true"}, False),
        ({"email": "alice@example.com", "email_verified": 1}, False),
        ({"email": "alice@example.com"}, False),
        ({"email": ["alice@example.com"], "email_verified": True}, False),
        ({"email_verified": True}, False),
    ],
)
def test_email_domain_needs_the_exact_domain_and_a_verified_address(claims, offered):
    assert DOMAIN.applies_to(claims) is offered


@pytest.mark.parametrize(
    ("match", "value", "claim_value", "offered"),
    [
        ("ends_with", ".corp.example", "build.corp.example", True),
        ("ends_with", ".corp.example", "corp.example.attacker.test", False),
        ("ends_with", "ops", ["dev", "platform-ops"], True),
        ("starts_with", "team-", ["team-a"], True),
        ("starts_with", "team-", "my-team-a", False),
        ("equals", "admin", ["admin", "reader"], True),
        ("equals", "admin", "administrators", False),
        # contains is membership: the list holds the value, never a substring of an element.
        ("contains", "admin", ["admin", "reader"], True),
        ("contains", "admin", ["superadmin"], False),
        ("contains", "admin", [], False),
        ("contains", "admin", "admin", True),  # one value where the IdP sends no array
        ("contains", "admin", "superadmin", False),
    ],
)
def test_matches(match, value, claim_value, offered):
    assert Rule("claim", match, value, READER).applies_to({"claim": claim_value}) is offered


def test_every_matching_rule_offers_its_role_once(tmp_path):
    path = rules_file(
        tmp_path,
        {**rule(ROLES_CLAIM, "contains", "admin"), "role_arn": ADMIN},
        rule("email", "email_domain", "example.com"),
        rule(ROLES_CLAIM, "contains", "reader", claim_type="list"),
    )
    rules = load_rules(path)
    alice = {"email": "a@example.com", "email_verified": True, ROLES_CLAIM: ["admin", "reader"]}
    assert roles_for(alice, rules, None) == [ADMIN, READER]
    assert roles_for({ROLES_CLAIM: ["reader-only"]}, rules, None) == []


@pytest.mark.parametrize("claim", ["email", "sub", "iss", "name", "nickname", "hd", "tid"])
def test_contains_on_a_documented_string_claim_stops_start_up(tmp_path, claim):
    path = rules_file(
        tmp_path,
        rule("https://x/roles", "contains", "admin"),
        rule(claim, "contains", "@example.com"),
    )
    with pytest.raises(ConfigError) as error:
        load_rules(path)
    message = str(error.value)
    assert "\n" not in message
    assert f"rule 2 in {path!r}" in message
    assert all(word in message for word in ("equals", "email_domain", "ends_with"))


def test_contains_on_a_claim_marked_string_stops_start_up(tmp_path):
    path = rules_file(tmp_path, rule("https://x/dept", "contains", "ops", claim_type="string"))
    with pytest.raises(ConfigError, match=r"rule 1 in .*use equals, email_domain or ends_with$"):
        load_rules(path)


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (rule("name", "email_domain", "example.com"), 'claim = "email"'),
        (rule("email", "email_domain", "@example.com"), "a domain as value"),
        (rule("email", "equals", "a@example.com", claim_type="list"), "is a string"),
        (rule(ROLES_CLAIM, "contains", "admin", claim_type="set"), "claim_type must be"),
        (rule(ROLES_CLAIM, "matches", "admin"), "match must be one of"),
        ({**rule(ROLES_CLAIM, "contains", "admin"), "extra": "x"}, "optionally claim_type"),
    ],
)
def test_malformed_rules_name_the_rule(tmp_path, entry, says):
    path = rules_file(tmp_path, entry)
    with pytest.raises(ConfigError) as error:
        load_rules(path)
    assert str(error.value).startswith(f"ROLE_RULES: rule 1 in {path!r}: ")
    assert says in str(error.value)


def test_the_app_refuses_to_start_with_a_substring_rule(devstack, redis_server, tmp_path):
    path = rules_file(tmp_path, rule("email", "contains", "@example.com"))
    with pytest.raises(ConfigError, match="rule 1"):
        create_app(app_config(devstack, redis_server, ROLE_RULES=path))


@pytest.fixture
def domain_app(devstack, redis_server, tmp_path):
    """An app whose one rule offers the reader role to verified @example.com addresses."""
    redis_server.client().flushdb()
    path = rules_file(tmp_path, rule("email", "email_domain", "example.com"))
    app = create_app(app_config(devstack, redis_server, ROLE_RULES=path))

    @app.get("/_probe/roles")
    def probe():
        return {"offered": credentials.offered_roles()}

    return app


@pytest.mark.parametrize(
    ("claims", "offered"),
    [
        ({}, [READER]),  # bob@example.com, verified
        ({"email": "mallory@example.com.attacker.test"}, []),
        ({"email_verified": False}, []),
    ],
)
def test_email_domain_through_a_real_sign_in(domain_app, devstack, claims, offered):
    if claims:
        devstack.idp("POST", "_devstack/misbehave", json={"id_token": {"claims": claims}})
    client = domain_app.test_client()
    assert AuthActions(client, devstack).login("bob").status_code == 302
    assert client.get("/_probe/roles").json == {"offered": offered}


KEYCLOAK = {
    "realm_access": {"roles": ["reader", "offline_access"]},
    "resource_access": {"aws-portal": {"roles": ["admin"]}, "other": {"roles": ["reader"]}},
}


@pytest.mark.parametrize(
    ("claim", "claims", "value", "offered"),
    [
        ("realm_access.roles", KEYCLOAK, "reader", True),
        ("realm_access.roles", KEYCLOAK, "admin", False),
        ("resource_access.aws-portal.roles", KEYCLOAK, "admin", True),
        ("resource_access.aws-portal.roles", KEYCLOAK, "reader", False),  # the other client's
        ("roles", {"roles": ["reader"]}, "reader", True),  # Entra ID
        ("groups", {"groups": ["reader"]}, "reader", True),  # Okta
        (ROLES_CLAIM, {ROLES_CLAIM: ["reader"]}, "reader", True),  # Auth0, dots and slashes
        # The path is never read into a namespaced claim's name, nor through lists or strings.
        (ROLES_CLAIM, {"https://aws-portal": {"example/roles": ["reader"]}}, "reader", False),
        ("realm_access.roles", {"realm_access": [{"roles": ["reader"]}]}, "reader", False),
        ("realm_access.roles", {"realm_access": "reader"}, "reader", False),
        ("realm_access.roles.0", KEYCLOAK, "reader", False),
        ("a.b", {"a.b": ["x"], "a": {"b": ["reader"]}}, "reader", False),  # literal name wins
        ("a.b", {"a.b": ["reader"], "a": {"b": ["x"]}}, "reader", True),
    ],
)
def test_rule_claims_may_be_dotted_paths_into_nested_objects(claim, claims, value, offered):
    rules = [Rule(claim, "contains", value, READER)]
    assert roles_for(claims, rules, None) == ([READER] if offered else [])


def test_roles_claim_may_be_a_dotted_path():
    claims = {"iss": "https://sso.example.com/realms/aws", "sub": "u1", **KEYCLOAK}
    assert user_from(claims, "realm_access.roles")["roles"] == ["reader", "offline_access"]
    assert user_from(claims, "resource_access.aws-portal.roles")["roles"] == ["admin"]
    assert user_from(claims, "realm_access")["roles"] == []  # an object is not a list of roles
    assert user_from({**claims, ROLES_CLAIM: ["x"]}, ROLES_CLAIM)["roles"] == ["x"]
