"""/roles: pick which of your roles to use (kept per session, switchable)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, session

from ..auth import login_required, safe_next
from .blueprint import bp
from .broker import offered_roles
from .problems import NoRoleError
from .roles import role_name


@bp.get("/roles")
@login_required
def pick() -> Any:
    """List the roles this user may assume, with the current choice marked."""
    offered = offered_roles()
    if not offered:
        raise NoRoleError()
    roles = [{"arn": arn, "name": role_name(arn)} for arn in offered]
    current = session.get("role_choice") if len(offered) > 1 else offered[0]
    return render_template(
        "credentials/pick.html",
        roles=roles,
        current=current,
        next=safe_next(request.args.get("next")),
    )


@bp.post("/roles")
@login_required
def choose() -> Any:
    """Keep the chosen role for this session; only a role the rules offer is accepted."""
    arn = request.form.get("role_arn", "")
    if arn not in offered_roles():
        abort(400, "That role is not one your account may use.")
    session["role_choice"] = arn
    return redirect(safe_next(request.form.get("next")))
