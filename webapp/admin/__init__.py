"""Admin pages: the tokens of a session decoded and judged, live sessions, revoke, audit trail."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .. import audit, clock, session_index, sessions
from ..auth import admin_required, get_keys
from .inspection import inspect_session

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _inspect(data: dict[str, Any]) -> dict[str, Any]:
    return inspect_session(
        data,
        keys=get_keys(),
        issuer=current_app.config["AUTH0_ISSUER"],
        client_id=current_app.config["AUTH0_CLIENT_ID"],
        now=clock.now(),
    )


@bp.get("/tokens")
@admin_required
def tokens() -> Any:
    """The signed-in admin's own tokens and AWS credentials."""
    return render_template("admin/tokens.html", report=_inspect(dict(session)), entry=None)


@bp.get("/sessions")
@admin_required
def list_sessions() -> Any:
    """Every live session (optionally filtered by user), and the recent audit events."""
    query = request.args.get("q", "")
    return render_template(
        "admin/sessions.html",
        entries=session_index.list_sessions(query),
        query=query,
        own=sessions.get_own_handle(),
        events=audit.list_recent(50),
    )


@bp.get("/sessions/<handle>")
@admin_required
def show_session(handle: str) -> Any:
    """One live session, decoded the same way as the admin's own."""
    entry = session_index.get_entry(handle)
    data = sessions.load(handle) if entry is not None else None
    if entry is None or data is None or "user" not in data:
        abort(404, "This session has ended or was revoked.")
    if handle != sessions.get_own_handle():
        audit.record("admin_viewed_session", session=handle, target=entry["sub"])
    return render_template("admin/tokens.html", report=_inspect(data), entry=entry)


@bp.post("/sessions/<handle>/revoke")
@admin_required
def revoke(handle: str) -> Any:
    """End one session; its owner is signed out at their next request."""
    entry = session_index.revoke(handle)
    if entry is not None:
        audit.record("session_revoked", session=handle, target=entry["sub"])
        flash(f"Ended a session of {entry['name']}.")
    _end_own_if([handle])
    return redirect(url_for("admin.list_sessions"))


@bp.post("/users/<user_key>/revoke")
@admin_required
def revoke_user(user_key: str) -> Any:
    """End every session of one user."""
    ended = session_index.revoke_user(user_key)
    if ended:
        audit.record("user_sessions_revoked", target=ended[0]["sub"], count=len(ended))
        flash(f"Ended {len(ended)} session(s) of {ended[0]['name']}.")
    _end_own_if([e["handle"] for e in ended])
    return redirect(url_for("admin.list_sessions"))


def _end_own_if(handles: list[str]) -> None:
    # This request would otherwise save the admin's own revoked session straight back.
    if sessions.get_own_handle() in handles:
        sessions.end()


def init_app(app: Flask) -> None:
    """Register the admin pages."""
    app.register_blueprint(bp)
