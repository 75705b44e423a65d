"""The package's data files: tuned constants and vocabularies kept as JSON in ``data/``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

DATA_DIR = Path(str(resources.files("storyline").joinpath("data")))


def read_data(name: str) -> Any:
    """The parsed JSON file ``data/NAME``; callers cache what they build from it."""
    return json.loads((DATA_DIR / name).read_text("utf-8"))
