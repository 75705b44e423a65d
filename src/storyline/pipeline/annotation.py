"""The per-document stage of an ingest: annotate documents in batches through the executor (one
NLP pass per batch, the batch split between the executor's workers when it is big enough for
that to pay), and make there, beside the annotations, what the one writer needs of each
document (``Made``): its near-duplicate fingerprint and its story-detection features.

Why beside the annotations: the writer is one process (it numbers, judges duplicates and files
stories in input order), so whatever it computes per document does not get faster with more
workers; the fingerprint and the features depend on the document alone, so they are made where
the document is (a pool's or a cluster's worker) and the writer only compares and stores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from storyline.model import Annotations, Document
from storyline.pipeline.executor import Executor

if TYPE_CHECKING:
    from storyline.story.dedupe import Fingerprint
    from storyline.story.detect import Features

# An annotator annotates a batch in place; one that made the writer's share too returns it
# (one ``Made`` per document, in order), else None and the writer makes what it needs itself.
Annotator = Callable[[list[Document]], "Sequence[Made] | None"]
# A batch smaller than this is annotated in this process: shipping it to workers costs more.
PARALLEL_FROM = 8


@dataclass(frozen=True)
class Made:
    """What the per-document stage made of one document for the writer: its near-duplicate
    fingerprint, and its story-detection features when the ingest files stories (None when
    not). Both depend on the document's text (and title and date) alone, so the writer gets
    the same verdicts and stories as when it makes them itself."""

    fingerprint: Fingerprint
    features: Features | None = None


@dataclass(frozen=True)
class Prepared:
    """A document as a cluster's worker hands it to the writer: with what it made of it."""

    document: Document
    made: Made


def made_for_writer(documents: Sequence[Document], *, features: bool) -> list[Made]:
    """The writer's share of the per-document work, for ``documents`` (their openings and
    summary candidates embedded in one call, with the packaged detection settings, as
    ``StoryAssigner`` does: ``assign.filing_features``)."""
    from storyline.pipeline.assign import filing_features
    from storyline.story.dedupe import fingerprint
    from storyline.story.detect import DetectConfig

    found: Sequence[Features | None] = (filing_features(documents, DetectConfig.packaged())
                                        if features else [None] * len(documents))
    return [Made(fingerprint(document.text), item) for document, item in zip(documents, found)]


def annotator_on(executor: Executor, *, for_writer: bool = False,
                 features: bool = False) -> Annotator:
    """An annotator that runs on ``executor`` (spaCy loads on first use, not here). With
    ``for_writer``, a batch annotated on the workers comes back with the writer's share
    (``made_for_writer``; the features only with ``features``)."""

    def annotate_batch(documents: list[Document]) -> Sequence[Made] | None:
        from storyline.annotate.annotator import annotate, annotations_of

        if executor.workers < 2 or len(documents) < PARALLEL_FROM:
            annotate(documents)  # here: the writer makes its share itself, as cheaply
            return None
        shares = split(documents, executor.workers)
        if not for_writer:
            for share, found in zip(shares, executor.map(annotations_of, shares)):
                for document, annotations in zip(share, found):
                    document.annotations = annotations
            return None
        made: dict[int, Made] = {}
        work = partial(annotate_for_writer, features=features)
        for share, results in zip(shares, executor.map(work, shares)):
            for document, (annotations, bits) in zip(share, results):
                document.annotations = annotations
                made[id(document)] = bits
        return [made[id(document)] for document in documents]

    return annotate_batch


def annotate_for_writer(documents: list[Document], *, features: bool
                        ) -> list[tuple[Annotations | None, Made]]:
    """A worker's unit of work: the documents' annotations and the writer's share of them."""
    from storyline.annotate.annotator import annotations_of

    return list(zip(annotations_of(documents), made_for_writer(documents, features=features)))


def split(items: Sequence[Document], parts: int) -> list[list[Document]]:
    """``items`` dealt round-robin into ``parts`` shares of nearly equal size."""
    return [list(items[i::parts]) for i in range(parts)]
