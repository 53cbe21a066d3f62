"""/roles: pick which of your roles to use (kept per session, switchable)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session

from . import sts
from .auth import login_required, safe_next
from .roles import role_name

bp = Blueprint("role_picker", __name__)


@bp.get("/roles")
@login_required
def pick() -> Any:
    """List the roles this user may assume, with the current choice marked."""
    offered = sts.offered_roles()
    if not offered:
        raise sts.NoRoleError()
    roles = [{"arn": arn, "name": role_name(arn)} for arn in offered]
    current = session.get("role_choice") if len(offered) > 1 else offered[0]
    return render_template(
        "role_picker/pick.html",
        roles=roles,
        current=current,
        next=safe_next(request.args.get("next")),
    )


@bp.post("/roles")
@login_required
def choose() -> Any:
    """Keep the chosen role for this session; only a role the rules offer is accepted."""
    arn = request.form.get("role_arn", "")
    if arn not in sts.offered_roles():
        abort(400, "That role is not one your account may use.")
    session["role_choice"] = arn
    return redirect(safe_next(request.form.get("next")))
