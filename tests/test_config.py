"""Configuration: every bad value stops start-up with one line naming the variable."""

from __future__ import annotations

import certifi
import pytest

from devstack.processes import free_port
from webapp import config, create_app

GOOD = {
    "SECRET_KEY": "k" * 40,
    "AUTH0_DOMAIN": "acme.eu.auth0.com",
    "AUTH0_CLIENT_ID": "client",
    "AUTH0_CLIENT_SECRET": "secret",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def settings(**overrides):
    merged = {**config.DEFAULTS, **GOOD, **overrides}
    return {k: v for k, v in merged.items() if v is not None}


def test_domain_becomes_auth0_issuer_with_trailing_slash():
    assert config.validate(settings())["AUTH0_ISSUER"] == "https://acme.eu.auth0.com/"


def test_issuer_wins_over_domain_and_loopback_http_is_allowed():
    s = config.validate(settings(AUTH0_ISSUER="http://127.0.0.1:9400/"))
    assert s["AUTH0_ISSUER"] == "http://127.0.0.1:9400/"


@pytest.mark.parametrize(
    "issuer",
    [
        "https://acme.okta.com/oauth2/default",
        "https://login.microsoftonline.com/0d9c2e51-7d3a-4b0f-a2b4-3c9e3c1f7a11/v2.0",
        "https://sso.example.com/realms/aws",
        "https://accounts.google.com",
        "https://acme.eu.auth0.com/",
    ],
)
def test_issuer_is_taken_as_spelled_slash_or_not(issuer):
    assert config.validate(settings(AUTH0_ISSUER=issuer))["AUTH0_ISSUER"] == issuer


def test_oidc_names_are_aliases_of_the_auth0_names():
    s = config.validate(
        settings(
            AUTH0_DOMAIN=None,
            AUTH0_CLIENT_ID=None,
            AUTH0_CLIENT_SECRET=None,
            OIDC_ISSUER="https://sso.example.com/realms/aws",
            OIDC_CLIENT_ID="portal",
            OIDC_CLIENT_SECRET="s3cret",
            OIDC_AUDIENCE="api",
            OIDC_ROLES_CLAIM="realm_access.roles",
        )
    )
    assert s["AUTH0_ISSUER"] == "https://sso.example.com/realms/aws"
    assert (s["AUTH0_CLIENT_ID"], s["AUTH0_CLIENT_SECRET"]) == ("portal", "s3cret")
    assert (s["AUTH0_AUDIENCE"], s["AUTH0_ROLES_CLAIM"]) == ("api", "realm_access.roles")
    # The same value under both names is fine.
    assert config.validate(settings(OIDC_CLIENT_ID="client"))["AUTH0_CLIENT_ID"] == "client"


@pytest.mark.parametrize(
    ("alias", "name", "value"),
    [
        ("OIDC_ISSUER", "AUTH0_ISSUER", "https://other.example/"),
        ("OIDC_CLIENT_ID", "AUTH0_CLIENT_ID", "other"),
        ("OIDC_CLIENT_SECRET", "AUTH0_CLIENT_SECRET", "other-secret"),
        ("OIDC_ROLES_CLAIM", "AUTH0_ROLES_CLAIM", "groups"),
    ],
)
def test_both_spellings_with_different_values_stop_start_up(alias, name, value):
    s = settings(AUTH0_ISSUER="https://acme.eu.auth0.com/", AUTH0_ROLES_CLAIM="roles")
    with pytest.raises(config.ConfigError) as error:
        config.validate({**s, alias: value})
    message = str(error.value)
    assert message.startswith(alias) and name in message and "\n" not in message
    if "SECRET" in name:
        assert "other-secret" not in message and "secret" not in message.split(":", 1)[1][-20:]


def test_defaults_match_the_documented_contract():
    s = config.validate(settings())
    assert s["AUTH0_ROLES_CLAIM"] == "https://aws-portal.example/roles"
    assert s["ADMIN_ROLE"] == "admin"
    assert (s["SESSION_IDLE_MINUTES"], s["SESSION_MAX_HOURS"]) == (30, 12)
    assert (s["STS_DURATION_SECONDS"], s["AWS_REGION"], s["PROXY_FIX"]) == (3600, "us-east-1", 0)


@pytest.mark.parametrize(
    ("overrides", "regions"),
    [
        ({}, ["us-east-1"]),
        ({"AWS_REGION": "eu-west-1"}, ["eu-west-1"]),
        ({"AWS_REGIONS": "eu-west-1, us-east-1,eu-west-1"}, ["eu-west-1", "us-east-1"]),
        ({"AWS_REGIONS": ["ap-southeast-2", "us-gov-west-1"]}, ["ap-southeast-2", "us-gov-west-1"]),
    ],
)
def test_regions_default_to_aws_region(overrides, regions):
    assert config.validate(settings(**overrides))["AWS_REGIONS"] == regions


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", None),
        ("SECRET_KEY", "short"),
        ("AUTH0_DOMAIN", None),
        ("AUTH0_DOMAIN", "https://acme.auth0.com"),
        ("AUTH0_DOMAIN", "acme.auth0.com/path"),
        ("AUTH0_ISSUER", "http://acme.auth0.com/"),
        ("AUTH0_ISSUER", "http://10.0.0.5:9400/"),
        ("AUTH0_ISSUER", "https://acme.okta.com/oauth2?x=1"),
        ("AUTH0_ISSUER", "ftp://acme.auth0.com/"),
        ("AUTH0_CLIENT_ID", None),
        ("AUTH0_CLIENT_SECRET", ""),
        ("REDIS_URL", None),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("STS_DURATION_SECONDS", "899"),
        ("STS_DURATION_SECONDS", "43201"),
        ("STS_DURATION_SECONDS", "an hour"),
        ("SESSION_IDLE_MINUTES", "0"),
        ("SESSION_MAX_HOURS", "-1"),
        ("PROXY_FIX", "x"),
        ("AWS_ROLE_ARN", "arn:aws:iam::123:role/x"),
        ("ROLE_RULES", "/no/such/rules.toml"),
        ("AWS_ENDPOINT_URL", "localhost:9500"),
        ("AWS_REGIONS", "us-east-1,Europe"),
        ("AWS_REGIONS", "us-east-1;eu-west-1"),
        ("AWS_REGIONS", " , "),
        ("AWS_REGIONS", "https://eu-west-1"),
    ],
)
def test_bad_value_names_the_variable(name, value):
    s = settings(**{name: value})
    if value is None:
        s.pop(name, None)
        if name == "AUTH0_DOMAIN":
            s.pop("AUTH0_ISSUER", None)
    with pytest.raises(config.ConfigError) as error:
        config.validate(s)
    message = str(error.value)
    assert message.startswith(name) and "\n" not in message


SENTINELS = "10.0.0.1:26379,10.0.0.2:26379"


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"REDIS_URL": "redis://r:6379/0?db=x"}, "REDIS_URL"),
        ({"REDIS_URL": "rediss://r:6379/0?ssl_cert_reqs=none"}, "REDIS_URL"),
        ({"REDIS_URL": "rediss://r:6379/0", "REDIS_CA_CERT": "/no/such/ca.pem"}, "REDIS_CA_CERT"),
        ({"REDIS_URL": "rediss://r:6379/0", "REDIS_CA_CERT": __file__}, "REDIS_CA_CERT"),
        ({"REDIS_CA_CERT": certifi.where()}, "REDIS_CA_CERT"),  # with a redis:// URL
        ({"REDIS_CLUSTER": "maybe"}, "REDIS_CLUSTER"),
        ({"REDIS_CLUSTER": "1", "REDIS_URL": "unix:///run/redis.sock"}, "REDIS_CLUSTER"),
        ({"REDIS_CLUSTER": "1", "REDIS_URL": "redis://r:6379/2"}, "REDIS_URL"),
        ({"REDIS_CLUSTER": "1", "REDIS_SENTINELS": SENTINELS}, "REDIS_CLUSTER"),
        ({"REDIS_SENTINELS": SENTINELS}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINELS": "10.0.0.1", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "10.0.0.1:x", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": ":26379", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
        (
            {"REDIS_SENTINELS": SENTINELS, "REDIS_SENTINEL_MASTER": "m", "REDIS_URL": "unix:///s"},
            "REDIS_SENTINELS",
        ),
        ({"REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINEL_PASSWORD": "p"}, "REDIS_SENTINEL_PASSWORD"),
    ],
)
def test_bad_redis_settings_name_the_variable(overrides, name):
    with pytest.raises(config.ConfigError) as error:
        config.validate(settings(**overrides))
    message = str(error.value)
    assert message.startswith(name) and "\n" not in message


def test_redis_modes_are_parsed():
    s = config.validate(
        settings(REDIS_SENTINELS=f" {SENTINELS}, [::1]:26380", REDIS_SENTINEL_MASTER="m")
    )
    assert s["REDIS_SENTINELS"] == [("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380)]
    assert s["REDIS_CLUSTER"] is False
    s = config.validate(
        settings(
            REDIS_CLUSTER="true", REDIS_URL="rediss://u:p@r:6379", REDIS_CA_CERT=certifi.where()
        )
    )
    assert s["REDIS_CLUSTER"] is True and s["REDIS_CA_CERT"] == certifi.where()
    assert config.validate(s) == s  # validated settings validate to themselves


def test_environment_is_read_only_for_known_names():
    env = {"AUTH0_DOMAIN": "x.auth0.com", "PATH": "/bin", "SESSION_MAX_HOURS": "", "PROXY_FIX": "1"}
    assert config.load_environment(env) == {"AUTH0_DOMAIN": "x.auth0.com", "PROXY_FIX": "1"}


def _environment(monkeypatch, issuer: str) -> None:
    for name, value in {**GOOD, "AUTH0_DOMAIN": None, "AUTH0_ISSUER": issuer}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def test_create_app_from_the_environment(monkeypatch, devstack):
    _environment(monkeypatch, devstack.issuer)
    monkeypatch.setenv("STS_DURATION_SECONDS", "7200")
    app = create_app()
    assert app.config["STS_DURATION_SECONDS"] == 7200


def test_start_up_stops_when_discovery_names_another_issuer(monkeypatch, devstack):
    # The classic mistake: the issuer without the slash the IdP's discovery document has.
    assert devstack.issuer.endswith("/")
    _environment(monkeypatch, devstack.issuer.rstrip("/"))
    assert create_app().config["AUTH0_ISSUER"] == devstack.issuer.rstrip("/")  # flask doctor's way
    with pytest.raises(SystemExit) as stopped:
        create_app(check_issuer=True)
    line = str(stopped.value)
    assert "\n" not in line and "trailing slash" in line
    assert repr(devstack.issuer) in line and repr(devstack.issuer.rstrip("/")) in line


def test_start_up_goes_on_when_the_idp_cannot_be_asked_yet(monkeypatch, caplog):
    # An IdP still starting must not stop the portal: /readyz holds it out of rotation instead.
    _environment(monkeypatch, f"http://127.0.0.1:{free_port()}/")
    monkeypatch.setenv("HTTP_TIMEOUT_SECONDS", "2")
    app = create_app(check_issuer=True)
    assert app.config["AUTH0_ISSUER"].startswith("http://127.0.0.1:")
    assert "could not check the issuer" in caplog.text


def test_create_app_fails_naming_the_variable(monkeypatch):
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "forever")
    with pytest.raises(SystemExit, match=r"^SESSION_IDLE_MINUTES: expected a whole number"):
        create_app()


def test_wsgi_start_up_error_is_one_line(tmp_path):
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "AUTH0_DOMAIN": "acme.auth0.com"}
    proc = subprocess.run(
        [sys.executable, "-c", "import wsgi"], env=env, capture_output=True, text=True, cwd="."
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "SECRET_KEY is required: a random string of at least 32 characters"
    ]


def test_wsgi_stops_on_an_issuer_spelled_unlike_discovery(devstack, redis_server):
    import subprocess
    import sys

    from devstack.testing import app_config

    env = {k: v for k, v in app_config(devstack, redis_server).items() if isinstance(v, str)}
    env["AUTH0_ISSUER"] = devstack.issuer.rstrip("/")
    proc = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        cwd=".",
    )
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert "discovery document says issuer" in line and "trailing slash" in line
