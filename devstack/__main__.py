"""`python -m devstack`: run the local IdP and AWS; print the settings pointing the app there."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

from .aws import LocalAWS
from .idp import STYLES, create_idp_app
from .seed import SEED_FILE, load_seed

HERE = Path(__file__).parent


def environment(seed: dict, issuer: str, aws_url: str) -> dict[str, str]:
    """The app's settings for this stack."""
    tenant = seed["tenant"]
    return {
        "AUTH0_ISSUER": issuer,
        "AUTH0_CLIENT_ID": tenant["client_id"],
        "AUTH0_CLIENT_SECRET": tenant["client_secret"],
        "AUTH0_AUDIENCE": tenant["audience"],
        "AUTH0_ROLES_CLAIM": tenant["roles_claim"],
        "AWS_ENDPOINT_URL": aws_url,
        "AWS_FEDERATION_URL": f"{aws_url}/federation",
        "AWS_REGION": seed.get("aws", {}).get("region", "us-east-1"),
        # Every region the seed puts resources in, AWS_REGION first.
        "AWS_REGIONS": ",".join(seed.get("aws", {}).get("regions", [])),
        "ROLE_RULES": str(HERE / "roles.toml"),
    }


def main(argv: list[str] | None = None) -> int:
    """Start both stand-ins and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--idp-port", type=int, default=9400)
    parser.add_argument("--aws-port", type=int, default=9500)
    parser.add_argument("--seed", default=str(SEED_FILE))
    parser.add_argument("--env-file", help="also write the environment to this file")
    parser.add_argument(
        "--only", choices=("idp", "aws"), help="run one stand-in (outage tests stop them apart)"
    )
    parser.add_argument("--issuer", help="with --only aws: the IdP's issuer URL")
    parser.add_argument(
        "--issuer-style",
        choices=STYLES,
        default="auth0",
        help="auth0: issuer http://HOST:PORT/ and sign-out by /v2/logout (default); oidc: issuer "
        "without the trailing '/' and an end_session_endpoint, like Okta, Entra ID or Keycloak",
    )
    args = parser.parse_args(argv)

    seed = load_seed(args.seed)
    idp_server = aws = None
    if args.only != "aws":
        idp_server = make_server(args.host, args.idp_port, None, threaded=True)  # port 0 works
        issuer = f"http://{args.host}:{idp_server.server_port}/"
        if args.issuer_style == "oidc":
            issuer = issuer.rstrip("/")
        idp_server.app = create_idp_app(seed, issuer, args.issuer_style)
        threading.Thread(target=idp_server.serve_forever, daemon=True).start()
    else:
        issuer = args.issuer or f"http://{args.host}:{args.idp_port}/"
    aws_url = f"http://{args.host}:{args.aws_port}"
    if args.only != "idp":
        aws = LocalAWS(seed, issuer, host=args.host, port=args.aws_port)
        aws.start()
        aws_url = aws.endpoint_url

    env = environment(seed, issuer, aws_url)
    lines = "".join(f"{k}={v}\n" for k, v in env.items())
    if args.env_file:
        Path(args.env_file).write_text(lines)
    # Read-only IAM keys, so that `flask doctor` can check the provider and roles (not in .env:
    # the portal itself never uses ambient AWS credentials).
    doctor = aws.state.credentials.get("doctor", {}) if aws is not None else {}
    keys = " ".join(f"{k}={v}" for k, v in doctor.items())
    note = f"# flask doctor reads IAM with: {keys}\n" if keys else ""
    sys.stdout.write(f"# devstack: IdP {issuer}  AWS {aws_url}\n{lines}{note}# devstack ready\n")
    sys.stdout.flush()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    if idp_server is not None:
        idp_server.shutdown()
    if aws is not None:
        aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
