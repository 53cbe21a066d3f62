"""Test-control endpoints of the devstack IdP under /_devstack/ (not part of Auth0)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .logout import send_backchannel_logout
from .signing import merge_switches
from .state import get_state

bp = Blueprint("idp_control", __name__, url_prefix="/_devstack")


@bp.post("/rotate-keys")
def rotate_keys() -> Response:
    """Make a new signing key; the old ones stay published unless keep_old is false."""
    state = get_state()
    body = get_body()
    kid = state.signer.rotate(keep_old=bool(body.get("keep_old", True)))
    return jsonify(kid=kid, published=[k["kid"] for k in state.signer.get_jwks()["keys"]])


@bp.post("/misbehave")
def misbehave() -> Any:
    """Merge misbehaviour switches that apply to tokens issued from now on."""
    signer = get_state().signer
    try:
        signer.switches = merge_switches(signer.switches, get_body())
    except ValueError as exc:
        return jsonify(error="invalid_request", error_description=str(exc)), 400
    return jsonify(switches=signer.switches)


@bp.post("/clock")
def clock() -> Any:
    """Move the clock the IdP stamps tokens with: {"offset": seconds ahead of real time}."""
    offset = get_body().get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int | float):
        return jsonify(error="invalid_request", error_description="offset must be a number"), 400
    get_state().signer.clock_offset = float(offset)
    return jsonify(offset=offset)


@bp.post("/slow")
def slow() -> Any:
    """Make the token endpoint wait before answering: {"token_ms": milliseconds}."""
    delay = get_body().get("token_ms", 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 60_000:
        return jsonify(error="invalid_request", error_description="token_ms: 0 to 60000"), 400
    get_state().token_delay = delay / 1000
    return jsonify(token_ms=delay)


@bp.post("/reset")
def reset() -> Response:
    """Clear switches and stats; keys, sessions and back-channel URLs stay."""
    state = get_state()
    with state.lock:
        state.signer.switches = {}
        state.signer.clock_offset = 0.0
        state.token_delay = 0.0
        state.stats.clear()
    return jsonify(switches={}, stats=state.get_stats())


@bp.get("/stats")
def stats() -> Response:
    """Return the request counters."""
    return jsonify(get_state().get_stats())


@bp.post("/backchannel")
def backchannel() -> Any:
    """Set the RPs' back-channel logout URLs."""
    urls = get_body().get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        return jsonify(error="invalid_request", error_description="urls must be a list"), 400
    get_state().backchannel_urls = list(urls)
    return jsonify(urls=urls)


@bp.post("/backchannel-logout")
def backchannel_logout() -> Any:
    """End the user's SSO sessions (or one sid) and send a back-channel logout token now."""
    state = get_state()
    body = get_body()
    sub, sid = body.get("sub"), body.get("sid")
    if not sub:
        return jsonify(error="invalid_request", error_description="sub is required"), 400
    ended = state.end_sessions(sid=sid) if sid else state.end_sessions(sub=sub)
    clients = {client for session in ended for client in session.clients}
    return jsonify(sent=send_backchannel_logout(state, sub, sid, clients))


def get_body() -> dict[str, Any]:
    """Return the JSON object body, or an empty dict when there is none."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}
