"""Batch mode: many briefings from one JSONL file, models loaded once per worker, both cores used.

Each input line is ``{"id": str, "documents": [str, ...]}`` (plain texts, read in text mode);
each output line is ``{"id": ..., **briefing}``. A bad line gives an error line
``{"id", "error"}`` and the batch goes on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from storyline.model import Document, InputError, Source
from storyline.outlets import Registry, packaged_registry

WORKERS = min(2, os.cpu_count() or 1)
# Below this many stories, starting worker processes (each loads the models) costs more than
# it saves.
PARALLEL_FROM = 4


def read_batch(path: str) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            yield number, _parse_line(path, number, line)


def _parse_line(path: str, number: int, line: str) -> dict[str, Any] | InputError:
    origin = f"{path}:{number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return InputError(origin, f"not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(record, dict) or not isinstance(record.get("documents"), list):
        return InputError(origin, 'expected an object {"id": ..., "documents": [text, ...]}')
    if not all(isinstance(d, str) for d in record["documents"]):
        return InputError(origin, '"documents" must be a list of plain texts')
    record.setdefault("id", str(number))
    return record


def brief_record(record: dict[str, Any], words: int, registry: Registry) -> str:
    """One output line for one story; ``registry`` names the outlets (a worker process gets it
    as an argument: nothing of the parent's state is assumed there)."""
    from storyline.story.brief import brief
    from storyline.pipeline.documents import extract_one

    story_id = str(record["id"])
    documents: list[Document] = []
    for index, text in enumerate(record["documents"], start=1):
        result = extract_one(Source(origin=f"{story_id}:{index}", data=text, mode="text"), registry)
        if isinstance(result, Document):
            result.id = f"S{len(documents) + 1}"
            documents.append(result)
    if not documents:
        return json.dumps({"id": story_id, "error": "no document with article text"})
    _mark_duplicates(documents)
    briefing = brief(documents, words=words, registry=registry).to_dict()
    return json.dumps({"id": story_id, **briefing}, ensure_ascii=False)


def _mark_duplicates(documents: list[Document]) -> None:
    from storyline.story.dedupe import Deduper

    deduper = Deduper()
    for document in documents:
        document.duplicate_of = deduper.add(document.id or "", document.text)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # two workers on two cores: one thread each


def brief_batch(
    path: str,
    *,
    words: int,
    on_done: Callable[[], None] | None = None,
    on_error: Callable[[InputError], None] | None = None,
    registry: Registry | None = None,
) -> tuple[list[str], int]:
    """Every output line in input order, and how many input lines failed. ``registry`` names
    the outlets (None: the packaged outlets)."""
    items = list(read_batch(path))
    records = [item for _, item in items if isinstance(item, dict)]
    failed = 0
    for _, item in items:
        if isinstance(item, InputError):
            failed += 1
            if on_error is not None:
                on_error(item)
    registry = registry if registry is not None else packaged_registry()
    results = iter(_run(records, words, registry, on_done))
    lines = []
    for _, item in items:
        if isinstance(item, InputError):
            lines.append(json.dumps({"id": None, "error": str(item)}))
        else:
            lines.append(next(results))
    return lines, failed


def _run(records: list[dict[str, Any]], words: int, registry: Registry,
         on_done: Callable[[], None] | None) -> list[str]:
    if len(records) < PARALLEL_FROM or WORKERS < 2:
        out = []
        for record in records:
            out.append(brief_record(record, words, registry))
            if on_done:
                on_done()
        return out
    with ProcessPoolExecutor(max_workers=WORKERS, initializer=_init_worker) as pool:
        futures = [pool.submit(brief_record, record, words, registry) for record in records]
        out = []
        for future in futures:
            out.append(future.result())
            if on_done:
                on_done()
        return out
