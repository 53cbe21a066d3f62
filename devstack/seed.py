"""The seed: users, tenant and AWS sample data the stand-ins start with (seed.toml beside this)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

SEED_FILE = Path(__file__).resolve().parent / "seed.toml"


def load_seed(path: Path | str = SEED_FILE) -> dict[str, Any]:
    """The parsed seed file (devstack/seed.toml unless another path is given)."""
    with open(path, "rb") as f:
        return tomllib.load(f)
