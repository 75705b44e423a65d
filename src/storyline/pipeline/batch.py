"""Batch mode: many briefings from one JSONL file, models loaded once per worker, both cores used.

Each input line is ``{"id": str, "documents": [str, ...]}`` (plain texts, read in text mode);
each output line is ``{"id": ..., **briefing}``. A bad line gives an error line
``{"id", "error"}`` and the batch goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import IO, Any, NamedTuple

from storyline.context import Settings
from storyline.model import Document, InputError, Source
from storyline.outlets import Registry, packaged_registry
from storyline.pipeline.executor import local_executor
from storyline.read.decode import MAX_INPUT_BYTES, valid_unicode

PARALLEL_FROM = 4


def read_batch(path: str, max_line_bytes: int = MAX_INPUT_BYTES
               ) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """Each non-blank line's record (or its error); a line longer than ``max_line_bytes`` is
    refused without being held whole in memory, and the batch goes on. Bytes: a line that is
    not UTF-8 fails alone."""
    with open(path, "rb") as handle:
        number = 0
        while line := handle.readline(max_line_bytes + 1):
            number += 1
            if len(line) > max_line_bytes:
                _skip_rest_of_line(handle, max_line_bytes)
                yield number, InputError(f"{path}:{number}", f"line is over the limit of "
                                                             f"{max_line_bytes:,} bytes")
            elif line.strip():
                yield number, _parse_line(path, number, line)


def _skip_rest_of_line(handle: IO[bytes], piece: int) -> None:
    while (rest := handle.readline(piece)) and not rest.endswith(b"\n"):
        pass


def _parse_line(path: str, number: int, line: bytes) -> dict[str, Any] | InputError:
    origin = f"{path}:{number}"
    try:
        record = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return InputError(origin, "not valid UTF-8")
    except json.JSONDecodeError as exc:
        return InputError(origin, f"not valid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:  # "[[[[...]]]]" thousands deep exhausts the parser's stack
        return InputError(origin, "not valid JSON (nested too deeply)")
    if not isinstance(record, dict) or not isinstance(record.get("documents"), list):
        return InputError(origin, 'expected an object {"id": ..., "documents": [text, ...]}')
    if not all(isinstance(d, str) for d in record["documents"]):
        return InputError(origin, '"documents" must be a list of plain texts')
    # A lone surrogate ("\\ud800" in the JSON) cannot be hashed, stored or written as UTF-8.
    record["documents"] = [valid_unicode(text) for text in record["documents"]]
    record["id"] = valid_unicode(str(record.get("id", number)))
    return record


def brief_record(record: dict[str, Any], words: int, registry: Registry) -> str:
    """One output line for one story: its texts read in text mode, numbered and marked for
    duplicates as any set of documents read together, then briefed. ``registry`` names the
    outlets (a worker process gets it as an argument: nothing of the parent's state is assumed
    there)."""
    story_id = str(record["id"])
    try:
        return _briefing_line(story_id, record["documents"], words, registry)
    except Exception as exc:  # noqa: BLE001 - the boundary of one story: the batch goes on
        return json.dumps({"id": story_id, "error": f"cannot brief this story "
                                                    f"({type(exc).__name__}: {exc})"})


def _briefing_line(story_id: str, texts: list[str], words: int, registry: Registry) -> str:
    from storyline.pipeline.documents import extract_sources
    from storyline.pipeline.stories import brief

    sources = (Source(origin=f"{story_id}:{index}", data=text, mode="text")
               for index, text in enumerate(texts, start=1))
    documents = [d for d in extract_sources(sources, registry) if isinstance(d, Document)]
    if not documents:
        return json.dumps({"id": story_id, "error": "no document with article text"})
    briefing = brief(documents, words=words, registry=registry).to_dict()
    return json.dumps({"id": story_id, **briefing}, ensure_ascii=False)


def brief_batch(
    path: str,
    *,
    words: int,
    settings: Settings | None = None,
    on_done: Callable[[], None] | None = None,
    on_error: Callable[[InputError], None] | None = None,
    registry: Registry | None = None,
    stop: Callable[[], bool] | None = None,
) -> BatchOutcome:
    """Every output line in input order, and how many input lines failed. Stories are briefed
    on a local pool of ``settings.workers`` processes (default: from the environment); ``registry``
    names the outlets (None: the packaged outlets). ``stop`` is asked after each briefing: once
    it says True, the briefings under way are finished and the lines up to the first story not
    briefed are returned (``stopped``)."""
    items = list(read_batch(path))
    records = [item for _, item in items if isinstance(item, dict)]
    failed = 0
    for _, item in items:
        if isinstance(item, InputError):
            failed += 1
            if on_error is not None:
                on_error(item)
    registry = registry if registry is not None else packaged_registry()
    workers = (settings if settings is not None else Settings.from_env()).workers
    briefed = _run(records, words, registry, workers, on_done, stop)
    results = iter(briefed)
    lines = []
    for _, item in items:
        if isinstance(item, InputError):
            lines.append(json.dumps({"id": None, "error": str(item)}))
        elif (line := next(results, None)) is not None:
            lines.append(line)
            error = _error_of(line)
            if error is not None:  # a story that could not be briefed fails like a bad line
                failed += 1
                if on_error is not None:
                    on_error(InputError(f"{path}: story {error['id']}", error["error"]))
        else:
            break
    return BatchOutcome(lines, failed, stopped=len(briefed) < len(records))


class BatchOutcome(NamedTuple):
    lines: list[str]
    failed: int
    stopped: bool = False


def _error_of(line: str) -> dict[str, Any] | None:
    """The ``{"id", "error"}`` object of an error line; None for a briefing."""
    if not line.startswith('{"id"') or '"error"' not in line[:300]:
        return None
    parsed = json.loads(line)
    return parsed if set(parsed) == {"id", "error"} else None


def _run(records: list[dict[str, Any]], words: int, registry: Registry, workers: int,
         on_done: Callable[[], None] | None, stop: Callable[[], bool] | None) -> list[str]:
    # Below PARALLEL_FROM stories, starting workers (each loads the models) costs more than it saves.
    pool = workers if len(records) >= PARALLEL_FROM else 1
    out = []
    # Leaving the block cancels the stories not started and waits for those under way.
    with local_executor(pool) as executor:
        for line in executor.map(partial(brief_record, words=words, registry=registry), records):
            out.append(line)
            if on_done:
                on_done()
            if stop is not None and stop():
                break
    return out
