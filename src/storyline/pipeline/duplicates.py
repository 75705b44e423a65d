"""Duplicate verdicts against a store, made here and not in the store's backend.

``store_document(store, document)`` stores one document with its verdict:

* exact copy (same content hash as a stored document): the store records the extra origin;
* near duplicate (``storyline.story.dedupe``'s rule): stored with ``duplicate_of`` set to the
  earliest stored original it nearly duplicates;
* otherwise a new original.

The near-duplicate index of a store is built from the MinHash sketches kept with its documents
(none is computed twice: documents stored before sketches were kept get theirs made once, from
their text, and stored), and it is kept per store object: loaded before its first verdict and
brought up to date with only the documents stored since whenever the store says it is behind
(other writers, such as the web app's jobs, may add documents at any time). The store refuses a
verdict made before a document it did not see was stored (``StaleCheck``); the index then takes
in the documents it missed and the verdict is made again: near copies stored at the same moment
by two writers are still told apart from originals. The index is not caught up before every
verdict: a lone writer, the usual case, would ask the store for nothing new once per document.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from weakref import WeakKeyDictionary

import numpy as np

from storyline.model import Document
from storyline.store import AddResult, DuplicateCheck, Sketch, StaleCheck, Store, StoredSketch
from storyline.story.dedupe import (
    SKETCH_KIND,
    Fingerprint,
    NearDuplicateIndex,
    fingerprint,
    normalise_for_hash,
    shingles,
    sketch_bytes,
    sketch_from_bytes,
)

# Stored documents indexed per batch when catching up: their missing sketches are made from
# one ``get_many`` and saved in one transaction.
CATCH_UP_CHUNK = 200


def store_document(store: Store, document: Document, *,
                   fingerprint: Fingerprint | None = None) -> AddResult:
    """Judge ``document`` against the stored documents and store it (one transaction). The
    document itself is left as it is; the result tells what became of it. ``fingerprint``:
    the text's, when made already (by the worker that annotated it)."""
    return _verdicts_of(store).store(store, document, fingerprint)


class StoredDuplicates:
    """The near-duplicate index of one store's documents, caught up before each verdict.

    It holds no reference to the store (it is kept in a weak mapping keyed by the store)."""

    def __init__(self) -> None:
        self._index = NearDuplicateIndex()
        self._last: str | None = None  # the newest stored document indexed
        self._loaded = False  # caught up once: later verdicts catch up only when found stale
        # A store shared between threads (PostgreSQL's, in the web app) shares its index too:
        # one verdict at a time catches it up and adds to it.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._index)

    def store(self, store: Store, document: Document,
              made: Fingerprint | None = None) -> AddResult:
        with self._lock:
            return self._store(store, document, made or fingerprint(document.text))

    def _store(self, store: Store, document: Document, fp: Fingerprint) -> AddResult:
        if store.find_by_hash(fp.content_hash) is not None:  # an exact copy: no verdict to make
            return store.add_document(replace(document, content_hash=fp.content_hash, duplicate_of=None))
        if not self._loaded:
            self.catch_up(store)
        while True:
            judged = replace(document, content_hash=fp.content_hash,
                             duplicate_of=self.original_of(store, fp))
            check = DuplicateCheck(self._last, Sketch(SKETCH_KIND, sketch_bytes(fp.minhash)))
            try:
                added = store.add_document(judged, check=check)
            except StaleCheck:  # another writer stored documents since: index them, judge again
                self.catch_up(store)
                continue
            if added.created:  # the check held: it is the very next document, nothing skipped
                self._index.add(added.id, fp.minhash, is_duplicate=added.duplicate_of is not None)
                self._last = added.id
            return added

    def original_of(self, store: Store, fp: Fingerprint) -> str | None:
        """The earliest indexed original that ``fp`` nearly duplicates, or None."""
        return self._index.match(fp, lambda ids: _shingles_of(store, ids))

    def catch_up(self, store: Store) -> None:
        """Index the documents stored since the last call (all of them on the first)."""
        pending: list[StoredSketch] = []
        for row in store.sketches(SKETCH_KIND, after=self._last):
            pending.append(row)
            if len(pending) >= CATCH_UP_CHUNK:
                self._index_rows(store, pending)
                pending = []
        self._index_rows(store, pending)
        self._loaded = True

    def _index_rows(self, store: Store, rows: Sequence[StoredSketch]) -> None:
        """Index stored documents in their order, first making and saving missing sketches."""
        made = _make_sketches(store, [row.id for row in rows if row.data is None])
        self._index.add_many([
            (row.id, sketch_from_bytes(row.data if row.data is not None else made[row.id].data),
             row.duplicate_of is not None)
            for row in rows])
        if rows:
            self._last = rows[-1].id


def _make_sketches(store: Store, ids: list[str]) -> dict[str, Sketch]:
    """Sketches of stored documents that have none of this kind, made from their text and kept."""
    if not ids:
        return {}
    made = {
        doc.id or "": Sketch(SKETCH_KIND, sketch_bytes(fingerprint(doc.text).minhash))
        for doc in store.get_many(ids)
    }
    store.save_sketches(made)
    return made


def _shingles_of(store: Store, ids: list[str]) -> list[np.ndarray]:
    """The shingles of stored documents (the candidates of a verdict), in the order asked."""
    texts = {doc.id: doc.text for doc in store.get_many(ids)}
    return [shingles(normalise_for_hash(texts.get(doc_id, ""))) for doc_id in ids]


_BY_STORE: WeakKeyDictionary[Store, StoredDuplicates] = WeakKeyDictionary()
_BY_STORE_LOCK = threading.Lock()  # stores of several threads (the web app's) share the mapping


def _verdicts_of(store: Store) -> StoredDuplicates:
    """The index of ``store``: made on its first document, then kept while the store lives."""
    with _BY_STORE_LOCK:
        found = _BY_STORE.get(store)
        if found is None:
            found = _BY_STORE[store] = StoredDuplicates()
        return found
