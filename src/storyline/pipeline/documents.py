"""The document pipeline: read -> extract/clean -> metadata -> (annotate) -> store.

This is the library API the CLI and the web app stand on. Each stage lives in its own module;
this module only wires them together and turns stage failures into one-line ``InputError``s, so
that one bad input never stops a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from storyline.context import BATCH_SIZE, FILING_BATCH, MAX_DOCUMENT_CHARS, Settings
from storyline.errors import InputProblem
from storyline.model import Document, Extraction, InputError, Mode, Source
from storyline.outlets import Registry, packaged_registry
from storyline.pipeline.annotation import Annotator, Made, Prepared, StoredTexts, annotator_on
from storyline.pipeline.duplicates import store_document
from storyline.pipeline.executor import local_executor
from storyline.pipeline.registry import registry_of
from storyline.read.decode import check_length, decode_bytes, sniff_mode, valid_unicode
from storyline.read.fetch import Fetcher
from storyline.read.htmlclean import clean_html
from storyline.read.metadata import build_document
from storyline.read.readers import input_error, read_inputs
from storyline.read.textclean import clean_text
from storyline.store import Store
from storyline.story.dedupe import Deduper, Fingerprint, content_hash

if TYPE_CHECKING:
    from storyline.pipeline.assign import StoryAssigner
    from storyline.story.detect import Features

Progress = Callable[["Document | InputError"], None]

# The writer refreshes the store's statistics (``Store.refresh_statistics``) each time it has
# stored this many documents since it last did: searches of what an ingest stored are then
# planned on counts that include them (costs about a second per refresh on PostgreSQL at
# 130,000 documents, against some 100 s of ingest for 500 documents on 2 cores).
REFRESH_AFTER = 500


def extract_source(source: Source, registry: Registry | None = None,
                   max_chars: int = MAX_DOCUMENT_CHARS) -> Document:
    """Clean one source and give it metadata, naming outlets from ``registry`` (None: the
    packaged outlets). Raises ``InputProblem`` for unusable input, a clean text longer than
    ``max_chars`` included (the NLP pass after this stage needs memory by the character)."""
    # A lone surrogate (from a JSON escape, or a caller's string) would break hashing and storing,
    # a NUL character storing on PostgreSQL.
    text = valid_unicode(source.data if isinstance(source.data, str) else decode_bytes(source.data))
    if not text.strip():
        raise InputProblem("empty input: no text at all")
    mode = source.mode or sniff_mode(text)
    extraction = _clean(text, mode, source.hints.url)
    if not extraction.paragraphs:
        raise InputProblem(f"no article text found ({mode} mode)")
    document = build_document(source, extraction,
                              registry if registry is not None else packaged_registry())
    check_length(document.text, max_chars)
    document.content_hash = content_hash(document.text)
    return document


def _clean(text: str, mode: Mode, url: str | None) -> Extraction:
    if mode == "html":
        return clean_html(text, url=url)
    return clean_text(text)


def extract_one(source: Source, registry: Registry | None = None,
                max_chars: int = MAX_DOCUMENT_CHARS) -> Document | InputError:
    try:
        return extract_source(source, registry, max_chars)
    except InputProblem as exc:
        return InputError(source.origin, str(exc))
    except RecursionError:
        # Deeply nested markup can exhaust the parser's recursion; report it, don't crash.
        return InputError(source.origin, "document too deeply nested to parse")
    except Exception as exc:  # noqa: BLE001 - the boundary of one document: the batch goes on
        return input_error(source.origin, exc)


def extract(
    inputs: Iterable[str],
    *,
    mode: Mode | None = None,
    allow_private: bool = False,
    fetcher: Fetcher | None = None,
    registry: Registry | None = None,
    max_chars: int | None = None,
) -> Iterator[Document | InputError]:
    """Read, clean and give metadata to every input, in input order.

    Documents get ids S1, S2, ... in order; a later exact or near duplicate of an earlier
    document gets ``duplicate_of``. Failures come back as ``InputError`` items, never raised.
    ``registry`` names the outlets (None: the packaged outlets); ``max_chars`` is the longest
    clean text one document may have (None: ``Settings.from_env().max_chars``).
    """
    yield from extract_sources(read_inputs(inputs, mode=mode, allow_private=allow_private,
                                           fetcher=fetcher), registry, max_chars)


def extract_sources(items: Iterable[Source | InputError], registry: Registry | None = None,
                    max_chars: int | None = None) -> Iterator[Document | InputError]:
    """``extract`` for sources already read (the web app's pasted texts and uploads): ids S1,
    S2, ... in order, ``duplicate_of`` on later copies, failures passed through."""
    limit = max_chars if max_chars is not None else Settings.from_env().max_chars
    yield from numbered(item if isinstance(item, InputError) else extract_one(item, registry, limit)
                        for item in items)


def numbered(items: Iterable[Document | InputError], *, taken: Collection[str] = (),
             mark_duplicates: bool = True) -> Iterator[Document | InputError]:
    """The one numbering step of documents read together, streamed: each document without an
    id gets the next free ``S1``, ``S2``, ... in order (skipping ``taken``: ids already set on
    documents of the set), and, with ``mark_duplicates``, a later exact or near copy of an
    earlier document gets ``duplicate_of``. Failures pass through untouched."""
    deduper = Deduper()
    number = 0
    for item in items:
        if isinstance(item, Document):
            if not item.id:
                number += 1
                while f"S{number}" in taken:
                    number += 1
                item.id = f"S{number}"
            if mark_duplicates:
                item.duplicate_of = deduper.add(item.id, item.text)
        yield item


@dataclass
class IngestReport:
    """What an ingest did, for the one-line summary and the exit code."""

    new: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    already_stored: list[str] = field(default_factory=list)
    failed: list[InputError] = field(default_factory=list)
    stories: dict[str, int] = field(default_factory=dict)  # document id -> found story
    stopped: bool = False  # asked to stop (``stop``) before every input was read

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        parts = [f"{len(self.new)} new"]
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} near or exact duplicates of stored documents")
        if self.already_stored:
            parts.append(f"{len(self.already_stored)} already stored")
        total = len(self.new) + len(self.duplicates) + len(self.already_stored)
        text = f"Ingested {total} document{'s' if total != 1 else ''} ({', '.join(parts)})"
        if self.failed:
            text += f"; {len(self.failed)} input{'s' if len(self.failed) != 1 else ''} failed"
        if self.stopped:
            text += "; stopped on request before the remaining inputs were read"
        return text + "."


def ingest(
    inputs: Iterable[str],
    store: Store,
    *,
    mode: Mode | None = None,
    allow_private: bool = False,
    fetcher: Fetcher | None = None,
    on_item: Progress | None = None,
    annotate: bool = True,
    settings: Settings | None = None,
    registry: Registry | None = None,
    find_stories: bool = False,
    stop: Callable[[], bool] | None = None,
) -> IngestReport:
    """Read, clean, annotate and store every input, one transaction per document.

    Documents are annotated in batches of ``settings.batch_size`` (one NLP pass over the
    batch, split between ``settings.workers`` worker processes; default: from the environment,
    see ``Settings``) and stored as each batch completes (with ``find_stories``, each
    ``settings.filing_batch`` documents), so an interrupted ingest keeps everything stored
    before the interruption. ``registry``, ``stop``: as for ``ingest_sources``.
    """
    sources = read_inputs(inputs, mode=mode, allow_private=allow_private, fetcher=fetcher)
    settings = settings if settings is not None else Settings.from_env()
    stored = StoredTexts.held_by(store, wanted=annotate and find_stories)
    with _annotator(annotate, settings.workers, features=find_stories, stored=stored) as annotator:
        return ingest_sources(sources, store, annotator=annotator, on_item=on_item,
                              batch_size=settings.batch_size, registry=registry,
                              find_stories=find_stories, stop=stop, max_chars=settings.max_chars,
                              filing_batch=settings.filing_batch)


def ingest_sources(
    sources: Iterable[Source | InputError],
    store: Store,
    *,
    annotator: Annotator | None,
    on_item: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    registry: Registry | None = None,
    find_stories: bool = False,
    stop: Callable[[], bool] | None = None,
    max_chars: int = MAX_DOCUMENT_CHARS,
    filing_batch: int = FILING_BATCH,
) -> IngestReport:
    """``ingest`` for sources already read (the web app's pastes, uploads and fetched pages),
    annotated by ``annotator`` (None: stored without annotations). ``registry`` names the
    outlets; None: the store's (the user's outlets over the packaged list). A document whose
    clean text is longer than ``max_chars`` is refused.

    ``on_item`` hears of each stored document (its ``id`` set) and of each failure; a document
    whose annotation failed is stored all the same, and its failure (``stored=True``) comes first.

    ``find_stories``: the documents are stored in batches of ``filing_batch`` (annotated in
    batches of ``batch_size`` within), and each batch's new originals are filed into found
    stories (story detection, ``storyline.pipeline.assign``) once stored; ``report.stories``
    says where.

    ``stop`` is asked after each input: once it says True (a SIGTERM, say), the input in hand
    is finished, the batch is annotated and stored, and no further input is read
    (``report.stopped``).
    """
    # The store's outlets (the user's, over the packaged list) name outlets and their countries.
    registry = registry if registry is not None else registry_of(store)
    extracted = (item if isinstance(item, InputError) else extract_one(item, registry, max_chars)
                 for item in sources)
    return ingest_documents(extracted, store, annotator=annotator, on_item=on_item,
                            batch_size=batch_size, find_stories=find_stories, stop=stop,
                            filing_batch=filing_batch)


def ingest_documents(
    items: Iterable[Document | Prepared | InputError],
    store: Store,
    *,
    annotator: Annotator | None,
    on_item: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    find_stories: bool = False,
    stop: Callable[[], bool] | None = None,
    filing_batch: int = FILING_BATCH,
) -> IngestReport:
    """The writer of an ingest: documents already extracted (and, where ``annotator`` is None,
    maybe annotated elsewhere: a cluster's workers) are annotated, stored and filed into
    stories in batches of ``batch_size`` (with ``find_stories``, stored and filed in batches
    of ``filing_batch``, annotated in batches of ``batch_size`` within), in the order they
    come; failures are reported.
    A ``Prepared`` document comes with its fingerprint and features made (by a worker: see
    ``storyline.pipeline.annotation``), so that here it is only compared and stored; what
    nobody made, this writer makes. ``on_item``, ``find_stories``, ``stop``: as for
    ``ingest_sources``."""
    report = IngestReport()
    batch: list[Document] = []
    made: dict[int, Made] = {}  # id() of a batch's document -> what a worker made of it
    refresh = _Refresh(store, report)
    assigner = _assigner(store) if find_stories else None
    # Filing's cost per batch grows with its window, not the batch (``context.FILING_BATCH``).
    stored_together = filing_batch if assigner is not None else batch_size

    def flush() -> None:
        if annotator is not None:
            for start in range(0, len(batch), batch_size):
                part = batch[start:start + batch_size]
                found = annotate_safely(annotator, part, report, on_item)
                made.update(zip(map(id, part), found or ()))
        if assigner is None:
            _store_batch(store, batch, report, on_item, made)
        else:
            # Stored and filed under the store's detection lock: other writers' batches go
            # wholly before or after (see ``StoryAssigner.filing``).
            # Features (an embedding) made before, for the texts not stored yet and not made
            # by a worker: the lock is held only while storing and deciding.
            features = _features_made(batch, made)
            fresh = [d for d in batch if id(d) not in features
                     and store.find_by_hash(d.content_hash or "") is None]
            features.update(zip(map(id, fresh), assigner.features(fresh)))
            with assigner.filing():
                created = _store_batch(store, batch, report, on_item, made)
                filed = _each_once(d for d in batch if d.id in created)
                missing = [d for d in filed if id(d) not in features]
                features.update(zip(map(id, missing), assigner.features(missing)))
                report.stories.update(assigner.file(filed, [features[id(d)] for d in filed]))
        batch.clear()
        made.clear()

    try:
        for result in items:
            if isinstance(result, InputError):
                report.failed.append(result)
                if on_item is not None:
                    on_item(result)
            else:
                if isinstance(result, Prepared):
                    made[id(result.document)] = result.made
                    result = result.document
                batch.append(result)
                if len(batch) >= stored_together:
                    flush()
                    refresh.when_due()
            if stop is not None and stop():
                report.stopped = True
                break
        flush()
        refresh.at_end()  # not on the way out of an interruption: that should be prompt
    except BaseException:
        # Reading failed past every per-input boundary (a Ctrl+C, a reader's bug): the
        # documents already read are stored before the exception goes on; a batch whose own
        # storing failed is not tried twice.
        if batch and not _storing_failed(batch):
            flush()
        raise
    finally:
        if assigner is not None:
            assigner.save_index()
    return report


@dataclass
class _Refresh:
    """Refreshes ``store``'s statistics once ``REFRESH_AFTER`` documents were stored since."""

    store: Store
    report: IngestReport
    done_at: int = 0  # documents stored when they were last refreshed

    def when_due(self) -> None:
        if self._stored() - self.done_at >= REFRESH_AFTER:
            self._run()

    def at_end(self) -> None:
        """An ingest of ``REFRESH_AFTER`` documents or more ends on fresh statistics."""
        if self._stored() >= REFRESH_AFTER and self._stored() > self.done_at:
            self._run()

    def _stored(self) -> int:
        return len(self.report.new) + len(self.report.duplicates)

    def _run(self) -> None:
        stored = self.done_at = self._stored()
        try:
            self.store.refresh_statistics()
        except Exception as exc:  # noqa: BLE001 - what was stored stays stored; searches are only slower
            logging.getLogger(__name__).warning(
                "the store's statistics could not be refreshed after %d documents: %s", stored, exc)


def _features_made(batch: list[Document], made: dict[int, Made]) -> dict[int, Features]:
    """The features a worker made, by ``id()`` of the batch's documents."""
    return {id(d): bits.features for d in batch
            if (bits := made.get(id(d))) is not None and bits.features is not None}


def _store_batch(store: Store, batch: list[Document], report: IngestReport,
                 on_item: Progress | None, made: dict[int, Made]) -> set[str]:
    """Store each document of ``batch`` (one transaction each), with the fingerprint a worker
    made where there is one; the ids of those stored anew (originals and copies)."""
    stored_before = len(report.new), len(report.duplicates)
    for document in batch:
        bits = made.get(id(document))
        _store_document(store, document, report, bits.fingerprint if bits is not None else None)
        if on_item is not None:
            on_item(document)
    return {*report.new[stored_before[0]:], *report.duplicates[stored_before[1]:]}


def _storing_failed(batch: list[Document]) -> bool:
    """Whether storing ``batch`` was under way (a document has its id) when an exception came."""
    return any(document.id is not None for document in batch)


def _each_once(documents: Iterable[Document]) -> list[Document]:
    """The first document of each id: a copy of a document stored earlier in the same batch
    takes the original's id, and story detection must see that id once."""
    first: dict[str | None, Document] = {}
    for document in documents:
        first.setdefault(document.id, document)
    return list(first.values())


def _assigner(store: Store) -> StoryAssigner:
    """Story detection for this store (imported here: it loads the embedding model's code)."""
    from storyline.pipeline.assign import StoryAssigner

    return StoryAssigner(store)


@contextmanager
def _annotator(enabled: bool, workers: int, *, features: bool,
               stored: StoredTexts) -> Iterator[Annotator | None]:
    """The ingest's annotator: on a local pool that lives for the whole ingest, so that each
    worker loads the models once; the pool's workers make the writer's share too (the
    story features only with ``features``, and not for the texts ``stored`` already)."""
    if not enabled:
        yield None
        return
    with local_executor(workers) as executor:
        yield annotator_on(executor, for_writer=True, features=features, stored=stored)


def annotate_safely(
    annotator: Annotator, documents: list[Document], report: IngestReport, on_item: Progress | None
) -> Sequence[Made] | None:
    """Annotate a batch; if that breaks, retry one by one so one text can't sink the batch (a
    single document is annotated in this process). A document whose annotation fails is still
    stored, and the failure is reported. What the annotator made for the writer comes back
    (None when it made nothing, or the batch was retried one by one)."""
    try:
        return annotator(documents)
    except Exception:  # noqa: BLE001 - isolate the failing document below
        pass
    for document in documents:
        try:
            annotator([document])
        except Exception as exc:  # noqa: BLE001 - reported, the batch goes on
            error = InputError(document.origin, f"annotation failed: {exc!r}", stored=True)
            report.failed.append(error)
            if on_item is not None:
                on_item(error)
    return None


def _store_document(store: Store, document: Document, report: IngestReport,
                    fingerprint: Fingerprint | None = None) -> None:
    # exact and near duplicates judged on the way
    added = store_document(store, document, fingerprint=fingerprint)
    document.id = added.id
    if not added.created:
        report.already_stored.append(added.id)
    elif added.duplicate_of:
        report.duplicates.append(added.id)
    else:
        report.new.append(added.id)
