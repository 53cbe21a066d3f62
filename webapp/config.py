"""Settings: defaults in code, then the environment, validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from limits import parse_many
from redis.connection import parse_url

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": [],
    "AUTH0_DOMAIN": None,
    "AUTH0_ISSUER": None,
    "AUTH0_CLIENT_ID": None,
    "AUTH0_CLIENT_SECRET": None,
    "AUTH0_AUDIENCE": None,
    "AUTH0_ROLES_CLAIM": None,  # "https://aws-portal.example/roles" unless set (see validate)
    # Provider-neutral aliases of the AUTH0_* names: either spelling works, both must agree.
    "OIDC_ISSUER": None,
    "OIDC_CLIENT_ID": None,
    "OIDC_CLIENT_SECRET": None,
    "OIDC_AUDIENCE": None,
    "OIDC_ROLES_CLAIM": None,
    "ADMIN_ROLE": "admin",
    "REDIS_URL": None,
    "REDIS_CA_CERT": None,
    "REDIS_SENTINELS": [],
    "REDIS_SENTINEL_MASTER": None,
    "REDIS_SENTINEL_PASSWORD": None,
    "REDIS_CLUSTER": False,
    "AWS_REGION": "us-east-1",
    "AWS_REGIONS": None,  # regions the resource pages list; AWS_REGION alone unless set
    "AWS_ROLE_ARN": None,
    "ROLE_RULES": None,
    "STS_DURATION_SECONDS": 3600,
    "AWS_ENDPOINT_URL": None,
    "AWS_FEDERATION_URL": "https://signin.aws.amazon.com/federation",
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,
    "PROXY_FIX": 0,
    "ROLES_MAX_AGE_MINUTES": 15,
    "HTTP_TIMEOUT_SECONDS": 5,
    "RATE_LIMIT_SIGN_IN": "20 per minute",
    "RATE_LIMIT_BACKCHANNEL": "60 per minute",
    "METRICS_ALLOW": "127.0.0.1/8,::1",
}

ALIASES = {
    "OIDC_ISSUER": "AUTH0_ISSUER",
    "OIDC_CLIENT_ID": "AUTH0_CLIENT_ID",
    "OIDC_CLIENT_SECRET": "AUTH0_CLIENT_SECRET",
    "OIDC_AUDIENCE": "AUTH0_AUDIENCE",
    "OIDC_ROLES_CLAIM": "AUTH0_ROLES_CLAIM",
}
ROLES_CLAIM = "https://aws-portal.example/roles"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.I)
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")  # us-east-1, eu-central-2, us-gov-west-1
MAX_REGIONS = 32
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def load_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the settings that the environment overrides (only known names)."""
    environ = os.environ if environ is None else environ
    return {name: environ[name] for name in DEFAULTS if environ.get(name, "") != ""}


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and addresses in 127.0.0.0/8 or ::1."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate(settings: dict[str, Any]) -> dict[str, Any]:
    """Return settings with types coerced and the issuer derived; ConfigError on bad values."""
    s = {**DEFAULTS, **settings}
    s["SECRET_KEY"] = _required(s, "SECRET_KEY", "a random string of at least 32 characters")
    if len(str(s["SECRET_KEY"])) < 32:
        raise ConfigError("SECRET_KEY: expected a random string of at least 32 characters")
    s["SECRET_KEY_FALLBACKS"] = _fallbacks(s["SECRET_KEY_FALLBACKS"])
    _aliases(s)
    s["AUTH0_ISSUER"] = _issuer(s)
    for name in ("AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"):
        s[name] = _required(s, name, "the value from the IdP's application (client) settings")
    s["AUTH0_ROLES_CLAIM"] = str(s["AUTH0_ROLES_CLAIM"] or ROLES_CLAIM)
    _redis(s)
    s["STS_DURATION_SECONDS"] = _int(s, "STS_DURATION_SECONDS", 900, 43200)
    s["SESSION_IDLE_MINUTES"] = _int(s, "SESSION_IDLE_MINUTES", 1, 24 * 60)
    s["SESSION_MAX_HOURS"] = _int(s, "SESSION_MAX_HOURS", 1, 24 * 30)
    s["PROXY_FIX"] = _int(s, "PROXY_FIX", 0, 5)
    s["ROLES_MAX_AGE_MINUTES"] = _int(s, "ROLES_MAX_AGE_MINUTES", 1, 24 * 60)
    s["HTTP_TIMEOUT_SECONDS"] = _int(s, "HTTP_TIMEOUT_SECONDS", 1, 60)
    for name in ("RATE_LIMIT_SIGN_IN", "RATE_LIMIT_BACKCHANNEL"):
        s[name] = _rate(s, name)
    s["METRICS_ALLOW"] = _networks(s, "METRICS_ALLOW")
    s["AWS_REGIONS"] = _regions(s)
    if s["AWS_ROLE_ARN"] and not ROLE_ARN.match(s["AWS_ROLE_ARN"]):
        raise ConfigError(
            f"AWS_ROLE_ARN: expected arn:aws:iam::<12-digit account>:role/<name>, "
            f"got {s['AWS_ROLE_ARN']!r}"
        )
    if s["ROLE_RULES"] and not os.path.isfile(s["ROLE_RULES"]):
        raise ConfigError(f"ROLE_RULES: no such file {s['ROLE_RULES']!r}")
    for name in ("AWS_ENDPOINT_URL", "AWS_FEDERATION_URL"):
        if s[name] and urlsplit(s[name]).scheme not in ("http", "https"):
            raise ConfigError(f"{name}: expected an http(s) URL, got {s[name]!r}")
    return s


def _aliases(s: dict[str, Any]) -> None:
    """OIDC_* fills the AUTH0_* setting it names; both set to different values is an error."""
    for alias, name in ALIASES.items():
        if s.get(alias) in (None, ""):
            continue
        if s.get(name) not in (None, "") and str(s[name]) != str(s[alias]):
            shown = "" if "SECRET" in name else f": {s[alias]!r} and {s[name]!r}"
            raise ConfigError(f"{alias}: set to a different value than {name}{shown}; set one")
        s[name] = s[alias]


def discovery_url(issuer: str) -> str:
    """The issuer's discovery document URL: the issuer, less any trailing '/', + /.well-known/…"""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def issuer_mismatch(configured: str, discovered: Any) -> str | None:
    """One line naming both issuers when the discovery document's differs from the setting."""
    if discovered == configured:
        return None
    note = (
        " (they differ only by the trailing slash)"
        if (isinstance(discovered, str) and discovered.rstrip("/") == configured.rstrip("/"))
        else ""
    )
    return (
        f"AUTH0_ISSUER (OIDC_ISSUER) is {configured!r} but the IdP's discovery document says "
        f"issuer {discovered!r}{note}; set it exactly as the IdP spells it"
    )


def _redis(s: dict[str, Any]) -> None:
    """The Redis settings: one URL, plus TLS's CA, and Sentinel or Cluster (not both)."""
    url = str(_required(s, "REDIS_URL", "a redis://, rediss:// or unix:// URL"))
    parts = urlsplit(url)
    try:
        db = parse_url(url).get("db", 0)
    except ValueError:
        db = None
    if parts.scheme not in ("redis", "rediss", "unix") or db is None:
        raise ConfigError(f"REDIS_URL: expected a redis://, rediss:// or unix:// URL, got {url!r}")
    if any(name.startswith("ssl") for name in parse_qs(parts.query)):
        # The certificate is always verified: a URL must not be able to turn that off.
        raise ConfigError("REDIS_URL: no ssl_* options in the URL; set REDIS_CA_CERT for a CA")
    if s["REDIS_CA_CERT"]:
        _ca_bundle(str(s["REDIS_CA_CERT"]), parts.scheme)
    s["REDIS_CLUSTER"] = _flag(s, "REDIS_CLUSTER")
    s["REDIS_SENTINELS"] = _sentinels(s["REDIS_SENTINELS"])
    tcp = "REDIS_URL must be a redis:// or rediss:// URL (a unix socket is one server)"
    if s["REDIS_CLUSTER"]:
        if s["REDIS_SENTINELS"]:
            raise ConfigError("REDIS_CLUSTER: choose Cluster or Sentinel, not both")
        if parts.scheme == "unix":
            raise ConfigError(f"REDIS_CLUSTER: {tcp}")
        if db != 0:
            raise ConfigError(f"REDIS_URL: a Redis Cluster has only database 0, got {url!r}")
    if s["REDIS_SENTINELS"]:
        if parts.scheme == "unix":
            raise ConfigError(f"REDIS_SENTINELS: {tcp}")
        _required(s, "REDIS_SENTINEL_MASTER", "the name the Sentinels monitor the primary by")
    else:
        for name in ("REDIS_SENTINEL_MASTER", "REDIS_SENTINEL_PASSWORD"):
            if s[name]:
                raise ConfigError(f"{name}: only used with REDIS_SENTINELS, which is not set")


def _ca_bundle(path: str, scheme: str) -> None:
    """REDIS_CA_CERT: a readable PEM file of CA certificates, for a rediss:// URL."""
    if scheme != "rediss":
        raise ConfigError("REDIS_CA_CERT: only used with a rediss:// REDIS_URL (TLS)")
    if not os.path.isfile(path):
        raise ConfigError(f"REDIS_CA_CERT: no such file {path!r}")
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError):
        raise ConfigError(f"REDIS_CA_CERT: expected PEM CA certificates in {path!r}") from None


def _sentinels(value: Any) -> list[tuple[str, int]]:
    """REDIS_SENTINELS: host:port, comma-separated (or a list of (host, port) pairs)."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    found = []
    for item in (":".join(map(str, i)) if isinstance(i, tuple | list) else i for i in items):
        host, _, port = str(item).strip().rpartition(":")
        if not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"REDIS_SENTINELS: expected host:port[,host:port…], got {item!r}")
        found.append((host.strip("[]"), int(port)))
    return found


def _regions(s: Mapping[str, Any]) -> list[str]:
    """AWS_REGIONS: region names, comma-separated (or a list); AWS_REGION alone when unset."""
    value = s["AWS_REGIONS"]
    if value in (None, "", []):
        value = [s["AWS_REGION"]]
    items = value.split(",") if isinstance(value, str) else list(value)
    regions = list(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))
    bad = [r for r in regions if not REGION.fullmatch(r)]
    if bad or not regions or len(regions) > MAX_REGIONS:
        raise ConfigError(
            f"AWS_REGIONS: expected up to {MAX_REGIONS} region names separated by commas, such "
            f"as 'us-east-1,eu-west-1', got {value!r}"
        )
    return regions


def _flag(s: Mapping[str, Any], name: str) -> bool:
    """A yes/no setting: 1/0, true/false, yes/no, on/off."""
    value = str(s[name]).strip().lower()
    if value not in ("1", "0", "true", "false", "yes", "no", "on", "off", ""):
        raise ConfigError(f"{name}: expected 1 or 0 (true/false), got {s[name]!r}")
    return value in ("1", "true", "yes", "on")


def _fallbacks(value: Any) -> list[str]:
    """Old secret keys, newest first: a comma-separated string or a list."""
    keys = value.split(",") if isinstance(value, str) else list(value or [])
    keys = [str(k).strip() for k in keys if str(k).strip()]
    if any(len(k) < 32 for k in keys):
        raise ConfigError(
            "SECRET_KEY_FALLBACKS: expected earlier SECRET_KEY values (32+ characters each), "
            "separated by commas"
        )
    return keys


def _networks(
    s: Mapping[str, Any], name: str
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Addresses and networks, comma-separated (or a list): 10.0.0.5, 10.1.0.0/16, ::1."""
    value = s[name]
    parts = value.split(",") if isinstance(value, str) else list(value or [])
    try:
        return [ipaddress.ip_network(str(p).strip(), strict=False) for p in parts if str(p).strip()]
    except ValueError:
        raise ConfigError(
            f"{name}: expected addresses or networks separated by commas, such as "
            f"'127.0.0.1/8,::1,10.0.0.0/8', got {value!r}"
        ) from None


def _rate(s: Mapping[str, Any], name: str) -> str:
    """A rate limit such as '20 per minute' or '100/hour' (limits' notation)."""
    try:
        parse_many(str(s[name]))
    except ValueError:
        raise ConfigError(
            f"{name}: expected a rate such as '20 per minute' or '100/hour', got {s[name]!r}"
        ) from None
    return str(s[name])


def _required(s: Mapping[str, Any], name: str, expected: str) -> Any:
    if s.get(name) in (None, ""):
        raise ConfigError(f"{name} is required: {expected}")
    return s[name]


def _int(s: Mapping[str, Any], name: str, low: int, high: int) -> int:
    try:
        value = int(s[name])
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high:
        raise ConfigError(f"{name}: expected a whole number from {low} to {high}, got {s[name]!r}")
    return value


def _issuer(s: Mapping[str, Any]) -> str:
    """The issuer URL from AUTH0_ISSUER (as the IdP spells it) or AUTH0_DOMAIN (Auth0's)."""
    if s.get("AUTH0_ISSUER"):
        issuer = str(s["AUTH0_ISSUER"])
        parts = urlsplit(issuer)
        allowed = parts.scheme == "https" or (
            parts.scheme == "http" and is_loopback_host(parts.hostname)
        )
        if not parts.hostname or parts.query or parts.fragment or not allowed:
            raise ConfigError(
                "AUTH0_ISSUER (or OIDC_ISSUER): expected an https:// URL (http:// only for "
                f"loopback hosts), got {issuer!r}"
            )
        return issuer
    domain = s.get("AUTH0_DOMAIN")
    if not domain:
        raise ConfigError(
            "AUTH0_DOMAIN is required (or AUTH0_ISSUER / OIDC_ISSUER): e.g. acme.eu.auth0.com"
        )
    if not _DOMAIN.match(str(domain)):
        raise ConfigError(
            f"AUTH0_DOMAIN: expected a host name such as acme.eu.auth0.com (no https://, no path), "
            f"got {domain!r}"
        )
    return f"https://{domain}/"
