# The two commands README opens with: `make run` and `make test`. Both set up what they need.
PY := .venv/bin/python

.PHONY: run test lint format bench

run:
	@bash .ci/setup.sh run
	$(PY) -m devstack.demo

# pytest exits 5 when it collected no test: that is a failure here, like any other non-zero exit.
test:
	@bash .ci/setup.sh test
	$(PY) -m pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench:
	@bash .ci/setup.sh run
	$(PY) -m bench
