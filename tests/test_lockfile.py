"""The lock files: what pyproject.toml asks for, pinned with hashes, and what the venv runs."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
DEV = [Requirement(line) for line in PROJECT["optional-dependencies"]["dev"]]
RUNTIME_LOCK, DEV_LOCK = "requirements.txt", "requirements-dev.txt"
STALE = "pyproject.toml and the lock disagree: run `make lock` and commit both lock files"


def read_lock(name: str) -> dict[NormalizedName, tuple[Version, list[str]]]:
    """A lock file's pins: package name -> (version, hashes)."""
    path = ROOT / name
    if not path.exists():
        pytest.fail(f"{name} is missing: {STALE}")
    pins = {}
    for line in path.read_text().replace("\\\n", " ").splitlines():
        line = line.partition("#")[0].strip()
        if not line:
            continue
        requirement, *hashes = (part.strip() for part in line.split("--hash="))
        req = Requirement(requirement)
        [spec] = req.specifier
        assert spec.operator == "==", f"{name}: {requirement} is not pinned with =="
        pins[canonicalize_name(req.name)] = (Version(spec.version), hashes)
    return pins


@pytest.mark.parametrize(
    ("lock", "requirement"),
    [(RUNTIME_LOCK, req) for req in RUNTIME] + [(DEV_LOCK, req) for req in RUNTIME + DEV],
    ids=lambda value: str(value),
)
def test_every_declared_dependency_is_pinned_within_its_bounds(lock, requirement):
    pins = read_lock(lock)
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{requirement} is not in {lock}: {STALE}"
    version, _ = pins[name]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{lock} pins {name}=={version}, outside {requirement}: {STALE}"
    )


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK])
def test_every_pin_carries_sha256_hashes(lock):
    for name, (_, hashes) in read_lock(lock).items():
        assert hashes, f"{lock}: {name} has no --hash"
        for value in hashes:
            algorithm, _, digest = value.partition(":")
            assert algorithm == "sha256" and len(digest) == 64, f"{lock}: {name} {value}"


def test_production_runs_the_versions_the_tests_run():
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
    assert {name: pin[0] for name, pin in runtime.items()} == {
        name: dev[name][0] for name in runtime if name in dev
    }
    assert set(runtime) <= set(dev)
    dev_only = {canonicalize_name(req.name) for req in DEV} - {
        canonicalize_name(req.name) for req in RUNTIME
    }
    assert dev_only & set(runtime) == set(), "test tools would ship to production"


def installed_version(name: str) -> Version | None:
    """The version of a package in the running environment, None when it is not installed."""
    try:
        return Version(metadata.version(name))
    except metadata.PackageNotFoundError:
        return None


def test_the_venv_holds_the_locked_versions():
    # .ci/setup.sh installs requirements-dev.txt: this is the environment the tests ran in.
    drifted = {
        name: f"locked {version}, installed {installed}"
        for name, (version, _) in read_lock(DEV_LOCK).items()
        if (installed := installed_version(name)) != version
    }
    assert drifted == {}, "the venv is not the lock: rm -r .venv, then make test"
