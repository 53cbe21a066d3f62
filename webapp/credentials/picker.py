"""/roles: pick which of your roles to use, grouped by account (kept per session, switchable)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, session

from ..auth import login_required, safe_next
from .blueprint import bp
from .broker import offered_roles, remember_role, remembered_role, role_rules
from .problems import NoRoleError
from .roles import OfferedRole, by_account, describe


@bp.get("/roles")
@login_required
def pick() -> Any:
    """The accounts with the roles this user may assume in each, the current choice marked."""
    offered = offered_roles()
    if not offered:
        raise NoRoleError()
    in_use = session.get("role_choice") if len(offered) > 1 else offered[0]
    if in_use not in offered:
        in_use = None
    # Preselected: the role in use, else this user's last choice when it is still offered.
    last = in_use or remembered_role()
    return render_template(
        "credentials/pick.html",
        accounts=by_account(offered, role_rules()),
        in_use=in_use,
        preselected=last if last in offered else None,
        next=safe_next(request.args.get("next")),
    )


@bp.post("/roles")
@login_required
def choose() -> Any:
    """Keep the chosen role for this session and remember it; only an offered role is accepted."""
    arn = request.form.get("role_arn", "")
    if arn not in offered_roles():
        abort(400, "That role is not one your account may use.")
    remember_role(arn)
    return redirect(safe_next(request.form.get("next")))


@bp.app_context_processor
def current_role() -> dict[str, OfferedRole | None]:
    """The role in use (account and role names) for the header of every signed-in page.

    Read from the session and the token alone, never Redis: error pages render this header too,
    also when Redis is what failed.
    """
    if "user" not in session or "tokens" not in session:
        return {"current_role": None}
    offered = offered_roles()
    arn = offered[0] if len(offered) == 1 else session.get("role_choice")
    return {"current_role": describe(arn, role_rules()) if arn in offered else None}
