"""The devstack IdP over real HTTP: discovery, code flow, tokens, switches, keys, logout."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet
from joserfc.util import urlsafe_b64decode
from werkzeug.wrappers import Request, Response

from devstack.idp import create_idp_app
from devstack.testing import SEED, TENANT, USERS, hidden_fields, serve

CLIENT_ID = TENANT["client_id"]
SECRET = TENANT["client_secret"]
ROLES = TENANT["roles_claim"]
CALLBACK = "http://127.0.0.1:5000/callback"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
JKU = "https://evil.example/jwks.json"

pytestmark = pytest.mark.devstack


@dataclass
class Idp:
    """The IdP under test and helpers that act as the portal and the browser."""

    issuer: str

    def url(self, path: str) -> str:
        """Absolute URL of an IdP path."""
        return self.issuer + path.lstrip("/")

    def control(self, path: str, body: dict | None = None) -> requests.Response:
        """POST to a /_devstack/ endpoint."""
        resp = requests.post(self.url("_devstack/" + path), json=body or {}, timeout=10)
        resp.raise_for_status()
        return resp

    def keys(self) -> KeySet:
        """The published JWKS as a joserfc KeySet."""
        return KeySet.import_key_set(
            requests.get(self.url(".well-known/jwks.json"), timeout=5).json()
        )

    def stats(self) -> dict[str, Any]:
        """The IdP's counters."""
        return requests.get(self.url("_devstack/stats"), timeout=5).json()


@dataclass
class Flow:
    """One authorization request with its PKCE verifier, nonce and state."""

    params: dict[str, str]
    verifier: str
    browser: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def new(cls, **extra: str) -> Flow:
        """A fresh request for the portal client with PKCE S256."""
        verifier = secrets.token_urlsafe(48)
        params = {
            "client_id": CLIENT_ID,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid profile email",
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            **extra,
        }
        return cls(params, verifier)


@pytest.fixture(scope="module")
def idp() -> Iterator[Idp]:
    """The IdP app over real HTTP on a free port."""
    holder: dict[str, Any] = {}
    # The issuer needs the port, which is only known once the socket is bound.
    with serve(lambda environ, start: holder["app"](environ, start_response=start)) as url:
        holder["app"] = create_idp_app(SEED, url + "/")
        yield Idp(url + "/")


@pytest.fixture(autouse=True)
def _reset(idp: Idp) -> None:
    """Every test starts with no switches, zero stats and no back-channel URLs."""
    idp.control("reset")
    idp.control("backchannel", {"urls": []})


@dataclass
class Receiver:
    """A tiny RP back-channel endpoint that records what it is sent."""

    url: str
    received: list[dict[str, str]]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A back-channel logout receiver over real HTTP."""
    received: list[dict[str, str]] = []

    @Request.application
    def app(request: Request) -> Response:
        received.append({**request.form, "content_type": request.content_type or ""})
        return Response("", status=200)

    with serve(app) as url:
        yield Receiver(f"{url}/backchannel-logout", received)


def query_of(resp: requests.Response) -> dict[str, str]:
    """The query parameters of a redirect's Location."""
    assert resp.status_code == 302, resp.text
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}


def open_login(idp: Idp, flow: Flow) -> requests.Response:
    """GET /authorize in the flow's browser."""
    return flow.browser.get(idp.url("authorize"), params=flow.params, allow_redirects=False)


def submit_login(
    idp: Idp, flow: Flow, username: str = "alice", password: str | None = None, **extra: str
) -> requests.Response:
    """Fill in and post the login form shown for the flow's authorization request."""
    page = open_login(idp, flow)
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text), "username": username, **extra}
    form["password"] = USERS[username]["password"] if password is None else password
    return flow.browser.post(idp.url("authorize"), data=form, allow_redirects=False)


def get_code(idp: Idp, flow: Flow, username: str = "alice") -> str:
    """Sign in through the form and return the authorization code."""
    query = query_of(submit_login(idp, flow, username))
    assert query["state"] == flow.params["state"]
    return query["code"]


def exchange(
    idp: Idp, code: str, verifier: str | None, post_auth: bool = False
) -> requests.Response:
    """Redeem a code at the token endpoint as the portal does."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    if verifier:
        data["code_verifier"] = verifier
    if post_auth:
        data |= {"client_id": CLIENT_ID, "client_secret": SECRET}
        return requests.post(idp.url("oauth/token"), data=data, timeout=10)
    return requests.post(idp.url("oauth/token"), data=data, auth=(CLIENT_ID, SECRET), timeout=10)


def code_flow(idp: Idp, username: str = "alice", **extra: str) -> tuple[Flow, dict[str, Any]]:
    """Run the whole code flow and return the flow and the token response."""
    flow = Flow.new(**extra)
    resp = exchange(idp, get_code(idp, flow, username), flow.verifier)
    assert resp.status_code == 200, resp.text
    return flow, resp.json()


def verify(idp: Idp, token: str) -> jwt.Token:
    """Verify a JWT's RS256 signature against the published JWKS."""
    return jwt.decode(token, idp.keys(), algorithms=["RS256"])


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """Header, claims and raw signature of a compact JWS, unverified."""
    obj = jws.extract_compact(token.encode())
    signature = urlsafe_b64decode(token.rsplit(".", 1)[1].encode())
    return obj.headers(), json.loads(obj.payload), signature


def test_oidc_style_issuer_has_no_trailing_slash_and_advertises_end_session() -> None:
    holder: dict[str, Any] = {}
    with serve(lambda environ, start: holder["app"](environ, start_response=start)) as url:
        holder["app"] = create_idp_app(SEED, url, "oidc")
        meta = requests.get(url + "/.well-known/openid-configuration", timeout=5).json()
        assert meta["issuer"] == url
        assert meta["authorization_endpoint"] == url + "/authorize"
        assert meta["jwks_uri"] == url + "/.well-known/jwks.json"
        assert meta["end_session_endpoint"] == url + "/oidc/logout"
        tokens = code_flow(Idp(url + "/"), "bob")[1]
        claims = verify(Idp(url + "/"), tokens["id_token"]).claims
        assert claims["iss"] == url
        # The logout endpoint takes the hint this issuer signed (its iss has no slash).
        target = "http://localhost:5000/"
        params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": target}
        resp = requests.get(
            meta["end_session_endpoint"], params=params, allow_redirects=False, timeout=5
        )
        assert (resp.status_code, resp.headers.get("Location")) == (302, target)


def test_discovery(idp: Idp) -> None:
    meta = requests.get(idp.url(".well-known/openid-configuration"), timeout=5).json()
    assert idp.issuer.endswith("/")
    assert meta["issuer"] == idp.issuer
    assert meta["authorization_endpoint"] == idp.issuer + "authorize"
    assert meta["token_endpoint"] == idp.issuer + "oauth/token"
    assert meta["userinfo_endpoint"] == idp.issuer + "userinfo"
    assert meta["jwks_uri"] == idp.issuer + ".well-known/jwks.json"
    # Auth0 without RP-initiated logout discovery: sign-out goes to /v2/logout.
    assert "end_session_endpoint" not in meta
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    assert meta["code_challenge_methods_supported"] == ["S256", "plain"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert "code" in meta["response_types_supported"]
    assert {"openid", "offline_access"} <= set(meta["scopes_supported"])
    assert meta["backchannel_logout_supported"] is True
    assert meta["backchannel_logout_session_supported"] is True


def test_jwks_publishes_one_public_rsa_key(idp: Idp) -> None:
    keys = requests.get(idp.url(".well-known/jwks.json"), timeout=5).json()["keys"]
    assert len(keys) == 1
    (key,) = keys
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["alg"] == "RS256"
    assert key["kid"] and key["n"] and key["e"] == "AQAB"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_code_flow_with_pkce_gives_auth0_shaped_id_token(idp: Idp) -> None:
    flow, tokens = code_flow(idp, "alice")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == TENANT["access_token_lifetime"]
    assert tokens["scope"] == "openid profile email"
    assert "refresh_token" not in tokens
    token = verify(idp, tokens["id_token"])
    alice = USERS["alice"]
    assert token.header["typ"] == "JWT"
    assert token.header["kid"] == idp.keys().keys[0].kid
    claims = token.claims
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == CLIENT_ID  # a plain string, the one shape STS accepts
    assert claims["sub"] == alice["sub"]
    assert claims["nonce"] == flow.params["nonce"]
    assert claims[ROLES] == alice["roles"]
    assert claims["email"] == alice["email"] and claims["email_verified"] is True
    assert claims["name"] == alice["name"] and claims["nickname"] == "alice"
    assert claims["sid"]
    assert claims["exp"] - claims["iat"] == TENANT["id_token_lifetime"]
    assert abs(claims["auth_time"] - time.time()) < 60


def test_user_without_roles_gets_empty_roles_list(idp: Idp) -> None:
    _, tokens = code_flow(idp, "carol")
    assert verify(idp, tokens["id_token"]).claims[ROLES] == []


def test_opaque_access_token_works_at_userinfo(idp: Idp) -> None:
    _, tokens = code_flow(idp, "bob")
    assert tokens["access_token"].count(".") != 2
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = requests.get(idp.url("userinfo"), headers=headers, timeout=5)
    assert info.status_code == 200
    assert info.json()["sub"] == USERS["bob"]["sub"]
    assert info.json()[ROLES] == ["reader"]
    denied = requests.get(idp.url("userinfo"), headers={"Authorization": "Bearer nope"}, timeout=5)
    assert denied.status_code == 401


def test_access_token_for_audience_has_two_value_aud(idp: Idp) -> None:
    _, tokens = code_flow(idp, "alice", audience=TENANT["audience"])
    token = verify(idp, tokens["access_token"])
    claims = token.claims
    assert token.header["typ"] == "JWT" and token.header["kid"]
    assert claims["aud"] == [TENANT["audience"], idp.issuer + "userinfo"]
    assert claims["iss"] == idp.issuer
    assert claims["sub"] == USERS["alice"]["sub"]
    assert claims["azp"] == CLIENT_ID
    assert claims["scope"] == "openid profile email"
    assert claims[ROLES] == ["admin", "reader"]
    assert claims["exp"] - claims["iat"] == TENANT["access_token_lifetime"]
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.post(idp.url("userinfo"), headers=headers, timeout=5).status_code == 200


def test_unknown_audience_is_access_denied(idp: Idp) -> None:
    flow = Flow.new(audience="https://nope.example")
    query = query_of(open_login(idp, flow))
    assert query["error"] == "access_denied"
    assert query["error_description"] == "Service not found: https://nope.example"
    assert query["state"] == flow.params["state"]


def test_refresh_with_offline_access(idp: Idp) -> None:
    scope = "openid profile email offline_access"
    _, tokens = code_flow(idp, "alice", scope=scope, audience=TENANT["audience"])
    first = verify(idp, tokens["id_token"]).claims
    assert tokens["refresh_token"]
    resp = requests.post(
        idp.url("oauth/token"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
        },
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    fresh = resp.json()
    assert fresh["access_token"] != tokens["access_token"]
    assert fresh["token_type"] == "Bearer" and fresh["scope"] == scope
    claims = verify(idp, fresh["id_token"]).claims
    assert "nonce" not in claims
    assert {k: claims[k] for k in ("iss", "aud", "sub", "sid", ROLES)} == {
        k: first[k] for k in ("iss", "aud", "sub", "sid", ROLES)
    }
    assert verify(idp, fresh["access_token"]).claims["aud"][0] == TENANT["audience"]


def test_refresh_token_of_other_client_secret_is_rejected(idp: Idp) -> None:
    _, tokens = code_flow(idp, scope="openid offline_access")
    resp = requests.post(
        idp.url("oauth/token"),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(CLIENT_ID, "wrong-secret"),
        timeout=10,
    )
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"


def test_client_secret_post_is_accepted(idp: Idp) -> None:
    flow = Flow.new()
    resp = exchange(idp, get_code(idp, flow), flow.verifier, post_auth=True)
    assert resp.status_code == 200, resp.text
    assert "id_token" in resp.json()


def test_wrong_password_shows_form_again(idp: Idp) -> None:
    resp = submit_login(idp, Flow.new(), "alice", password="wrong")
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "Wrong username or password" in resp.text
    assert 'name="password"' in resp.text
    assert idp.stats()["logins"] == 0


def test_decline_redirects_with_access_denied(idp: Idp) -> None:
    flow = Flow.new()
    query = query_of(submit_login(idp, flow, "alice", password="", decline="1"))
    assert query["error"] == "access_denied"
    assert query["error_description"]
    assert query["state"] == flow.params["state"]
    assert "code" not in query


@pytest.mark.parametrize(
    "override",
    [
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": "http://127.0.0.1:5000/elsewhere"},
        {"client_id": "unknown-client"},
        {"redirect_uri": ""},
    ],
)
def test_bad_client_or_redirect_is_a_page_not_a_redirect(idp: Idp, override: dict) -> None:
    flow = Flow.new(**override)
    resp = open_login(idp, flow)
    assert resp.status_code == 400
    assert "Location" not in resp.headers


@pytest.mark.parametrize(
    ("override", "error"),
    [({"scope": "profile email"}, "invalid_scope"), ({"response_type": "token"}, None)],
)
def test_bad_request_with_good_redirect_is_redirected(
    idp: Idp, override: dict, error: str | None
) -> None:
    query = query_of(open_login(idp, Flow.new(**override)))
    assert query["error"] == (error or "unsupported_response_type")
    assert "code" not in query


def test_pkce_verifier_mismatch_is_invalid_grant(idp: Idp) -> None:
    flow = Flow.new()
    resp = exchange(idp, get_code(idp, flow), secrets.token_urlsafe(48))
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"


def test_plain_pkce_is_verified(idp: Idp) -> None:
    verifier = secrets.token_urlsafe(48)
    flow = Flow.new(code_challenge=verifier, code_challenge_method="plain")
    assert exchange(idp, get_code(idp, flow), verifier).status_code == 200
    flow = Flow.new(code_challenge=verifier, code_challenge_method="plain")
    assert exchange(idp, get_code(idp, flow), verifier[::-1]).json()["error"] == "invalid_grant"


def test_code_replay_is_rejected(idp: Idp) -> None:
    flow = Flow.new()
    code = get_code(idp, flow)
    assert exchange(idp, code, flow.verifier).status_code == 200
    again = exchange(idp, code, flow.verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_sso_session_skips_the_form_unless_prompt_login(idp: Idp) -> None:
    flow = Flow.new()
    first = query_of(submit_login(idp, flow))
    again = Flow.new()
    again.browser = flow.browser
    query = query_of(open_login(idp, again))
    assert query["code"] != first["code"] and query["state"] == again.params["state"]
    tokens = exchange(idp, query["code"], again.verifier).json()
    assert verify(idp, tokens["id_token"]).claims["nonce"] == again.params["nonce"]
    forced = Flow.new(prompt="login")
    forced.browser = flow.browser
    page = open_login(idp, forced)
    assert page.status_code == 200 and 'name="username"' in page.text


@pytest.mark.parametrize("kind", ["id_token", "access_token"])
def test_claims_and_drop_switches(idp: Idp, kind: str) -> None:
    switch = {"claims": {"aud": "someone-else", "exp": 1}, "drop": ["sub"], "header": {"jku": JKU}}
    idp.control("misbehave", {kind: switch})
    _, tokens = code_flow(idp, audience=TENANT["audience"])
    token = verify(idp, tokens[kind])  # still correctly signed
    assert token.claims["aud"] == "someone-else"
    assert token.claims["exp"] == 1
    assert "sub" not in token.claims
    assert token.header["jku"] == JKU
    other = "access_token" if kind == "id_token" else "id_token"
    assert verify(idp, tokens[other]).claims["sub"] == USERS["alice"]["sub"]


def test_switches_merge_and_reset_clears_them(idp: Idp) -> None:
    idp.control("misbehave", {"id_token": {"claims": {"a": 1}}})
    idp.control("misbehave", {"id_token": {"claims": {"b": 2}}})
    claims = verify(idp, code_flow(idp)[1]["id_token"]).claims
    assert claims["a"] == 1 and claims["b"] == 2
    idp.control("reset")
    claims = verify(idp, code_flow(idp)[1]["id_token"]).claims
    assert "a" not in claims and "b" not in claims


def test_unknown_switch_is_refused(idp: Idp) -> None:
    resp = requests.post(
        idp.url("_devstack/misbehave"), json={"id_token": {"signing": "rot13"}}, timeout=5
    )
    assert resp.status_code == 400


def _token_with_signing(idp: Idp, mode: str) -> str:
    idp.control("misbehave", {"id_token": {"signing": mode}})
    return code_flow(idp)[1]["id_token"]


def test_flip_signature(idp: Idp) -> None:
    token = _token_with_signing(idp, "flip_signature")
    header, claims, _ = parts(token)
    assert header["kid"] in {k.kid for k in idp.keys().keys}
    assert claims["sub"] == USERS["alice"]["sub"]
    with pytest.raises(BadSignatureError):
        verify(idp, token)


def test_foreign_key_keeps_published_kid(idp: Idp) -> None:
    token = _token_with_signing(idp, "foreign_key")
    header, _, signature = parts(token)
    assert header["alg"] == "RS256"
    assert header["kid"] in {k.kid for k in idp.keys().keys}
    assert len(signature) == 256
    with pytest.raises(BadSignatureError):
        verify(idp, token)


def test_unknown_kid_is_not_published(idp: Idp) -> None:
    token = _token_with_signing(idp, "unknown_kid")
    header, _, _ = parts(token)
    assert header["alg"] == "RS256" and header["kid"]
    assert header["kid"] not in {k.kid for k in idp.keys().keys}
    with pytest.raises(JoseError):
        verify(idp, token)


def test_alg_none_has_empty_signature(idp: Idp) -> None:
    token = _token_with_signing(idp, "alg_none")
    header, claims, signature = parts(token)
    assert header["alg"] == "none"
    assert token.endswith(".") and signature == b""
    assert claims["aud"] == CLIENT_ID
    with pytest.raises(JoseError):
        verify(idp, token)


def test_hs256_keyed_with_public_key_pem(idp: Idp) -> None:
    token = _token_with_signing(idp, "hs256_public_key")
    header, _, signature = parts(token)
    assert header["alg"] == "HS256"
    pem = idp.keys().get_by_kid(header["kid"]).as_pem(private=False)
    signing_input = token.rsplit(".", 1)[0].encode()
    assert hmac.compare_digest(signature, hmac.new(pem, signing_input, hashlib.sha256).digest())
    with pytest.raises(JoseError):
        verify(idp, token)


def test_rotate_keys_keeps_old_key_published(idp: Idp) -> None:
    old_token = code_flow(idp)[1]["id_token"]
    old_kid = parts(old_token)[0]["kid"]
    new_kid = idp.control("rotate-keys").json()["kid"]
    assert new_kid != old_kid
    assert {k.kid for k in idp.keys().keys} >= {old_kid, new_kid}
    assert verify(idp, old_token).header["kid"] == old_kid  # still verifiable
    token = code_flow(idp)[1]["id_token"]
    assert verify(idp, token).header["kid"] == new_kid
    newest = idp.control("rotate-keys", {"keep_old": False}).json()["kid"]
    assert {k.kid for k in idp.keys().keys} == {newest}
    with pytest.raises(JoseError):
        verify(idp, token)


def test_stats_count_requests(idp: Idp) -> None:
    _, tokens = code_flow(idp, scope="openid offline_access")
    requests.post(
        idp.url("oauth/token"),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(CLIENT_ID, SECRET),
        timeout=10,
    ).raise_for_status()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    requests.get(idp.url("userinfo"), headers=headers, timeout=5)
    requests.get(idp.url(".well-known/jwks.json"), timeout=5)
    requests.get(idp.url(".well-known/openid-configuration"), timeout=5)
    assert idp.stats() == {
        "token_requests": {"authorization_code": 1, "refresh_token": 1},
        "discovery_requests": 1,
        "jwks_fetches": 1,
        "logins": 1,
        "userinfo_requests": 1,
        "backchannel_logouts_sent": 0,
    }


@pytest.mark.parametrize(
    "return_to", ["https://evil.example/", "http://example.com/", "https://127.0.0.1:5000/"]
)
def test_v2_logout_refuses_unlisted_return_to(idp: Idp, return_to: str) -> None:
    resp = requests.get(
        idp.url("v2/logout"),
        params={"client_id": CLIENT_ID, "returnTo": return_to},
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 400
    assert "Location" not in resp.headers


def test_v2_logout_ends_sso_session_and_redirects(idp: Idp) -> None:
    flow = Flow.new()
    query_of(submit_login(idp, flow))
    return_to = "http://127.0.0.1:5000/"
    resp = flow.browser.get(
        idp.url("v2/logout"),
        params={"client_id": CLIENT_ID, "returnTo": return_to},
        allow_redirects=False,
    )
    assert resp.status_code == 302 and resp.headers["Location"] == return_to
    again = Flow.new()
    again.browser = flow.browser
    page = open_login(idp, again)
    assert page.status_code == 200 and 'name="username"' in page.text


def test_v2_logout_without_return_to_shows_signed_out(idp: Idp) -> None:
    resp = requests.get(idp.url("v2/logout"), allow_redirects=False, timeout=5)
    assert resp.status_code == 200
    assert "signed out" in resp.text.lower()


def test_backchannel_logout_on_v2_logout(idp: Idp, receiver: Receiver) -> None:
    receiver.received.clear()
    idp.control("backchannel", {"urls": [receiver.url]})
    flow = Flow.new()
    tokens = exchange(idp, get_code(idp, flow), flow.verifier).json()
    sid = verify(idp, tokens["id_token"]).claims["sid"]
    flow.browser.get(idp.url("v2/logout"), allow_redirects=False)
    assert len(receiver.received) == 1
    posted = receiver.received[0]
    assert posted["content_type"] == "application/x-www-form-urlencoded"
    token = verify(idp, posted["logout_token"])
    assert token.header["typ"] == "logout+jwt" and token.header["kid"]
    claims = token.claims
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == CLIENT_ID
    assert claims["sub"] == USERS["alice"]["sub"]
    assert claims["sid"] == sid
    assert claims["events"] == {LOGOUT_EVENT: {}}
    assert claims["exp"] - claims["iat"] == 120
    assert claims["jti"] and "nonce" not in claims
    assert idp.stats()["backchannel_logouts_sent"] == 1


def test_oidc_logout_with_hint_redirects_with_state(idp: Idp, receiver: Receiver) -> None:
    receiver.received.clear()
    idp.control("backchannel", {"urls": [receiver.url]})
    _, tokens = code_flow(idp, "bob")
    target = "http://localhost:5000/bye"
    # No SSO cookie here: the session to end is the one named by the hint's sid.
    resp = requests.get(
        idp.url("oidc/logout"),
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": target,
            "state": "s1",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == target + "?state=s1"
    assert [verify(idp, r["logout_token"]).claims["sub"] for r in receiver.received] == [
        USERS["bob"]["sub"]
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"id_token_hint": "not-a-jwt", "post_logout_redirect_uri": "http://localhost:5000/"},
        {"client_id": CLIENT_ID, "post_logout_redirect_uri": "https://evil.example/"},
        {"post_logout_redirect_uri": "http://localhost:5000/"},
    ],
)
def test_oidc_logout_refuses_bad_requests(idp: Idp, params: dict) -> None:
    resp = requests.get(idp.url("oidc/logout"), params=params, allow_redirects=False, timeout=5)
    assert resp.status_code == 400
    assert "Location" not in resp.headers


def test_backchannel_logout_on_command_with_switches(idp: Idp, receiver: Receiver) -> None:
    receiver.received.clear()
    idp.control("backchannel", {"urls": [receiver.url]})
    idp.control("misbehave", {"logout_token": {"claims": {"nonce": "n"}, "signing": "alg_none"}})
    sub = USERS["carol"]["sub"]
    sent = idp.control("backchannel-logout", {"sub": sub, "sid": "sid-1"}).json()["sent"]
    assert sent == 1
    header, claims, signature = parts(receiver.received[0]["logout_token"])
    assert header == {"alg": "none", "typ": "logout+jwt", "kid": header["kid"]}
    assert signature == b""
    assert claims["sub"] == sub and claims["sid"] == "sid-1" and claims["nonce"] == "n"


def test_unreachable_backchannel_url_is_not_fatal(idp: Idp, receiver: Receiver) -> None:
    receiver.received.clear()
    idp.control("backchannel", {"urls": ["http://127.0.0.1:9/nowhere", receiver.url]})
    resp = idp.control("backchannel-logout", {"sub": USERS["alice"]["sub"]})
    assert resp.json()["sent"] == 1
    assert len(receiver.received) == 1
    assert "sid" not in verify(idp, receiver.received[0]["logout_token"]).claims
