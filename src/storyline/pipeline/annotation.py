"""The per-document stage of an ingest: annotate documents in batches through the executor (one
NLP pass per batch, the batch split between the executor's workers when it is big enough for
that to pay), and make there, beside the annotations, what the one writer needs of each
document (``Made``): its near-duplicate fingerprint and its story-detection features.

Why beside the annotations: the writer is one process (it numbers, judges duplicates and files
stories in input order), so whatever it computes per document does not get faster with more
workers; the fingerprint and the features depend on the document alone, so they are made where
the document is (a pool's or a cluster's worker) and the writer only compares and stores.

A text the store holds already is stored again only as another origin of it, and is not filed
again: its story features (an embedding of its opening and of its summary candidates, most of
the writer's share) would be thrown away. So the workers are told the texts stored when the
ingest began (``StoredTexts``) and make no features for those."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from storyline.model import Annotations, Document
from storyline.pipeline.executor import Executor

if TYPE_CHECKING:
    from storyline.store.base import DocumentStore
    from storyline.story.dedupe import Fingerprint
    from storyline.story.detect import Features

# An annotator annotates a batch in place; one that made the writer's share too returns it
# (one ``Made`` per document, in order), else None and the writer makes what it needs itself.
Annotator = Callable[[list[Document]], "Sequence[Made] | None"]
R = TypeVar("R")
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


class StoredTexts:
    """The content hashes a store held when an ingest began, compactly: the first 16 hex
    digits of each as a sorted array of 64-bit integers, 8 bytes a text however large the
    store, shipped to each worker once. A new text taken for a stored one (two hashes alike in
    16 digits) only has the writer make its features itself, as for any text made without."""

    def __init__(self, hashes: Iterable[str] = ()) -> None:
        self.keys = np.unique(np.fromiter((_key(h) for h in hashes), dtype=np.uint64))

    @classmethod
    def held_by(cls, store: DocumentStore, *, wanted: bool) -> StoredTexts:
        """The texts ``store`` holds now; none read when they are not ``wanted`` (no story
        features are made, so there is nothing to skip)."""
        return cls(store.content_hashes() if wanted else ())

    def __contains__(self, hash_: object) -> bool:
        if not isinstance(hash_, str) or not hash_ or not len(self.keys):
            return False
        key = _key(hash_)
        at = int(np.searchsorted(self.keys, key))
        return at < len(self.keys) and int(self.keys[at]) == key

    def __len__(self) -> int:
        return len(self.keys)


def _key(content_hash: str) -> int:
    return int(content_hash[:16], 16)


def made_for_writer(documents: Sequence[Document], *, features: bool,
                    stored: Container[str] = ()) -> list[Made]:
    """The writer's share of the per-document work, for ``documents`` (their openings and
    summary candidates embedded in one call, with the packaged detection settings, as
    ``StoryAssigner`` does: ``assign.filing_features``); no features for the documents whose
    content hash is in ``stored`` (texts the store holds already)."""
    from storyline.pipeline.assign import filing_features
    from storyline.story.dedupe import fingerprint
    from storyline.story.detect import DetectConfig

    wanted = [d for d in documents if d.content_hash not in stored] if features else []
    found: dict[int, Features] = {}
    if wanted:
        found = dict(zip(map(id, wanted), filing_features(wanted, DetectConfig.packaged())))
    return [Made(fingerprint(document.text), found.get(id(document))) for document in documents]


def annotator_on(executor: Executor, *, for_writer: bool = False,
                 features: bool = False, stored: Container[str] = ()) -> Annotator:
    """An annotator that runs on ``executor`` (spaCy loads on first use, not here). With
    ``for_writer``, a batch annotated on the workers comes back with the writer's share
    (``made_for_writer``; the features only with ``features``, and not for the texts in
    ``stored``: each share goes with the hashes of its stored texts, never the whole set)."""

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
        work = [partial(annotate_for_writer, share, features=features,
                        stored=frozenset(d.content_hash for d in share
                                         if d.content_hash and d.content_hash in stored))
                for share in shares]
        for share, results in zip(shares, executor.map(_run, work)):
            for document, (annotations, bits) in zip(share, results):
                document.annotations = annotations
                made[id(document)] = bits
        return [made[id(document)] for document in documents]

    return annotate_batch


def annotate_for_writer(documents: list[Document], *, features: bool,
                        stored: Container[str] = ()) -> list[tuple[Annotations | None, Made]]:
    """A worker's unit of work: the documents' annotations and the writer's share of them
    (``made_for_writer``)."""
    from storyline.annotate.annotator import annotations_of

    return list(zip(annotations_of(documents),
                    made_for_writer(documents, features=features, stored=stored)))


def _run(work: Callable[[], R]) -> R:
    return work()


def split(items: Sequence[Document], parts: int) -> list[list[Document]]:
    """``items`` dealt round-robin into ``parts`` shares of nearly equal size."""
    return [list(items[i::parts]) for i in range(parts)]
