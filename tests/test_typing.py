"""The type checker: mypy, configured in pyproject.toml ([tool.mypy]), finds nothing in src/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MYPY_TIMEOUT_S = 600  # a cold run (no .mypy_cache) reads numpy's, torch's and spaCy's types


def test_mypy_is_clean_on_src() -> None:
    # From the repository root with no arguments: the files, strictness and plugins all come
    # from pyproject.toml, so this checks exactly what `python -m mypy` checks by hand.
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True,
        timeout=MYPY_TIMEOUT_S, check=False,
    )
    report = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"mypy found problems (exit {result.returncode}):\n{report}"
