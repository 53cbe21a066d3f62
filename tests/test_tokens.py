"""Tests for webapp.tokens: decoding, ID-token verification, the key cache and the STS verdict."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from webapp.tokens import (
    KeySetCache,
    TokenError,
    TokenFormatError,
    check_sts_compatibility,
    decode_unverified,
    role_session_name,
    verify_id_token,
)

ISSUER = "https://acme.eu.auth0.com/"
CLIENT_ID = "k3yCl1ent1d"
API = "https://api.acme.example"
NOW = 1_700_000_000
NONCE = "n-0S6_WzA2Mj"
DROP = object()
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)
FINDING_CODES = ["format", "alg", "size", "iss", "aud", "exp", "sub", "session_name"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_token(header: dict, claims: dict, sign: bytes | None = None) -> str:
    """A compact JWS built by hand; `sign` is an HMAC key, else the signature is empty."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    sig = hmac.new(sign, signing_input.encode(), hashlib.sha256).digest() if sign else b""
    return f"{signing_input}.{b64(sig)}"


def id_claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER,
        "sub": "auth0|64f0c0ffee",
        "aud": CLIENT_ID,
        "exp": NOW + 600,
        "iat": NOW,
        "nonce": NONCE,
        "email": "ada@example.com",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not DROP}


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})


@pytest.fixture(scope="module")
def other_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig", "alg": "RS256"})


def sign(key: RSAKey, claims: dict, **header: Any) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid, **header}, claims, key)


class CountingFetch:
    """A JWKS endpoint stand-in that counts how often it is asked."""

    def __init__(self, *keys: RSAKey) -> None:
        self.calls = 0
        self.publish(*keys)

    def publish(self, *keys: RSAKey) -> None:
        self.jwks = {"keys": [k.as_dict(private=False) for k in keys]}

    def __call__(self) -> dict:
        self.calls += 1
        return self.jwks


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verify(token: str, fetch: CountingFetch, nonce: str | None = NONCE) -> dict:
    cache = KeySetCache(fetch)
    return verify_id_token(
        token, keys=cache, issuer=ISSUER, client_id=CLIENT_ID, nonce=nonce, now=NOW
    )


# decode_unverified


def test_decode_unverified_reports_header_claims_length_and_fingerprint(key: RSAKey) -> None:
    token = sign(key, id_claims())
    decoded = decode_unverified(token)
    assert decoded.header == {"typ": "JWT", "alg": "RS256", "kid": "k1"}
    assert decoded.claims == id_claims()
    assert decoded.length == len(token)
    assert decoded.fingerprint == hashlib.sha256(token.encode()).hexdigest()[:12]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "No token"),
        ("hello", "three dot-separated parts, this has 1"),
        ("a.b", "this has 2"),
        ("a.b.c.d.e", "encrypted"),
        ("!!!.!!!.!!!", "not JSON"),
        (b64(b'{"alg": "RS256"}') + "." + b64(b"[1, 2]") + ".", "not a JSON object"),
        (b64(b'{"alg": "RS256"}') + "." + b64(b"not json") + ".", "not JSON"),
        (b64(b'{"typ": "JWT"}') + "." + b64(b"{}") + ".", "not JSON"),
    ],
    ids=["empty", "one-part", "two-parts", "jwe", "garbage", "array", "text-payload", "no-alg"],
)
def test_decode_unverified_refuses_non_jwts(text: str, fragment: str) -> None:
    with pytest.raises(TokenFormatError) as caught:
        decode_unverified(text)
    assert fragment in caught.value.reason


# verify_id_token


def test_verify_id_token_returns_claims(key: RSAKey) -> None:
    fetch = CountingFetch(key)
    assert verify(sign(key, id_claims()), fetch) == id_claims()
    assert fetch.calls == 1


@pytest.mark.parametrize(
    ("changes", "nonce"),
    [
        ({"aud": [CLIENT_ID]}, NONCE),
        ({"aud": [CLIENT_ID, API], "azp": CLIENT_ID}, NONCE),
        ({"exp": NOW - 59}, NONCE),
        ({"iat": NOW + 59}, NONCE),
        ({"nonce": DROP}, None),
    ],
    ids=["one-element-aud", "multi-aud-with-azp", "expired-within-leeway", "iat-skew", "no-nonce"],
)
def test_verify_id_token_accepts(key: RSAKey, changes: dict, nonce: str | None) -> None:
    claims = id_claims(**changes)
    assert verify(sign(key, claims), CountingFetch(key), nonce=nonce) == claims


def _attack_tokens(key: RSAKey) -> dict[str, str]:
    public_pem = key.as_pem(private=False)
    return {
        "alg-none": hand_token({"alg": "none", "kid": "k1"}, id_claims()),
        "hs256-with-public-key": hand_token({"alg": "HS256", "kid": "k1"}, id_claims(), public_pem),
        "es256": hand_token({"alg": "ES256", "kid": "k1"}, id_claims()),
        "rs512": hand_token({"alg": "RS512", "kid": "k1"}, id_claims()),
    }


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("alg-none", "unsigned"),
        ("hs256-with-public-key", "HS256, a shared-secret"),
        ("es256", "'ES256' is not accepted"),
        ("rs512", "'RS512' is not accepted"),
    ],
)
def test_verify_id_token_refuses_other_algs_before_fetching_keys(
    key: RSAKey, case: str, fragment: str
) -> None:
    fetch = CountingFetch(key)
    with pytest.raises(TokenError) as caught:
        verify(_attack_tokens(key)[case], fetch)
    assert fragment in caught.value.reason
    assert fetch.calls == 0


def _tampered(key: RSAKey) -> str:
    header, _, signature = sign(key, id_claims()).split(".")
    return f"{header}.{b64(json.dumps(id_claims(sub='auth0|admin')).encode())}.{signature}"


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda k, o: sign(o, id_claims(), kid="k1"), "signature does not match"),
        (lambda k, o: _tampered(k), "signature does not match"),
        (lambda k, o: sign(o, id_claims()), "signing key (kid 'k2') is not published"),
        (lambda k, o: "not-a-token", "not a JWT"),
        (lambda k, o: sign(k, id_claims(iss=ISSUER.rstrip("/"))), "trailing slash"),
        (lambda k, o: sign(k, id_claims(iss="https://evil.example/")), "issuer 'https://evil"),
        (lambda k, o: sign(k, id_claims(aud="someone-else")), "audience 'someone-else'"),
        (lambda k, o: sign(k, id_claims(aud=[API, "x"])), "does not include this app"),
        (lambda k, o: sign(k, id_claims(aud=DROP)), "missing required claim(s): aud"),
        (lambda k, o: sign(k, id_claims(aud=[CLIENT_ID, API])), "no authorized party (azp)"),
        (lambda k, o: sign(k, id_claims(aud=[CLIENT_ID, API], azp=API)), "(azp) 'https://api"),
        (lambda k, o: sign(k, id_claims(azp="other-client")), "(azp) 'other-client'"),
        (lambda k, o: sign(k, id_claims(exp=DROP)), "missing required claim(s): exp"),
        (lambda k, o: sign(k, id_claims(exp=NOW - 61)), "expired at 2023-11-14T22:12:19Z"),
        (lambda k, o: sign(k, id_claims(exp="tomorrow")), "exp claim is invalid"),
        (lambda k, o: sign(k, id_claims(iat=DROP)), "missing required claim(s): iat"),
        (lambda k, o: sign(k, id_claims(iat=NOW + 61)), "issued in the future"),
        (lambda k, o: sign(k, id_claims(sub=DROP)), "missing required claim(s): sub"),
        (lambda k, o: sign(k, id_claims(nonce=DROP)), "nonce does not match"),
        (lambda k, o: sign(k, id_claims(nonce="replayed")), "nonce does not match"),
        (lambda k, o: sign(k, id_claims(nonce="ñ")), "nonce does not match"),
        (lambda k, o: sign(k, id_claims(nonce="")), "nonce does not match"),
    ],
    ids=[
        "wrong-key-same-kid",
        "tampered-payload",
        "unknown-kid",
        "not-a-jwt",
        "iss-without-slash",
        "iss-other",
        "aud-other",
        "aud-list-without-client",
        "aud-missing",
        "multi-aud-no-azp",
        "multi-aud-wrong-azp",
        "azp-wrong",
        "exp-missing",
        "expired",
        "exp-not-number",
        "iat-missing",
        "iat-future",
        "sub-missing",
        "nonce-missing",
        "nonce-wrong",
        "nonce-non-ascii",
        "nonce-empty",
    ],
)
def test_verify_id_token_refuses(key: RSAKey, other_key: RSAKey, make: Any, fragment: str) -> None:
    token = make(key, other_key)
    with pytest.raises(TokenError) as caught:
        verify(token, CountingFetch(key))
    assert fragment in caught.value.reason
    assert token not in caught.value.reason


def test_verify_id_token_refuses_an_empty_expected_nonce(key: RSAKey) -> None:
    with pytest.raises(TokenError, match="nonce does not match"):
        verify(sign(key, id_claims(nonce="")), CountingFetch(key), nonce="")


def test_verify_id_token_defaults_now_to_the_clock(key: RSAKey) -> None:
    fresh = id_claims(iat=int(time.time()), exp=int(time.time()) + 600)
    cache = KeySetCache(CountingFetch(key))
    assert verify_id_token(
        sign(key, fresh), keys=cache, issuer=ISSUER, client_id=CLIENT_ID, nonce=NONCE
    )
    with pytest.raises(TokenError, match="expired"):
        verify_id_token(
            sign(key, id_claims()), keys=cache, issuer=ISSUER, client_id=CLIENT_ID, nonce=NONCE
        )


# KeySetCache


def test_key_cache_fetches_lazily_once(key: RSAKey) -> None:
    fetch = CountingFetch(key)
    cache = KeySetCache(fetch)
    assert fetch.calls == 0
    assert cache.find_key("k1").kid == "k1"
    assert cache.find_key("k1").kid == "k1"
    assert fetch.calls == 1


def test_key_cache_refetches_unknown_kid_at_most_once_per_interval(key: RSAKey) -> None:
    fetch, clock = CountingFetch(key), FakeClock()
    cache = KeySetCache(fetch, min_refetch_interval=60, clock=clock)
    cache.find_key("k1")
    clock.now += 61
    for _ in range(5):
        with pytest.raises(TokenError, match=r"signing key .* not published"):
            cache.find_key("unknown")
        clock.now += 10
    assert fetch.calls == 2
    clock.now += 11
    with pytest.raises(TokenError):
        cache.find_key("unknown")
    assert fetch.calls == 3


def test_key_cache_refetches_once_even_right_after_the_first_fetch(key: RSAKey) -> None:
    fetch, clock = CountingFetch(key), FakeClock()
    cache = KeySetCache(fetch, min_refetch_interval=60, clock=clock)
    for _ in range(3):
        with pytest.raises(TokenError):
            cache.find_key("unknown")
    assert fetch.calls == 2  # the first load, then one refetch for the unknown kid


def test_key_cache_finds_rotated_key_after_refetch(key: RSAKey, other_key: RSAKey) -> None:
    fetch, clock = CountingFetch(key), FakeClock()
    cache = KeySetCache(fetch, min_refetch_interval=60, clock=clock)
    cache.find_key("k1")
    fetch.publish(key, other_key)
    assert cache.find_key("k2").kid == "k2"
    assert fetch.calls == 2
    token = sign(other_key, id_claims())
    assert verify_id_token(
        token, keys=cache, issuer=ISSUER, client_id=CLIENT_ID, nonce=NONCE, now=NOW
    )


def test_key_cache_fetches_once_under_concurrency(key: RSAKey) -> None:
    calls: list[int] = []

    def slow_fetch() -> dict:
        calls.append(1)
        time.sleep(0.05)
        return {"keys": [key.as_dict(private=False)]}

    cache = KeySetCache(slow_fetch)
    threads = [threading.Thread(target=cache.find_key, args=("k1",)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1


@pytest.mark.parametrize("jwks", [{}, {"keys": []}, {"keys": "nope"}, []])
def test_key_cache_refuses_unreadable_jwks(jwks: Any) -> None:
    with pytest.raises(TokenError, match="could not be read"):
        KeySetCache(lambda: jwks).find_key("k1")


# check_sts_compatibility


def check(token: str, audiences: list[str] | None = None, provider: str = ISSUER):
    verdict = check_sts_compatibility(
        token, provider_url=provider, audiences=audiences or [CLIENT_ID], now=NOW
    )
    assert verdict.accepted == all(f.ok for f in verdict.findings)
    assert all(token not in f.detail for f in verdict.findings)
    return verdict, {f.code: f for f in verdict.findings}


def test_verdict_accepts_an_id_token(key: RSAKey) -> None:
    verdict, by_code = check(sign(key, id_claims()))
    assert verdict.accepted
    assert [f.code for f in verdict.findings] == FINDING_CODES
    assert "a string" in by_code["aud"].detail
    assert verdict.session_name == role_session_name(id_claims())
    assert verdict.session_name in by_code["session_name"].detail


def test_verdict_accepts_a_one_element_aud_array(key: RSAKey) -> None:
    verdict, by_code = check(sign(key, id_claims(aud=["sts.amazonaws.com"])), ["sts.amazonaws.com"])
    assert verdict.accepted
    assert "one-element array" in by_code["aud"].detail
    assert "EKS" in by_code["aud"].detail


def test_verdict_accepts_es256(key: RSAKey) -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "e1"})
    token = jwt.encode({"alg": "ES256", "kid": "e1"}, id_claims(), ec)
    verdict, by_code = check(token)
    assert verdict.accepted
    assert "ES256" in by_code["alg"].detail


def test_verdict_explains_the_auth0_access_token(key: RSAKey) -> None:
    userinfo = ISSUER + "userinfo"
    verdict, by_code = check(sign(key, id_claims(aud=[API, userinfo])), [API])
    assert not verdict.accepted
    detail = by_code["aud"].detail
    assert not by_code["aud"].ok
    assert API in detail
    assert userinfo in detail
    assert "Auth0 access token" in detail
    assert "InvalidIdentityToken: Incorrect token audience" in detail
    assert "ID token" in detail
    assert "client ID the provider's audience" in detail
    assert [f.code for f in verdict.findings if not f.ok] == ["aud"]


@pytest.mark.parametrize(
    ("changes", "header", "audiences", "provider", "code", "fragments"),
    [
        ({"aud": [CLIENT_ID, API]}, {}, None, ISSUER, "aud", ["2 values", "multi-value"]),
        ({"aud": "other"}, {}, None, ISSUER, "aud", ["'other'", repr([CLIENT_ID])]),
        ({"aud": ["other"]}, {}, None, ISSUER, "aud", ["'other'", "Incorrect token audience"]),
        ({"aud": DROP}, {}, None, ISSUER, "aud", ["Missing a required claim: aud"]),
        ({"aud": []}, {}, None, ISSUER, "aud", ["not a string"]),
        ({}, {}, None, ISSUER.rstrip("/"), "iss", ["trailing slash", "should be 'https://"]),
        ({"iss": ISSUER.rstrip("/")}, {}, None, ISSUER, "iss", ["does not end with '/'"]),
        ({"iss": "https://evil/"}, {}, None, ISSUER, "iss", ["No OpenIDConnect provider"]),
        ({"iss": DROP}, {}, None, ISSUER, "iss", ["No issuer"]),
        ({"exp": NOW - 301}, {}, None, ISSUER, "exp", ["ExpiredTokenException", "5 minutes"]),
        ({"exp": DROP}, {}, None, ISSUER, "exp", ["No usable expiry"]),
        ({"exp": "soon"}, {}, None, ISSUER, "exp", ["No usable expiry"]),
        ({"sub": DROP}, {}, None, ISSUER, "sub", ["No subject"]),
        ({}, {"alg": "RS384"}, None, ISSUER, None, ["RS384"]),
    ],
    ids=[
        "two-value-aud",
        "aud-not-listed",
        "one-element-aud-not-listed",
        "aud-missing",
        "aud-empty-list",
        "provider-without-slash",
        "iss-without-slash",
        "iss-other",
        "iss-missing",
        "expired",
        "exp-missing",
        "exp-not-number",
        "sub-missing",
        "rs384-accepted",
    ],
)
def test_verdict_findings(
    key: RSAKey,
    changes: dict,
    header: dict,
    audiences: list[str] | None,
    provider: str,
    code: str | None,
    fragments: list[str],
) -> None:
    alg = header.get("alg", "RS256")
    signer = RSAKey.generate_key(2048) if header else key
    token = jwt.encode({"alg": alg, "kid": "k1"}, id_claims(**changes), signer, algorithms=[alg])
    verdict, by_code = check(token, audiences, provider)
    failed = [f.code for f in verdict.findings if not f.ok]
    assert failed == ([code] if code else [])
    assert verdict.accepted is (code is None)
    detail = by_code[code or "alg"].detail
    for fragment in fragments:
        assert fragment in detail


def test_verdict_allows_sts_clock_skew(key: RSAKey) -> None:
    verdict, by_code = check(sign(key, id_claims(exp=NOW - 100)))
    assert verdict.accepted
    assert "clock skew" in by_code["exp"].detail


@pytest.mark.parametrize(
    ("header", "sign_key", "fragment"),
    [
        ({"alg": "HS256"}, b"a-shared-secret-of-32-bytes-long", "shared-secret (HMAC)"),
        ({"alg": "none"}, None, "unsigned (alg none)"),
        ({"alg": "PS256"}, None, "'PS256' is not one STS accepts"),
    ],
    ids=["hs256", "none", "ps256"],
)
def test_verdict_refuses_algorithms_sts_cannot_check(
    header: dict, sign_key: bytes | None, fragment: str
) -> None:
    verdict, by_code = check(hand_token(header, id_claims(), sign_key))
    assert not verdict.accepted
    assert not by_code["alg"].ok
    assert fragment in by_code["alg"].detail
    assert [f.code for f in verdict.findings if not f.ok] == ["alg"]


def test_verdict_refuses_oversize_tokens(key: RSAKey) -> None:
    token = sign(key, id_claims(padding="x" * 20_000))
    verdict, by_code = check(token)
    assert len(token) > 20_000
    assert not verdict.accepted
    assert not by_code["size"].ok
    assert f"{len(token):,} characters" in by_code["size"].detail


def test_verdict_refuses_non_jwts_with_a_format_finding() -> None:
    verdict, by_code = check("abc")
    assert not verdict.accepted
    assert verdict.session_name is None
    assert not by_code["format"].ok
    assert not by_code["size"].ok


def test_verdict_transforms_pipe_in_sub(key: RSAKey) -> None:
    verdict, by_code = check(sign(key, id_claims(sub="google-oauth2|1234", email=DROP)))
    assert verdict.accepted
    assert SESSION_NAME.match(verdict.session_name or "")
    assert "|" not in (verdict.session_name or "|")
    assert "transformed" in by_code["session_name"].detail


# role_session_name


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "auth0|64f0c0ffee", "email": "ada@example.com"},
        {"sub": "auth0|x", "email": "a" * 300 + "@example.com"},
        {"sub": "auth0|x", "email": "josé.ñúñez@exämple.com"},
        {"sub": "auth0|x", "email": "用户@例子.公司"},
        {"sub": "auth0|x", "email": "🙂🙂@🙂.com"},
        {"sub": "google-oauth2|1234|5678"},
        {"sub": "|"},
        {"sub": "a b\nc\td;<script>"},
        {"sub": "x" * 500},
        {"sub": "auth0|x", "email": ["not", "a", "string"]},
        {"sub": 12345, "email": None},
        {"email": "only@example.com"},
        {},
    ],
    ids=[
        "plain",
        "long-email",
        "accents",
        "cjk",
        "emoji",
        "pipes",
        "only-pipe",
        "whitespace-and-markup",
        "long-sub",
        "email-not-string",
        "sub-not-string",
        "no-sub",
        "empty",
    ],
)
def test_role_session_name_is_always_legal(claims: dict) -> None:
    name = role_session_name(claims)
    assert SESSION_NAME.match(name), name
    assert name == role_session_name(dict(claims))


def test_role_session_name_prefers_email_and_keeps_users_apart() -> None:
    ada = role_session_name({"sub": "auth0|1", "email": "ada@example.com"})
    assert ada.startswith("ada@example.com-")
    assert role_session_name({"sub": "auth0|1"}).startswith("auth0-1-")
    long_email = "a" * 80 + "@example.com"
    first = role_session_name({"sub": "auth0|1", "email": long_email})
    second = role_session_name({"sub": "auth0|2", "email": long_email})
    assert first != second
    assert role_session_name({"sub": "a|b"}) != role_session_name({"sub": "a-b"})


TAGS = "https://aws.amazon.com/tags"


def test_verdict_lists_good_session_tags(key: RSAKey) -> None:
    claim = {"principal_tags": {"team": ["platform"], "cost-center": ["42"]}}
    claim["transitive_tag_keys"] = ["team"]
    verdict, by_code = check(sign(key, id_claims(**{TAGS: claim})))
    assert verdict.accepted and [f.code for f in verdict.findings] == [*FINDING_CODES, "tags"]
    detail = by_code["tags"].detail
    assert "team=platform, cost-center=42" in detail and "transitive: team" in detail
    assert "sts:TagSession" in detail


@pytest.mark.parametrize(
    ("claim", "fragments"),
    [
        ([{"principal_tags": {"team": ["a"]}}], ["not a JSON object"]),
        ({"principal_tags": [["team", "a"]]}, ["principal_tags is"]),
        ({"principal_tags": {"team": "platform"}}, ["'team'", "list of one string"]),
        ({"principal_tags": {"team": ["a", "b"]}}, ["'team'", "multi-valued"]),
        ({"principal_tags": {"team": [None]}}, ["'team'", "list of one string"]),
        ({"principal_tags": {"t" * 129: ["a"]}}, ["1 to 128 characters"]),
        ({"principal_tags": {"": ["a"]}}, ["''", "1 to 128"]),
        ({"principal_tags": {"team;drop": ["a"]}}, ["'team;drop'"]),
        ({"principal_tags": {"AWS:team": ["a"]}}, ["'AWS:team'", "aws: prefix"]),
        ({"principal_tags": {"team": ["x" * 257]}}, ["'team'", "at most 256"]),
        ({"principal_tags": {"team": ["a*"]}}, ["'team'", "'a*'"]),
        ({"principal_tags": {"Team": ["a"], "team": ["b"]}}, ["'Team'", "'team'", "case"]),
        ({"principal_tags": {f"k{i}": ["v"] for i in range(51)}}, ["51 session tags", "50"]),
        ({"principal_tags": {"team": ["a"]}, "transitive_tag_keys": ["cost"]}, ["'cost'"]),
        ({"principal_tags": {"team": ["a"]}, "transitive_tag_keys": "team"}, ["not a list"]),
    ],
)
def test_verdict_names_the_session_tag_sts_would_refuse(
    key: RSAKey, claim: Any, fragments: list[str]
) -> None:
    verdict, by_code = check(sign(key, id_claims(**{TAGS: claim})))
    assert not verdict.accepted
    assert [f.code for f in verdict.findings if not f.ok] == ["tags"]
    for fragment in fragments:
        assert fragment in by_code["tags"].detail


def test_verdict_accepts_unicode_letters_spaces_and_the_allowed_marks(key: RSAKey) -> None:
    claim = {"principal_tags": {"équipe": ["Zürich Ops"], "a_b.c:d/e=f+g-h@i": ["ünï 42"]}}
    verdict, _ = check(sign(key, id_claims(**{TAGS: claim})))
    assert verdict.accepted
