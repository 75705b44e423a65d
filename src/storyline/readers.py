"""Read stage: every kind of input a user has -> ``Source`` objects (or ``InputError``s).

STUB: to be implemented (files, directories, globs, URLs, JSONL/CSV records, WARC, stdin).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from storyline.model import InputError, Mode, Source


def read_inputs(
    inputs: Iterable[str], *, mode: Mode | None = None, allow_private: bool = False
) -> Iterator[Source | InputError]:
    for item in inputs:
        path = Path(item)
        try:
            yield Source(origin=item, data=path.read_bytes(), mode=mode)
        except OSError as exc:
            yield InputError(item, exc.strerror or str(exc))
