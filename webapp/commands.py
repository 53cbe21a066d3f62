"""Flask commands for operators."""

from __future__ import annotations

import json
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .doctor import SIGN_IN, Result, run_checks, run_token_checks, sign_in
from .doctor.result import skipped
from .tokens import TokenFormatError, check_sts_compatibility, decode_unverified
from .tokens.times import TIME_CLAIMS, utc_iso


def init_app(app: Flask) -> None:
    """Register the operator commands on app.cli."""
    app.cli.add_command(check_token_command)
    app.cli.add_command(doctor_command)


@click.command("check-token")
@click.argument("source", default="-", metavar="[FILE|-]")
@click.option("--issuer", help="IAM OIDC provider URL (default: AUTH0_ISSUER).")
@click.option(
    "--audience", "audiences", multiple=True, help="Provider audience (default: AUTH0_CLIENT_ID)."
)
@with_appcontext
def check_token_command(source: str, issuer: str | None, audiences: tuple[str, ...]) -> None:
    """Decode a token from FILE or stdin and say whether STS would accept it."""
    token = _read_token(source)
    try:
        decoded = decode_unverified(token)
    except TokenFormatError as error:
        _fail(error.reason)
    provider_url = issuer or current_app.config.get("AUTH0_ISSUER")
    allowed = list(audiences) or [current_app.config.get("AUTH0_CLIENT_ID") or ""]
    if not provider_url or not all(allowed):
        _fail("no provider: pass --issuer and --audience or set AUTH0_ISSUER and AUTH0_CLIENT_ID")

    click.echo(f"Token: {decoded.length:,} characters, fingerprint {decoded.fingerprint}")
    click.echo("Header:")
    click.echo(json.dumps(decoded.header, indent=2, ensure_ascii=False))
    click.echo("Claims:")
    click.echo(json.dumps(decoded.claims, indent=2, ensure_ascii=False))
    times = [(n, decoded.claims[n]) for n in TIME_CLAIMS if _is_time(decoded.claims.get(n))]
    if times:
        click.echo("Times (UTC):")
        for name, value in times:
            click.echo(f"  {name:<10} {utc_iso(value)}")

    verdict = check_sts_compatibility(token, provider_url=provider_url, audiences=allowed)
    click.echo(f"STS check against {provider_url} with audiences {allowed}:")
    for finding in verdict.findings:
        click.echo(f"  {'ok  ' if finding.ok else 'FAIL'} {finding.title}: {finding.detail}")
    click.echo(f"STS would {'accept' if verdict.accepted else 'refuse'} this token.")
    click.get_current_context().exit(0 if verdict.accepted else 1)


@click.command("doctor")
@click.option(
    "--token",
    "token_source",
    metavar="FILE|-",
    help="Also send this ID token (a file, or - for stdin) through the STS checks.",
)
@click.option(
    "--sign-in",
    "signing_in",
    is_flag=True,
    help="Sign in through a browser to a local callback, then send that ID token to STS.",
)
@click.option(
    "--callback-port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port of the --sign-in callback on 127.0.0.1 (the IdP must allow its URL).",
)
@click.option(
    "--aws-profile",
    envvar="DOCTOR_AWS_PROFILE",
    help="boto3 profile that may read IAM (default: DOCTOR_AWS_PROFILE, else the ambient one).",
)
@with_appcontext
def doctor_command(
    token_source: str | None, signing_in: bool, callback_port: int, aws_profile: str | None
) -> None:
    """Check the live configuration, one line per check; exit 1 if any check failed."""
    if token_source is not None and signing_in:
        raise click.UsageError("give --token or --sign-in, not both")
    token = _read_token(token_source) if token_source is not None else None
    config, store = current_app.config, current_app.extensions["webapp.store"]
    seen: list[Result] = []
    for result in run_checks(config, store.client, profile=aws_profile):
        seen.append(_report(result))  # printed as they come: the checks call the network
    if signing_in and any(r.status == "fail" and r.name.startswith("IdP") for r in seen):
        seen.append(_report(skipped(SIGN_IN, "fix the IdP checks above first.")))
    elif signing_in:
        result, token = sign_in(
            config["AUTH0_ISSUER"],
            config["AUTH0_CLIENT_ID"],
            config["AUTH0_CLIENT_SECRET"],
            port=callback_port,
            timeout=config["HTTP_TIMEOUT_SECONDS"],
            show=_show_sign_in,
        )
        seen.append(_report(result))
    if token is not None:
        seen.extend(_report(result) for result in run_token_checks(config, token))
    counts = {status: sum(r.status == status for r in seen) for status in ("pass", "fail", "skip")}
    click.echo(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped.")
    click.get_current_context().exit(1 if counts["fail"] else 0)


def _report(result: Result) -> Result:
    click.echo(_line(result))
    return result


def _show_sign_in(url: str, redirect_uri: str) -> None:
    click.echo(
        f"Open this URL in a browser and sign in (the IdP must allow {redirect_uri} as a "
        f"callback URL); waiting up to five minutes:\n  {url}"
    )


def _line(result: Result) -> str:
    """'pass  name: detail', 'FAIL  name: detail' plus its fix, or 'skip  name: why'."""
    label = {"pass": "pass", "fail": "FAIL", "skip": "skip"}[result.status]
    line = f"{label}  {result.name}: {result.detail}"
    return f"{line}\n      fix: {result.fix}" if result.fix else line


def _read_token(source: str) -> str:
    try:
        with click.open_file(source) as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"cannot read {source}: {getattr(error, 'strerror', None) or error}")
    token = "".join(text.split())
    if not token:
        _fail(f"no token in {'stdin' if source == '-' else source}")
    return token


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    click.get_current_context().exit(2)


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
