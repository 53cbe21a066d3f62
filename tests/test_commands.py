"""Tests for `flask check-token`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from joserfc import jwt
from joserfc.jwk import RSAKey

from devstack.testing import stored_session
from webapp import commands

ISSUER = "https://acme.eu.auth0.com/"
CLIENT_ID = "k3yCl1ent1d"
API = "https://api.acme.example"


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1"})


@pytest.fixture
def runner() -> FlaskCliRunner:
    app = Flask(__name__)
    app.config.update(AUTH0_ISSUER=ISSUER, AUTH0_CLIENT_ID=CLIENT_ID)
    commands.init_app(app)
    return app.test_cli_runner()


def make_token(key: RSAKey, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "auth0|64f0", "aud": CLIENT_ID, "iat": now, "exp": now + 600}
    claims.update(changes)
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def test_id_token_from_stdin_is_accepted(runner: FlaskCliRunner, key: RSAKey) -> None:
    token = make_token(key, auth_time=0)
    result = runner.invoke(args=["check-token"], input=f"  {token}\n")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "STS would accept this token."
    assert '"kid": "k1"' in result.output
    assert f'  "aud": "{CLIENT_ID}"' in result.output
    assert "  auth_time  1970-01-01T00:00:00Z" in result.output
    assert any(line.startswith("  ok   Audience (aud): ") for line in lines)
    assert "FAIL" not in result.output
    assert token not in result.output


def test_header_and_claims_are_printed_as_json(runner: FlaskCliRunner, key: RSAKey) -> None:
    result = runner.invoke(args=["check-token"], input=make_token(key))
    text = result.output
    header = text[text.index("Header:\n") + 8 : text.index("Claims:\n")]
    claims = text[text.index("Claims:\n") + 8 : text.index("Times (UTC):\n")]
    assert json.loads(header) == {"typ": "JWT", "alg": "RS256", "kid": "k1"}
    assert json.loads(claims)["sub"] == "auth0|64f0"


def test_auth0_access_token_is_refused_with_the_explanation(
    runner: FlaskCliRunner, key: RSAKey
) -> None:
    token = make_token(key, aud=[API, ISSUER + "userinfo"])
    result = runner.invoke(args=["check-token", "--audience", API], input=token)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1] == "STS would refuse this token."
    fail = [line for line in result.output.splitlines() if line.startswith("  FAIL ")]
    assert len(fail) == 1
    assert fail[0].startswith("  FAIL Audience (aud): This is an Auth0 access token")
    assert "Incorrect token audience" in fail[0]


@pytest.mark.parametrize("text", ["garbage", "a.b", "", "   \n"])
def test_unreadable_input_exits_2_with_one_line(runner: FlaskCliRunner, text: str) -> None:
    result = runner.invoke(args=["check-token"], input=text)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("Error: ")


def test_token_from_a_file(runner: FlaskCliRunner, key: RSAKey, tmp_path: Path) -> None:
    path = tmp_path / "id_token.txt"
    path.write_text(make_token(key) + "\n")
    result = runner.invoke(args=["check-token", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("STS would accept this token.\n")


def test_missing_file_exits_2(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["check-token", str(tmp_path / "absent.txt")])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot read")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "changes", "code"),
    [
        (["--issuer", ISSUER.rstrip("/")], {}, 1),
        (["--issuer", ISSUER.rstrip("/")], {"iss": ISSUER.rstrip("/")}, 0),
        (["--audience", "a", "--audience", "b"], {"aud": "b"}, 0),
        (["--audience", "a"], {}, 1),
        ([], {"exp": int(time.time()) - 3600}, 1),
    ],
    ids=["issuer-mismatch", "issuer-override", "audiences", "audience-mismatch", "expired"],
)
def test_options_override_the_config(
    runner: FlaskCliRunner, key: RSAKey, args: list[str], changes: dict, code: int
) -> None:
    result = runner.invoke(args=["check-token", *args], input=make_token(key, **changes))
    assert result.exit_code == code, result.output
    assert ("FAIL" in result.output) is (code == 1)


def test_devstack_tokens_through_the_real_app(app, client, auth, tmp_path: Path) -> None:
    """The IdP's own tokens: the access token is refused for its two-value aud, the ID token not."""
    auth.login("alice")
    tokens = stored_session(app, client)["tokens"]
    runner = app.test_cli_runner()

    access = runner.invoke(args=["check-token"], input=tokens["access_token"])
    assert access.exit_code == 1
    assert "Auth0 access token" in access.output and "Incorrect token audience" in access.output
    assert "STS would refuse this token." in access.output

    id_file = tmp_path / "id_token.jwt"
    id_file.write_text(tokens["id_token"] + "\n")
    id_token = runner.invoke(args=["check-token", str(id_file)])
    assert id_token.exit_code == 0, id_token.output
    assert "STS would accept this token." in id_token.output
