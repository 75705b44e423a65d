"""Annotate documents in batches through the executor: one NLP pass per batch, the batch split
between the executor's workers when it is big enough for that to pay."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from storyline.model import Document
from storyline.pipeline.executor import Executor

Annotator = Callable[[list[Document]], None]
# A batch smaller than this is annotated in this process: shipping it to workers costs more.
PARALLEL_FROM = 8


def annotator_on(executor: Executor) -> Annotator:
    """An annotator that runs on ``executor`` (spaCy loads on first use, not here)."""

    def annotate_batch(documents: list[Document]) -> None:
        from storyline.annotate.annotator import annotate, annotations_of

        if executor.workers < 2 or len(documents) < PARALLEL_FROM:
            annotate(documents)
            return
        shares = split(documents, executor.workers)
        for share, found in zip(shares, executor.map(annotations_of, shares)):
            for document, annotations in zip(share, found):
                document.annotations = annotations

    return annotate_batch


def split(items: Sequence[Document], parts: int) -> list[list[Document]]:
    """``items`` dealt round-robin into ``parts`` shares of nearly equal size."""
    return [list(items[i::parts]) for i in range(parts)]
