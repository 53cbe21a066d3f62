# The two commands README opens with: `make run` and `make test`. Both set up what they need.
PY := .venv/bin/python

.PHONY: run test test-fast lint format bench screenshots lock

run:
	@bash .ci/setup.sh run
	$(PY) -m devstack.demo $(DEVSTACK_ARGS)

# pytest exits 5 when it collected no test: that is a failure here, like any other non-zero exit.
test:
	@bash .ci/setup.sh test
	$(PY) -m pytest

# The edit-test loop: leaves out the browser, deployment and stand-in tests (markers in
# pyproject.toml) and stops at the first failure.
test-fast:
	@bash .ci/setup.sh run
	$(PY) -m pytest -m "not browser and not deploy and not devstack" -x -q

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

# The README's screenshot tour (docs/screenshots/), taken by the browser test that walks it.
screenshots:
	@bash .ci/setup.sh test
	SCREENSHOTS=docs/screenshots $(PY) -m pytest -q tests/test_browser.py -k screenshot_tour

# The hot path's figures over real HTTP (gunicorn, nginx, wrk), written to bench/RESULTS.md.
bench:
	@bash .ci/setup.sh bench
	$(PY) -m bench

# The lock files, both from pyproject.toml, for Python 3.11 on Linux, with hashes:
# requirements.txt (what production installs) and requirements-dev.txt (plus the dev extra; what
# `make run` and `make test` install). The runtime lock is held to the dev lock's versions. Pins
# already in the files stay unless pyproject.toml needs otherwise. LOCK_FLAGS=--upgrade moves all
# to the newest allowed, LOCK_FLAGS="--upgrade-package NAME" one; LOCK_FLAGS=--offline stays on
# uv's cache.
LOCK := .venv/bin/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" $(LOCK_FLAGS)

lock:
	@test -x .venv/bin/uv || bash .ci/setup.sh run
	$(LOCK) --extra dev --output-file requirements-dev.txt
	$(LOCK) --constraint requirements-dev.txt --output-file requirements.txt
