"""What a run works with, passed explicitly instead of kept in module globals: the outlet
registry and the few settings shared across the flows.

``Context.default()`` is the packaged outlet registry with the settings of the environment; a run
over a database uses that database's registry instead (``storyline.pipeline.registry``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from storyline.errors import UsageError
from storyline.outlets import Registry, packaged_registry

WORKERS_VARIABLE = "STORYLINE_WORKERS"
# Documents parsed together in one NLP pass during an ingest: big enough for spaCy's batching to
# pay off, small enough that an interruption loses little work.
BATCH_SIZE = 16


def default_workers() -> int:
    """Two worker processes where there are two cores or more (each loads its own models, so
    more than two costs memory for little gain on the machines we target), else one."""
    return min(2, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    """Settings shared by the flows. ``workers``: worker processes for per-document work (the
    NLP pass, batch briefings); ``batch_size``: documents annotated together during an ingest."""

    workers: int = field(default_factory=default_workers)
    batch_size: int = BATCH_SIZE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The defaults, with ``$STORYLINE_WORKERS`` (a whole number, at least 1) when it is set.
        Raises ``UsageError`` for any other value."""
        environ = os.environ if environ is None else environ
        value = environ.get(WORKERS_VARIABLE, "").strip()
        if not value:
            return cls()
        return cls(workers=_positive_int(WORKERS_VARIABLE, value))


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise UsageError(f"${name} must be a whole number of at least 1, not {value!r}")
    return number


@dataclass(frozen=True)
class Context:
    """The outlet registry (who publishes, from where, under what ownership) and the settings."""

    registry: Registry
    settings: Settings

    @classmethod
    def default(cls) -> Context:
        """The packaged outlet registry and the settings of the environment."""
        return cls(registry=packaged_registry(), settings=Settings.from_env())
