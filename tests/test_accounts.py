"""Roles across AWS accounts: display names, the picker grouped by account, the remembered
choice, the header, credentials kept per role, and the devstack's second account."""

from __future__ import annotations

import json

import pytest

from devstack.testing import AuthActions, csrf_token
from webapp.config import ConfigError
from webapp.credentials.roles import Rule, by_account, describe, load_rules

MAIN, SANDBOX = "123456789012", "210987654321"
ADMIN = f"arn:aws:iam::{MAIN}:role/portal-admin"
READER = f"arn:aws:iam::{MAIN}:role/portal-reader"
SANDBOX_ADMIN = f"arn:aws:iam::{SANDBOX}:role/sandbox-admin"
CLAIM = "https://aws-portal.example/roles"


def rules_file(tmp_path, *rules: dict[str, str]) -> str:
    lines = []
    for rule in rules:
        lines.append("[[rules]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in rule.items()]
    path = tmp_path / "rules.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def rule(role_arn: str = READER, **extra: str) -> dict[str, str]:
    return {"claim": CLAIM, "match": "contains", "value": "reader", "role_arn": role_arn, **extra}


def test_rules_may_name_the_account_and_the_role(tmp_path):
    path = rules_file(
        tmp_path,
        rule(ADMIN, account_name="Production", role_label="Administrator"),
        rule(READER),
        rule(SANDBOX_ADMIN, account_name="Sandbox"),
    )
    rules = load_rules(path)
    assert describe(READER, rules).account_name == "Production"  # named by another rule
    assert describe(READER, rules).name == "portal-reader"  # no label: the ARN's last segment
    assert describe(ADMIN, rules).name == "Administrator"
    groups = by_account([READER, SANDBOX_ADMIN, ADMIN], rules)
    assert [[r.arn for r in group] for group in groups] == [[READER, ADMIN], [SANDBOX_ADMIN]]
    assert [g[0].account_id for g in groups] == [MAIN, SANDBOX]


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"account_name": ""}, "non-empty string"),
        ({"role_label": "x" * 65}, "at most 64"),
        ({"role_label": "two\nlines"}, "one line"),
        ({"account_name": "Prod\u202e"}, "one line"),  # a bidi override could disguise the name
        ({"account_nmae": "Prod"}, "optionally claim_type, account_name, role_label"),
    ],
)
def test_bad_display_names_stop_start_up(tmp_path, extra, says):
    with pytest.raises(ConfigError, match=says) as caught:
        load_rules(rules_file(tmp_path, rule(**extra)))
    assert "ROLE_RULES: rule 1" in str(caught.value)


def test_two_names_for_one_account_or_role_stop_start_up(tmp_path):
    with pytest.raises(ConfigError, match=r"rule 2 .* 123456789012 is already named 'Prod'"):
        load_rules(rules_file(tmp_path, rule(account_name="Prod"), rule(ADMIN, account_name="P")))
    with pytest.raises(ConfigError, match=r"rule 2 .* already named 'Reader'"):
        load_rules(rules_file(tmp_path, rule(role_label="Reader"), rule(role_label="Other")))


def test_the_label_of_a_role_never_names_another(tmp_path):
    rules = [Rule(CLAIM, "contains", "admin", ADMIN, role_label="Administrator")]
    assert describe(READER, rules).name == "portal-reader"
    assert describe(SANDBOX_ADMIN, rules).account_name is None


def choose(client, arn: str):
    token = csrf_token(client.get("/roles").get_data(as_text=True))
    return client.post("/roles", data={"csrf_token": token, "role_arn": arn, "next": "/resources"})


def test_alice_switches_accounts_and_back_without_another_sts_call(client, auth, devstack):
    auth.login("alice")
    picker = client.get("/roles").get_data(as_text=True)
    # Grouped by account, like the AWS access portal: each account's ID and name, its roles.
    main, sandbox = picker.index(f'id="account-{MAIN}"'), picker.index(f'id="account-{SANDBOX}"')
    assert main < picker.index(ADMIN) < picker.index(READER) < sandbox < picker.index(SANDBOX_ADMIN)
    assert "Portal production" in picker and "Sandbox" in picker
    assert "Administrator" in picker and "Sandbox administrator" in picker

    assert choose(client, ADMIN).status_code == 302
    page = client.get("/resources").get_data(as_text=True)
    assert "shared-docs" in page and "sandbox-artifacts" not in page
    assert f"Portal production ({MAIN}) · Administrator" in page  # the header

    choose(client, SANDBOX_ADMIN)
    page = client.get("/resources").get_data(as_text=True)
    # The second account's resources, and none of the first's (not even from the listing cache).
    assert "sandbox-artifacts" in page and "sandbox-experiments" in page and "sandbox-jobs" in page
    assert "shared-docs" not in page and "portal-projects" not in page
    assert f"Sandbox ({SANDBOX}) · Sandbox administrator" in page
    assert f"arn:aws:sts::{SANDBOX}:assumed-role/sandbox-admin/" in client.get("/").get_data(
        as_text=True
    )
    assert devstack.sts_stats() == {"ok": 2}

    choose(client, ADMIN)
    page = client.get("/resources").get_data(as_text=True)
    assert "shared-docs" in page and "sandbox-artifacts" not in page
    assert f"Portal production ({MAIN}) · Administrator" in page
    choose(client, SANDBOX_ADMIN)
    assert "sandbox-artifacts" in client.get("/resources").get_data(as_text=True)
    assert devstack.sts_stats() == {"ok": 2}  # both roles' credentials were still valid


def test_the_header_shows_the_role_on_every_signed_in_page(client, auth):
    auth.login("bob")  # one role: no choice needed, the header still says which
    for path in ("/", "/resources", "/cli", "/roles"):
        page = client.get(path).get_data(as_text=True)
        assert f"Portal production ({MAIN}) · Reader" in page, path
    auth.logout()
    assert "Portal production" not in client.get("/").get_data(as_text=True)


def test_the_last_choice_is_used_at_the_next_sign_in(app, devstack):
    first = app.test_client()
    AuthActions(first, devstack).login("alice")
    choose(first, SANDBOX_ADMIN)
    AuthActions(first, devstack).logout()

    later = app.test_client()
    AuthActions(later, devstack).login("alice")
    page = later.get("/").get_data(as_text=True)
    assert "Choose a role" not in page and "assumed-role/sandbox-admin/" in page
    assert f"Sandbox ({SANDBOX}) · Sandbox administrator" in page  # the header, at once
    picker = later.get("/roles").get_data(as_text=True)
    row = picker[picker.index(f'id="account-{SANDBOX}"') :]
    row = row[row.index("<tbody>") :]
    assert row.index("Sandbox administrator") < row.index("(in use)") < row.index("</tr>")
    assert 'class="primary" autofocus>Use Sandbox administrator' in picker  # preselected

    # Another user's choice is theirs alone: bob is never given alice's role.
    bob = app.test_client()
    AuthActions(bob, devstack).login("bob")
    assert "assumed-role/portal-reader/" in bob.get("/").get_data(as_text=True)


def test_a_remembered_role_no_longer_offered_is_not_used(app, devstack, redis_server):
    client = app.test_client()
    AuthActions(client, devstack).login("alice")
    choose(client, SANDBOX_ADMIN)
    AuthActions(client, devstack).logout()
    keys = redis_server.client().keys("portal:user:*:role")
    assert len(keys) == 1
    # A role the rules no longer offer her (sealed as the portal would have written it).
    nobody = f"arn:aws:iam::{MAIN}:role/portal-nobody"
    app.extensions["webapp.store"].put(keys[0].decode(), nobody, 600)
    AuthActions(client, devstack).login("alice")
    assert "Choose a role" in client.get("/").get_data(as_text=True)
    AuthActions(client, devstack).logout()
    # The value is sealed and bound to its key: one written into Redis without SECRET_KEY is
    # ignored, whatever it says.
    redis_server.client().set(keys[0], json.dumps(SANDBOX_ADMIN))
    AuthActions(client, devstack).login("alice")
    assert "Choose a role" in client.get("/").get_data(as_text=True)


def test_choosing_a_role_of_another_account_not_offered_is_refused(client, auth, devstack):
    auth.login("bob")
    assert choose(client, SANDBOX_ADMIN).status_code == 400
    assert "assumed-role/portal-reader/" in client.get("/").get_data(as_text=True)
    assert devstack.sts_stats() == {"ok": 1}
