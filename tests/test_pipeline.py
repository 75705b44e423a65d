"""The pipeline's own steps: the one numbering step and the executor seam, on invented texts."""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Iterator

import pytest

from storyline.model import Document, InputError
from storyline.pipeline.annotation import PARALLEL_FROM, annotator_on, split
from storyline.pipeline.documents import numbered
from storyline.pipeline.executor import InProcess, LocalPool, local_executor

FERRY = ("The harbour authority said on Monday that the night ferry to Skarholm will stop for two "
         "weeks while its engines are rebuilt, and that a bus will carry passengers instead.")
CONCERT = ("The town orchestra played its spring concert in the old grain hall on Saturday, with "
           "a new piece by a local composer and a choir of forty schoolchildren.")


def _document(text: str, origin: str, doc_id: str | None = None) -> Document:
    return Document(origin=origin, text=text, id=doc_id)


def test_numbered_gives_ids_in_order_and_marks_later_copies() -> None:
    items: list[Document | InputError] = [
        _document(FERRY, "a.txt"),
        InputError("broken.txt", "no article text found"),
        _document(CONCERT, "b.txt"),
        _document(FERRY + " ", "copy.txt"),
    ]
    out = list(numbered(items))
    documents = [item for item in out if isinstance(item, Document)]
    assert [d.id for d in documents] == ["S1", "S2", "S3"]
    assert [d.duplicate_of for d in documents] == [None, None, "S1"]
    assert isinstance(out[1], InputError)  # failures pass through, in place


def test_numbered_keeps_ids_that_are_set_and_skips_them() -> None:
    documents = [_document(FERRY, "a.txt"), _document(CONCERT, "b.txt", "S1"),
                 _document(FERRY + " Later.", "c.txt")]
    out = list(numbered(documents, taken={"S1"}, mark_duplicates=False))
    assert [d.id for d in out if isinstance(d, Document)] == ["S2", "S1", "S3"]
    assert all(d.duplicate_of is None for d in out if isinstance(d, Document))


def test_numbered_streams() -> None:
    """Each document comes out before the next is read: an extract of a huge folder starts
    printing at once."""
    seen: list[str] = []

    def source() -> Iterator[Document]:
        for origin, text in (("a.txt", FERRY), ("b.txt", CONCERT)):
            seen.append(origin)
            yield _document(text, origin)

    stream = numbered(source())
    first = next(stream)
    assert isinstance(first, Document) and first.id == "S1" and seen == ["a.txt"]


def _square(number: int) -> int:
    return number * number


def _process_id(_: int) -> int:
    return os.getpid()


@pytest.mark.parametrize("workers", [1, 2])
def test_executors_give_results_in_the_items_order(workers: int) -> None:
    with local_executor(workers) as executor:
        assert executor.workers == workers
        assert list(executor.map(_square, list(range(20)))) == [n * n for n in range(20)]


def test_a_local_pool_runs_in_other_processes_and_in_process_does_not() -> None:
    with LocalPool(2) as pool:
        assert os.getpid() not in set(pool.map(_process_id, list(range(8))))
    with InProcess() as here:
        assert set(here.map(_process_id, [1, 2])) == {os.getpid()}


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        LocalPool(0)


def test_split_deals_every_document_once() -> None:
    documents = [_document(FERRY, f"{n}.txt") for n in range(7)]
    shares = split(documents, 2)
    assert [len(share) for share in shares] == [4, 3]
    assert sorted(d.origin for share in shares for d in share) == sorted(d.origin for d in documents)


def test_a_small_batch_is_annotated_here_without_starting_workers() -> None:
    """Below PARALLEL_FROM documents the annotator never asks the executor to map."""

    class Refusing(InProcess):
        workers = 2

        def map(self, fn, items):  # type: ignore[no-untyped-def]
            raise AssertionError("a small batch went to the workers")

    documents = [_document(FERRY, "a.txt")]
    assert len(documents) < PARALLEL_FROM
    annotator_on(Refusing())(documents)
    assert documents[0].annotations is not None and documents[0].annotations.sentences


def test_documents_read_before_an_escaping_exception_are_stored(db_url: str) -> None:
    """A reader that fails past every per-input boundary (here: a Ctrl+C after three articles)
    must not take the articles already read with it."""
    from storyline.model import Source
    from storyline.pipeline.documents import ingest_sources
    from storyline.store import open_store

    def sources() -> Iterator[Source]:
        for number in range(3):
            yield Source(origin=f"note-{number}.txt",
                         data=f"Harbour note {number}\n\nThe ferry to Tessel island sailed {number} hours late.",
                         mode="text")
        raise KeyboardInterrupt

    with open_store(db_url) as store:
        with pytest.raises(KeyboardInterrupt):
            ingest_sources(sources(), store, annotator=None)
        assert store.count() == 3


def test_stored_texts_hold_the_hashes_they_were_given_and_no_others() -> None:
    from storyline.pipeline.annotation import StoredTexts
    from storyline.story.dedupe import content_hash

    ferry, concert = content_hash(FERRY), content_hash(CONCERT)
    stored = StoredTexts(iter([ferry, ferry]))  # read from a store: an iterator, maybe repeated
    assert ferry in stored and concert not in stored and len(stored) == 1
    assert None not in stored and "" not in stored and ferry not in StoredTexts()


def test_the_writers_share_has_no_features_for_texts_stored_already() -> None:
    from storyline.pipeline.annotation import StoredTexts, made_for_writer
    from storyline.story.dedupe import content_hash

    documents = [_document(FERRY, "a.txt"), _document(CONCERT, "b.txt")]
    for document in documents:
        document.content_hash = content_hash(document.text)
    made = made_for_writer(documents, features=True, stored=StoredTexts([content_hash(FERRY)]))
    assert made[0].features is None and made[1].features is not None
    assert [m.fingerprint.content_hash for m in made] == [d.content_hash for d in documents]
    assert all(m.features is not None for m in made_for_writer(documents, features=True))


def test_an_ingest_refreshes_the_stores_statistics_every_so_many_documents(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each time REFRESH_AFTER documents were stored since the last refresh, and at the end of
    an ingest that stored as many; on PostgreSQL the search tables are then vacuumed and
    analysed (the server's own record says so)."""
    from storyline.model import Source
    from storyline.pipeline import documents as documents_module
    from storyline.pipeline.documents import ingest_sources
    from storyline.store import open_store
    from conftest import is_postgres, sql_rows

    monkeypatch.setattr(documents_module, "REFRESH_AFTER", 3)
    sources = [Source(origin=f"tide-{number}.txt", mode="text",
                      data=f"Tide table {number}\n\nHigh water at Vellmar quay came {number} minutes early.")
               for number in range(7)]
    with open_store(db_url) as store:
        refreshed_at: list[int] = []
        real = store.refresh_statistics

        def refresh_statistics() -> None:
            refreshed_at.append(store.count())
            real()

        monkeypatch.setattr(store, "refresh_statistics", refresh_statistics)
        ingest_sources(sources, store, annotator=None, batch_size=2)  # stored 2 at a time
    assert refreshed_at == [4, 7]  # 4: three or more since none; 7: the end, 3 since
    if is_postgres(db_url):
        assert sql_rows(db_url, "SELECT relname, last_vacuum IS NOT NULL, last_analyze IS NOT NULL"
                                " FROM pg_stat_user_tables WHERE relname IN"
                                " ('sentences', 'documents', 'story_documents') ORDER BY relname"
                        ) == [("documents", True, True), ("sentences", True, True),
                              ("story_documents", True, True)]
