"""The package's data files: tuned constants and vocabularies kept as JSON in ``data/``."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def read_data(name: str) -> Any:
    """The parsed JSON file ``data/NAME``; callers cache what they build from it."""
    return json.loads(resources.files("storyline").joinpath("data", name).read_text("utf-8"))
