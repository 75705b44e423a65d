"""Shared fixtures: where the shared data lives, and the skip-or-fail rule for missing parts.

On a user's machine a test may skip when a system component or the shared data is absent; under
CI (``CI=true``) the same absence is a failure, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
EVAL_DATA = SHARED / "eval-data"
EXAMPLES = REPO / "examples" / "corpus"


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip (on a user's machine) or fail (under CI) when a needed part is missing."""
    if condition:
        return
    if under_ci():
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    require(SEEDS.is_dir(), f"seed articles not found at {SEEDS}")
    return SEEDS


@pytest.fixture(scope="session")
def eval_data_dir() -> Path:
    require(EVAL_DATA.is_dir(), f"evaluation data not found at {EVAL_DATA}")
    return EVAL_DATA


def seed_path(seeds: Path, number: int) -> Path:
    """The seed file whose name starts with the three-digit ``number``."""
    matches = sorted(seeds.glob(f"{number:03d}_*.txt"))
    assert matches, f"no seed {number:03d} in {seeds}"
    return matches[0]
