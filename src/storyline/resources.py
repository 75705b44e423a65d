"""The package's data files: tuned constants and vocabularies kept as JSON in ``data/``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from functools import lru_cache
from typing import Any, TypeVar

Config = TypeVar("Config")

DATA_DIR = Path(str(resources.files("storyline").joinpath("data")))


def read_data(name: str) -> Any:
    """The parsed JSON file ``data/NAME``; callers cache what they build from it."""
    return json.loads((DATA_DIR / name).read_text("utf-8"))


def data_config(cls: type[Config], name: str) -> Config:
    """A dataclass of tuned constants filled from ``data/NAME`` (its other keys, such as
    ``_doc``, are documentation)."""
    data = _cached(name)
    return cls(**{field: data[field] for field in getattr(cls, "__dataclass_fields__")})


@lru_cache(maxsize=None)
def _cached(name: str) -> Any:
    return read_data(name)
