"""What `pip install .` ships: the app, never the stand-ins, the benchmarks or the tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from devstack.testing import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DIST_INFO = f"{PROJECT['name'].replace('-', '_')}-{PROJECT['version']}.dist-info"
# Build output, caches and the venv of the checkout stay out of the copy that is built.
LEFT_BEHIND = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "tmp"
)


def build_wheel(tmp_path: Path) -> list[str]:
    """Build the project's wheel from a copy of the checkout, offline; the names it holds."""
    source, out = tmp_path / "source", tmp_path / "dist"
    shutil.copytree(ROOT, source, ignore=LEFT_BEHIND)  # setuptools writes build/ into the source
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    command += ["--no-index", "--wheel-dir", str(out), str(source)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_holds_webapp_only(tmp_path: Path) -> None:
    names = build_wheel(tmp_path)
    assert {name.split("/")[0] for name in names} == {"webapp", DIST_INFO}
    modules = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "webapp").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert modules <= set(names), sorted(modules - set(names))
    assert not [name for name in names if name.startswith(("devstack/", "tests/", "bench/"))]
