#!/usr/bin/env bash
# Install what the product needs on a fresh Debian machine; idempotent, so every command may call it.
# Usage: .ci/setup.sh run|test|bench   ("bench" brings nginx and wrk; "test" brings them too, and headless Chromium for the browser tests, nginx
# for the deployment tests, redis-cli and redis-sentinel for the Sentinel and Cluster tests, and
# Node with panva's oidc-provider, the third-party OpenID provider of tests/test_providers.py)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
if [ "$purpose" = test ]; then
  command -v chromium >/dev/null || missing+=(chromium)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
  command -v npm >/dev/null || missing+=(nodejs npm)
fi
if [ "$purpose" = test ] || [ "$purpose" = bench ]; then
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  command -v wrk >/dev/null || missing+=(wrk)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Please install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Exactly the locked versions, hashes checked (make lock writes the lock from pyproject.toml), then
# the project itself without letting it pull anything else. Both commands need the dev lock: the
# devstack behind `make run` uses moto. The stamp follows the lock (and pyproject.toml, for the
# project's own install); older stamps go, so going back to an older lock reinstalls it too.
stamp=.venv/.installed-$(cat requirements-dev.txt pyproject.toml | sha256sum | cut -c1-16)
if [ ! -e "$stamp" ]; then
  .venv/bin/python -m pip install -q --require-hashes -r requirements-dev.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# The tests' third-party OpenID provider: exactly the npm lock's versions (npm ci checks their
# integrity hashes). npm ci starts from an empty node_modules, so the stamp inside goes with it.
if [ "$purpose" = test ]; then
  node_stamp=devstack/oidc_provider/node_modules/.installed-$(sha256sum < devstack/oidc_provider/package-lock.json | cut -c1-16)
  if [ ! -e "$node_stamp" ]; then
    (cd devstack/oidc_provider && npm ci --no-audit --no-fund --loglevel=error)
    touch "$node_stamp"
  fi
fi
