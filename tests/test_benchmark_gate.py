"""The CI benchmark gate: quality may not drop below the floors pinned in benchmarks/floors.json.

Each harness runs on the development halves in ../shared/eval-data, exactly as a person runs it;
the floors sit a little below the figures measured when they were pinned.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow
def test_summaries_stay_above_the_pinned_floor(eval_data_dir: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "summarization.py"), str(eval_data_dir), "--gate",
         "--cache", str(tmp_path)],
        capture_output=True, text=True, timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "gate: passed" in result.stdout


@pytest.mark.slow
def test_timelines_stay_above_the_pinned_floor(eval_data_dir: Path, tmp_path: Path) -> None:
    # Annotates the Timeline17 dev windows from scratch (a few minutes), then the folds.
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "timeline.py"), str(eval_data_dir), "--gate",
         "--cache", str(tmp_path)],
        capture_output=True, text=True, timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "gate: passed" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("harness, args", [
    ("extraction.py", ["--only", "html"]),
    ("extraction.py", ["--only", "text"]),
    ("extraction.py", ["--only", "snippets"]),
    ("dates.py", []),
])
def test_quality_stays_above_the_pinned_floor(eval_data_dir: Path, harness: str, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / harness), str(eval_data_dir), "--gate", *args],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "gate: passed" in result.stdout
