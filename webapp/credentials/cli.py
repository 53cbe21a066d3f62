"""CLI credentials: the role's temporary keys as shell lines and a credential_process document."""

from __future__ import annotations

import json
import shlex
from typing import Any

from flask import current_app, render_template, request

from .. import headers
from ..auth import login_required
from ..tokens.times import utc_iso
from .blueprint import bp
from .broker import get_credentials


def get_variables(creds: Any, region: str, endpoint_url: str | None) -> list[tuple[str, str]]:
    """The environment variables the AWS CLI and SDKs read, in the order people expect."""
    variables = [
        ("AWS_ACCESS_KEY_ID", creds.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key),
        ("AWS_SESSION_TOKEN", creds.session_token),
        ("AWS_REGION", region),
    ]
    if endpoint_url:  # local stand-ins only; production leaves it unset
        variables.append(("AWS_ENDPOINT_URL", endpoint_url))
    return variables


def format_bash(variables: list[tuple[str, str]]) -> str:
    """export lines for bash and zsh, quoted for the shell."""
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in variables)


def format_powershell(variables: list[tuple[str, str]]) -> str:
    """$Env: lines for PowerShell, in single quotes (which escape only themselves)."""
    return "\n".join(
        f"$Env:{name}='{value.replace(chr(39), chr(39) * 2)}'" for name, value in variables
    )


def format_credential_process(creds: Any) -> str:
    """The JSON document a credential_process program prints (Version 1)."""
    document = {
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "SessionToken": creds.session_token,
        "Expiration": utc_iso(int(creds.expiration)),
    }
    return json.dumps(document, indent=2)


@bp.route("/resources/credentials", methods=["GET", "POST"])
@login_required
def cli() -> Any:
    """GET: the role and expiry and a reveal button. POST (CSRF-checked): the secrets."""
    creds = get_credentials()
    formats = None
    if request.method == "POST":
        variables = get_variables(
            creds, current_app.config["AWS_REGION"], current_app.config["AWS_ENDPOINT_URL"]
        )
        formats = {
            "bash": format_bash(variables),
            "powershell": format_powershell(variables),
            "credential_process": format_credential_process(creds),
        }
    page = render_template("credentials/cli.html", creds=creds, formats=formats)
    return headers.no_store(current_app.make_response(page))
