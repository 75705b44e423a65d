"""The few settings shared across the flows, passed explicitly instead of kept in module
globals: ``Settings.from_env()`` reads them once, at the edge (a command, an ingest), and the
pipeline hands them on. The other thing a run works with, the outlet registry, travels as its
own argument (``storyline.outlets.Registry``; a database's from ``storyline.pipeline.registry``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from storyline.errors import UsageError

WORKERS_VARIABLE = "STORYLINE_WORKERS"
MAX_CHARS_VARIABLE = "STORYLINE_MAX_CHARS"
IN_FLIGHT_VARIABLE = "STORYLINE_IN_FLIGHT"
# Documents parsed together in one NLP pass during an ingest: big enough for spaCy's batching to
# pay off, small enough that an interruption loses little work.
BATCH_SIZE = 16
# Documents an ingest's one writer stores and files into stories together, when it files them.
# Why larger than BATCH_SIZE: after each batch, filing clusters its window of recent documents
# again (``StoryDetector.settle``), merges stories around it and links storylines, costs that
# grow with the window (400 documents), not with the batch: with the window full, the writer
# spent 13.6 ms of CPU a document in batches of 50 and 4.4 in batches of 200
# (benchmarks/filing.py), and the writer, one process, caps a cluster's speed. The story
# benchmarks read their streams in the same batches (``stream_stories``, storylines.py), and
# found no loss from 50 to 200 (docs/benchmarks.md). A killed ingest redoes at most one batch.
FILING_BATCH = 200
# The longest text of one document (characters): some 50,000 words, several times the longest
# articles. The NLP pass grows with the text (``storyline quotes`` peaked at 0.8 GB on 100,000
# characters, 1.5 GB on 300,000), so a book pasted as one input would exhaust the machine.
MAX_DOCUMENT_CHARS = 300_000
# Documents sent to a cluster's workers and not yet stored, at most: the client's memory stays
# bounded however large the corpus (a few batches per worker keep them all busy).
IN_FLIGHT = 256


def default_workers() -> int:
    """Two worker processes where there are two cores or more (each loads its own models, so
    more than two costs memory for little gain on the machines we target), else one."""
    return min(2, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    """Settings shared by the flows. ``workers``: worker processes for per-document work (the
    NLP pass, batch briefings); ``batch_size``: documents annotated together during an ingest;
    ``filing_batch``: documents an ingest that files stories stores and files together;
    ``max_chars``: the longest text one document (or one ``quotes``/``timex`` input) may have;
    ``in_flight``: documents handed to a cluster (Dask) and not yet stored, at most."""

    workers: int = field(default_factory=default_workers)
    batch_size: int = BATCH_SIZE
    filing_batch: int = FILING_BATCH
    max_chars: int = MAX_DOCUMENT_CHARS
    in_flight: int = IN_FLIGHT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The defaults, with ``$STORYLINE_WORKERS``, ``$STORYLINE_MAX_CHARS`` and
        ``$STORYLINE_IN_FLIGHT`` (whole numbers, at least 1) where they are set. Raises
        ``UsageError`` for any other value."""
        environ = os.environ if environ is None else environ
        defaults = cls()
        return cls(workers=_setting(environ, WORKERS_VARIABLE, defaults.workers),
                   max_chars=_setting(environ, MAX_CHARS_VARIABLE, defaults.max_chars),
                   in_flight=_setting(environ, IN_FLIGHT_VARIABLE, defaults.in_flight))


def _setting(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    return _positive_int(name, value) if value else default


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise UsageError(f"${name} must be a whole number of at least 1, not {value!r}")
    return number
