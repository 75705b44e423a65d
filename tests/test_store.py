"""The storage interface on the SQLite backend, on real database files: ids, round trips,
batched and streamed reads, duplicates (judged by the pipeline, kept by the store) with the
persisted near-duplicate index, migrations, WAL, concurrency, and an ingest killed half-way."""

from __future__ import annotations

import dataclasses
import math
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_dedupe import LIGHT_EDIT, OTHER_OUTLET, SYNDICATED, UPDATE, WIRE

import storyline.store._common as common_module
import storyline.store.postgres as postgres_module
import storyline.store.sqlite as store_module
from storyline.errors import UsageError
from storyline.model import Annotations, Document, Sentence
from storyline.pipeline.duplicates import StoredDuplicates, store_document
from storyline.store import DuplicateCheck, Sketch, StaleCheck, Store, open_store
from storyline.store.sqlite import (
    LATEST_VERSION,
    MIGRATIONS,
    Migration,
    SQLiteStore,
    default_db_location,
)
from storyline.story.dedupe import SKETCH_KIND, content_hash
from tests.conftest import is_postgres, sql_rows

SYLLABLES = "ka lo mi ne ru sa te vo bi da fe gu ha jo li mo nu pe ri so tu ve wa xi yo zu".split()


def make_doc(i: int) -> Document:
    """Document number ``i`` of an invented feed: distinct texts, every field set."""
    rng = random.Random(i)
    words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(80)]
    text = " ".join(words[:40]) + ".\n\n" + " ".join(words[40:]) + "."
    return Document(
        origin=f"feed/{i}.txt",
        text=text,
        url=f"https://news.example/{i}",
        title=f"Story number {i}",
        authors=[f"Reporter {i}", "Desk \u00c9dition"],
        author_roles={f"Reporter {i}": "correspondent, Example News"},
        outlet="Example News",
        published=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
        published_from="meta",
        language="en",
        country="NL",
        kind="news",
        words=80,
        boilerplate_removed_chars=i,
        content_hash=content_hash(text),
    )


def doc_of(origin: str, text: str, **fields: object) -> Document:
    """A document as the pipeline hands it to the store: with its content hash."""
    return Document(origin=origin, text=text, content_hash=content_hash(text), **fields)  # type: ignore[arg-type]


def stored_fields(doc: Document) -> dict[str, object]:
    """The fields the caller gives (the store decides id, duplicate_of, also_at)."""
    data = doc.to_dict()
    for key in ("id", "duplicate_of", "also_at"):
        data.pop(key)
    return data


def sketch_rows(db: str | Path) -> dict[int, str]:
    return {document: kind for document, kind in sql_rows(db, "SELECT document, kind FROM sketches")}


@pytest.fixture
def db(db_url: str) -> str:
    """The test's database, on each backend (``conftest.db_url``)."""
    return db_url


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    """A SQLite database file, for what only that backend has (pragmas, WAL, its migrations)."""
    return tmp_path / "data" / "storyline.db"


# --------------------------------------------------------------------------- ids and round trip


def test_ids_are_sequential_per_database(db: str, tmp_path: Path) -> None:
    with open_store(db) as store:
        assert [store.add_document(make_doc(i)).id for i in range(3)] == ["S1", "S2", "S3"]
        assert store.count() == 3
    with SQLiteStore(tmp_path / "other.db") as other:
        assert other.add_document(make_doc(9)).id == "S1"


def test_every_field_round_trips(db: str) -> None:
    doc = make_doc(7)
    doc.title = "Caf\u00e9 \u201cquotes\u201d \u2014 \u65b0\u805e"
    doc.author_roles = {"Ana Li": "analyst, Institute \u00e0 Paris", "Bo": ""}
    doc.url = None
    with open_store(db) as store:
        result = store.add_document(doc)
        assert result.created and result.duplicate_of is None
    with open_store(db) as store:
        got = store.get(result.id)
        assert got is not None
        assert stored_fields(got) == stored_fields(doc)
        assert (got.id, got.duplicate_of, got.also_at) == ("S1", None, [])
        assert list(store.iter_documents()) == [got]
        assert store.get_many(["S1"]) == [got]
        assert store.find_by_hash(content_hash(doc.text)) == got


def test_the_store_keeps_the_callers_verdict_and_leaves_the_document_alone(db: str) -> None:
    doc = make_doc(1)
    doc.id, doc.also_at = "S99", ["elsewhere"]
    with open_store(db) as store:
        assert store.add_document(doc).id == "S1"
        copy = doc_of("partner/copy.html", doc.text + " Republished with permission.", duplicate_of="S1")
        result = store.add_document(copy)
        assert (result.id, result.created, result.duplicate_of) == ("S2", True, "S1")
        original, stored_copy = store.get_many(["S1", "S2"])
    assert (original.duplicate_of, original.also_at) == (None, ["partner/copy.html"])
    assert (stored_copy.duplicate_of, stored_copy.also_at) == ("S1", [])
    assert (doc.id, doc.also_at) == ("S99", ["elsewhere"])


def test_a_verdict_naming_no_stored_document_stores_nothing(db: str) -> None:
    with open_store(db) as store:
        store.add_document(make_doc(1))
        for wrong in ("S7", "s1", "x"):
            with pytest.raises(KeyError):
                store.add_document(doc_of("a.txt", WIRE, duplicate_of=wrong))
        assert store.count() == 1


def test_a_document_without_its_content_hash_is_refused(db: str) -> None:
    with open_store(db) as store, pytest.raises(ValueError, match="content_hash"):
        store.add_document(Document(origin="a.txt", text=WIRE))


def test_add_documents_stores_each_as_add_document_does_in_one_transaction(db: str) -> None:
    text = "The ferry crossed the bay at dawn. Its pilot counted nine gulls."
    annotated = doc_of("bay.txt", text, annotations=Annotations(sentences=[
        Sentence(0, 34, text[:34]), Sentence(35, len(text), text[35:])]))
    with open_store(db) as store:
        store.add_document(make_doc(1))
        results = store.add_documents([make_doc(2), doc_of("copy.txt", make_doc(1).text),
                                       annotated, doc_of("near.txt", WIRE, duplicate_of="S2")])
        assert [(r.id, r.created, r.duplicate_of, r.origin_added) for r in results] == [
            ("S2", True, None, False), ("S1", False, None, True), ("S3", True, None, False),
            ("S4", True, "S2", False)]
        assert store.get_many(["S1"])[0].also_at == ["copy.txt"]
        assert store.get_many(["S2"])[0].also_at == ["near.txt"]
        assert [(h.source, h.text) for h in store.search("gulls")] == [("S3", text[35:])]
        assert store.add_documents([]) == []


def test_add_documents_stores_all_or_none(db: str) -> None:
    with open_store(db) as store:
        store.add_document(make_doc(1))
        with pytest.raises(KeyError):
            store.add_documents([make_doc(2), doc_of("a.txt", WIRE, duplicate_of="S9")])
        with pytest.raises(ValueError, match="content_hash"):
            store.add_documents([make_doc(3), Document(origin="a.txt", text=WIRE)])
        assert store.count() == 1
        assert store.add_documents([make_doc(2)])[0].id == "S2"


def test_unknown_ids_and_hashes_give_none(db: str) -> None:
    with open_store(db) as store:
        store.add_document(make_doc(1))
        assert store.get("S2") is None
        assert store.get("s1") is None and store.get("1") is None and store.get("S01") is None
        assert store.find_by_hash("0" * 64) is None


def test_content_hashes_are_every_stored_texts_once_read_in_chunks(db: str) -> None:
    with open_store(db) as store:
        assert list(store.content_hashes()) == []
        documents = [make_doc(i) for i in range(5)]
        for doc in documents:
            store.add_document(doc)
        store.add_document(documents[0])  # the same text again: another origin, no new hash
        expected = [content_hash(doc.text) for doc in documents]
        assert list(store.content_hashes()) == expected
        assert list(store.content_hashes(chunk_size=2)) == expected


def test_created_at_is_stored(db: str) -> None:
    with open_store(db) as store:
        store.add_document(make_doc(1))
    ((created_at,),) = sql_rows(db, "SELECT created_at FROM documents")
    assert created_at.startswith("20") and created_at.endswith("+00:00")
    assert len(created_at) == len("2026-01-01T00:00:00.000000+00:00")  # to the microsecond


# --------------------------------------------------------------------------- batched and streamed reads


def test_get_many_keeps_the_order_asked_and_leaves_unknown_ids_out(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common_module, "IDS_PER_QUERY", 3)  # several IN lists (SQLite's)
    with open_store(db) as store:
        for i in range(8):
            doc = make_doc(i)
            doc.annotations = Annotations(sentences=[Sentence(0, 5, doc.text[:5])])
            store.add_document(doc)
        store.add_document(doc_of("copy.txt", make_doc(0).text.upper()))  # an extra origin of S1
        asked = ["S7", "S2", "S99", "bogus", "S1", "S8", "S4", "S3"]
        got = store.get_many(asked)
        assert [d.id for d in got] == ["S7", "S2", "S1", "S8", "S4", "S3"]
        assert got[2].also_at == ["copy.txt"]
        assert all(d.annotations is None for d in got)
        annotated = store.get_many(["S5", "S6"], with_annotations=True)
        assert [d.annotations.sentences[0].end for d in annotated if d.annotations] == [5, 5]
        assert store.get_many([]) == []


def test_iter_documents_reads_a_chunk_at_a_time(sqlite_db: Path) -> None:
    with SQLiteStore(sqlite_db) as store:
        for i in range(5):
            store.add_document(make_doc(i))
        reads: list[str] = []
        store._conn.set_trace_callback(
            lambda sql: reads.append(sql) if "FROM documents WHERE seq >" in sql else None
        )
        documents = store.iter_documents(chunk_size=2)
        assert next(documents).id == "S1"
        assert len(reads) == 1  # one chunk read, not the whole store
        store.add_document(make_doc(5))  # no read transaction is held between chunks
        assert [d.id for d in documents] == ["S2", "S3", "S4", "S5", "S6"]
        assert len(reads) == 4  # chunks S1-2, S3-4, S5-6 and the empty one that ends it
        store._conn.set_trace_callback(None)
        assert [d.id for d in store.iter_documents(chunk_size=100)] == [f"S{n}" for n in range(1, 7)]


def test_iter_documents_streams_in_chunks_on_each_backend(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never the whole corpus at once: one query per chunk (keyset), none held in between."""
    module = postgres_module if is_postgres(db) else store_module
    reads: list[object] = []
    real = module._documents_where

    def counted(*args, **options):  # type: ignore[no-untyped-def]
        reads.append(args[2])
        return real(*args, **options)

    monkeypatch.setattr(module, "_documents_where", counted)
    with open_store(db) as store:
        for i in range(5):
            store.add_document(make_doc(i))
        documents = store.iter_documents(chunk_size=2)
        assert next(documents).id == "S1" and len(reads) == 1
        store.add_document(make_doc(5))
        assert [d.id for d in documents] == ["S2", "S3", "S4", "S5", "S6"]
        assert len(reads) == 4  # S1-2, S3-4, S5-6 and the empty chunk that ends it


# --------------------------------------------------------------------------- duplicates (pipeline verdicts)


def test_adding_the_same_input_twice_adds_nothing(db: str) -> None:
    docs = [make_doc(i) for i in range(5)]
    with open_store(db) as store:
        first = [store_document(store, d) for d in docs]
        again = [store_document(store, d) for d in docs]
        assert all(r.created for r in first)
        assert [r.id for r in again] == [r.id for r in first]
        assert not any(r.created or r.origin_added for r in again)
        assert store.count() == 5
        assert all(d.also_at == [] for d in store.iter_documents())


def test_exact_copy_from_another_origin_becomes_an_extra_origin(db: str) -> None:
    with open_store(db) as store:
        store_document(store, Document(origin="wire/a.txt", text=WIRE))
        # Same words; the typography is the syndicating site's.
        copy = WIRE.replace('"', "\u201c").replace("7-2", "7\u20132")
        result = store_document(store, Document(origin="https://partner.example/a", text=copy))
        assert (result.id, result.created, result.origin_added) == ("S1", False, True)
        again = store_document(store, Document(origin="https://partner.example/a", text=copy))
        assert (again.created, again.origin_added) == (False, False)
        assert store.count() == 1
        original = store.get("S1")
    assert original is not None
    assert original.text == WIRE and original.origin == "wire/a.txt"
    assert original.also_at == ["https://partner.example/a"]


def test_syndicated_copy_with_other_boilerplate_is_a_near_duplicate(db: str) -> None:
    with open_store(db) as store:
        store_document(store, Document(origin="wire/a.txt", text=WIRE, outlet="Wire"))
        store_document(store, Document(origin="other/b.txt", text=OTHER_OUTLET))
        document = Document(origin="partner/c.html", text=SYNDICATED, outlet="Partner")
        result = store_document(store, document)
        assert (result.id, result.created, result.duplicate_of) == ("S3", True, "S1")
        assert document.duplicate_of is None and document.id is None  # left as it was
        assert store_document(store, Document(origin="partner/c.html", text=SYNDICATED)).created is False
        original, copy = store.get("S1"), store.get("S3")
    assert original is not None and copy is not None
    # Both origins stay visible: the copy has its own, and the original lists it.
    assert original.also_at == ["partner/c.html"] and original.duplicate_of is None
    assert (copy.origin, copy.duplicate_of, copy.outlet) == ("partner/c.html", "S1", "Partner")
    assert copy.text == SYNDICATED


def test_an_update_is_its_own_document(db: str) -> None:
    with open_store(db) as store:
        store_document(store, Document(origin="wire/a.txt", text=WIRE))
        result = store_document(store, Document(origin="wire/a-updated.txt", text=UPDATE))
        assert (result.created, result.duplicate_of) == (True, None)


def test_changed_page_at_the_same_origin_does_not_list_itself(db: str) -> None:
    with open_store(db) as store:
        store_document(store, Document(origin="https://wire.example/a", text=WIRE))
        result = store_document(store, Document(origin="https://wire.example/a", text=LIGHT_EDIT))
        assert (result.id, result.duplicate_of) == ("S2", "S1")
        original = store.get("S1")
    assert original is not None and original.also_at == []


def test_dedupe_works_across_runs(db: str) -> None:
    with open_store(db) as store:
        store_document(store, Document(origin="wire/a.txt", text=WIRE))
    with open_store(db) as store:
        assert store_document(store, Document(origin="partner/c.html", text=SYNDICATED)).duplicate_of == "S1"
        assert store_document(store, Document(origin="copy/d.txt", text=SYNDICATED)).id == "S2"
        copy = store.get("S2")
    assert copy is not None and copy.also_at == ["copy/d.txt"]


def _spy_on_texts(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record every ``get_many`` of ``store`` (how the verdicts read stored texts)."""
    asked: list[list[str]] = []
    real = store.get_many

    def get_many(ids, **options):  # type: ignore[no-untyped-def]
        asked.append(list(ids))
        return real(ids, **options)

    monkeypatch.setattr(store, "get_many", get_many)
    return asked


def test_a_second_connection_judges_from_the_stored_sketches(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(db) as first:
        for document in [Document(origin="wire/a.txt", text=WIRE), *map(make_doc, range(30))]:
            store_document(first, document)
    assert len(sketch_rows(db)) == 31 and set(sketch_rows(db).values()) == {SKETCH_KIND}
    with open_store(db) as second:
        asked = _spy_on_texts(second, monkeypatch)
        result = store_document(second, Document(origin="partner/c.html", text=SYNDICATED))
        assert (result.id, result.duplicate_of) == ("S32", "S1")
        assert asked == [["S1"]]  # the candidate's text only: nothing rebuilt from all texts


def test_the_index_lives_with_its_store_and_reads_only_new_sketches(db: str) -> None:
    with open_store(db) as store, open_store(db) as other:
        store_document(store, make_doc(1))
        reads: list[tuple[object, ...]] = []
        real = store.sketches

        def sketches(kind, *, after=None):  # type: ignore[no-untyped-def]
            reads.append((kind, after))
            return real(kind, after=after)

        store.sketches = sketches  # type: ignore[method-assign]
        store_document(other, make_doc(2))  # another writer
        store_document(store, Document(origin="wire/a.txt", text=WIRE))
        assert reads == [(SKETCH_KIND, "S1")]  # caught up from where it was, not from the start


def test_a_store_without_sketches_gets_them_once(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(db) as store:  # as stored before sketches were kept: no check, no sketch
        store.add_document(doc_of("wire/a.txt", WIRE))
        for i in range(3):
            store.add_document(make_doc(i))
    assert sketch_rows(db) == {}
    with open_store(db) as store:
        asked = _spy_on_texts(store, monkeypatch)
        assert store_document(store, Document(origin="p/c.html", text=SYNDICATED)).duplicate_of == "S1"
        assert asked == [["S1", "S2", "S3", "S4"], ["S1"]]  # made once, then the candidate
    assert sketch_rows(db) == {n: SKETCH_KIND for n in range(1, 6)}
    # A sketch of another method counts as none.
    sql_rows(db, "UPDATE sketches SET kind = 'older-method' WHERE document = 2")
    with open_store(db) as store:
        asked = _spy_on_texts(store, monkeypatch)
        assert store_document(store, Document(origin="q/d.html", text=LIGHT_EDIT)).duplicate_of == "S1"
        assert asked == [["S2"], ["S1"]]
    assert set(sketch_rows(db).values()) == {SKETCH_KIND}


def test_a_check_made_before_another_document_was_stored_is_refused(db: str) -> None:
    sketch = Sketch(SKETCH_KIND, b"")
    with open_store(db) as store:
        store.add_document(make_doc(1), check=DuplicateCheck(None, sketch))
        with pytest.raises(StaleCheck):
            store.add_document(make_doc(2), check=DuplicateCheck(None, sketch))
        assert store.count() == 1
        assert store.add_document(make_doc(2), check=DuplicateCheck("S1", sketch)).id == "S2"
        # An exact copy needs no verdict: never refused.
        assert store.add_document(make_doc(1), check=DuplicateCheck(None, sketch)).created is False


def test_a_verdict_overtaken_by_another_writer_is_made_again(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(db) as store, open_store(db) as other:
        real = store.add_document
        attempts: list[DuplicateCheck | None] = []

        def add_document(doc, *, check=None):  # type: ignore[no-untyped-def]
            attempts.append(check)
            if len(attempts) == 1:  # the other writer stores the original just before us
                store_document(other, Document(origin="wire/a.txt", text=WIRE))
            return real(doc, check=check)

        monkeypatch.setattr(store, "add_document", add_document)
        result = store_document(store, Document(origin="partner/c.html", text=SYNDICATED))
    assert (result.id, result.duplicate_of) == ("S2", "S1")
    assert [c.seen_through for c in attempts if c] == [None, "S1"]


def test_a_lone_writer_asks_for_new_sketches_only_when_the_store_says_it_is_behind(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(db) as store, open_store(db) as other:
        real = store.sketches
        asked: list[str | None] = []

        def sketches(kind, *, after=None):  # type: ignore[no-untyped-def]
            asked.append(after)
            return real(kind, after=after)

        monkeypatch.setattr(store, "sketches", sketches)
        for number in range(1, 5):
            store_document(store, make_doc(number))
        assert asked == [None]  # the first verdict's load; the writer's own documents follow it
        store_document(other, Document(origin="wire/a.txt", text=WIRE))  # S5, unseen by store
        result = store_document(store, Document(origin="partner/c.html", text=SYNDICATED))
    assert (result.id, result.duplicate_of) == ("S6", "S5")
    assert asked == [None, "S4"]  # refused as stale once, then caught up with S5 alone


def test_a_failed_add_leaves_nothing_behind(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(db) as store:
        store_document(store, Document(origin="wire/a.txt", text=WIRE))

        def fail(*args: object) -> bool:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(postgres_module if is_postgres(db) else store_module, "_record_origin", fail)
        with pytest.raises(RuntimeError):
            store_document(store, Document(origin="partner/c.html", text=SYNDICATED))
        monkeypatch.undo()
        assert store.count() == 1 and len(sketch_rows(db)) == 1
        result = store_document(store, Document(origin="partner/c.html", text=SYNDICATED))
        assert (result.id, result.created, result.duplicate_of) == ("S2", True, "S1")


def test_stored_duplicates_index_is_fed_in_order(db: str) -> None:
    with open_store(db) as store:
        store.add_document(doc_of("wire/a.txt", WIRE))  # no sketch: made while catching up
        store_document(store, make_doc(1))
        judge = StoredDuplicates()
        judge.catch_up(store)
        assert len(judge) == 2
        judge.catch_up(store)  # nothing new
        assert len(judge) == 2


# --------------------------------------------------------------------------- schema, pragmas


def test_migrations_are_applied_once(sqlite_db: Path) -> None:
    SQLiteStore(sqlite_db).close()
    SQLiteStore(sqlite_db).close()
    with sqlite3.connect(sqlite_db) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
        assert rows == [(m.version, m.name) for m in MIGRATIONS]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    with SQLiteStore(sqlite_db) as store:
        store.add_document(make_doc(1))
        assert store.count() == 1


def test_a_later_migration_is_applied_on_open(sqlite_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteStore(sqlite_db) as store:
        store.add_document(make_doc(1))
    extra = Migration(LATEST_VERSION + 1, "bookmarks", ("CREATE TABLE bookmarks (id INTEGER PRIMARY KEY)",))
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, extra])
    monkeypatch.setattr(store_module, "LATEST_VERSION", extra.version)
    with SQLiteStore(sqlite_db) as store:
        assert store.count() == 1
    with sqlite3.connect(sqlite_db) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == extra.version
        conn.execute("SELECT count(*) FROM bookmarks")


def test_a_failing_migration_changes_nothing(sqlite_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Migration(1, "broken", ("CREATE TABLE documents (seq INTEGER)", "CREATE TABLE oops ("))
    monkeypatch.setattr(store_module, "MIGRATIONS", [broken])
    with pytest.raises(UsageError):
        SQLiteStore(sqlite_db)
    with sqlite3.connect(sqlite_db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "documents" not in tables


def test_a_newer_database_is_refused(sqlite_db: Path) -> None:
    SQLiteStore(sqlite_db).close()
    with sqlite3.connect(sqlite_db) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(UsageError, match="newer"):
        SQLiteStore(sqlite_db)


def test_wal_mode_foreign_keys_and_busy_timeout(sqlite_db: Path) -> None:
    with SQLiteStore(sqlite_db) as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == store_module.BUSY_TIMEOUT_MS
    with sqlite3.connect(sqlite_db) as raw:  # WAL is a property of the file, not just of our connection
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --------------------------------------------------------------------------- opening


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url, path in [
        ("plain.db", tmp_path / "plain.db"),
        ("sqlite:///rel/x.db", tmp_path / "rel" / "x.db"),
        (f"sqlite:///{tmp_path}/abs.db", tmp_path / "abs.db"),  # sqlite:////abs/path: absolute
    ]:
        with open_store(url) as store:
            assert isinstance(store, SQLiteStore) and store.path.resolve() == path
        assert path.exists()


@pytest.mark.parametrize("url", ["mysql://h/db", "sqlite://", "sqlite:///",
                                 "postgresql://h:notaport/db", "postgresql://h/db?sslmode=sometimes"])
def test_bad_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError):
        open_store(url)


def test_default_location_respects_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_location() == tmp_path / "xdg" / "storyline" / "storyline.db"
    with open_store(None) as store:
        store.add_document(make_doc(1))
    assert (tmp_path / "xdg" / "storyline" / "storyline.db").exists()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for value in ("", "relative/dir"):
        monkeypatch.setenv("XDG_DATA_HOME", value)
        assert default_db_location() == tmp_path / "home" / ".local" / "share" / "storyline" / "storyline.db"


def test_unusable_files_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    (tmp_path / "notes.db").write_text("not a database, just notes\n" * 100)
    for path in (tmp_path / "dir.db", tmp_path / "notes.db"):
        with pytest.raises(UsageError, match="database"):
            open_store(str(path))


# --------------------------------------------------------------------------- concurrency


def test_two_connections_share_ids_and_dedupe(db: str) -> None:
    with open_store(db) as a, open_store(db) as b:
        assert store_document(a, Document(origin="wire/a.txt", text=WIRE)).id == "S1"
        assert store_document(b, make_doc(1)).id == "S2"
        # b never saw WIRE being added, yet finds it: it catches up before each verdict.
        assert store_document(b, Document(origin="partner/c.html", text=SYNDICATED)).duplicate_of == "S1"
        assert store_document(a, Document(origin="x/d.txt", text=SYNDICATED)).id == "S3"
        assert a.count() == b.count() == 3
        assert [d.id for d in a.iter_documents()] == ["S1", "S2", "S3"]


def test_concurrent_writers_in_threads(db: str) -> None:
    # Both threads also open (create, migrate, switch to WAL) the fresh database at once.
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            with open_store(db) as store:
                for i in range(offset, offset + 40):
                    store_document(store, make_doc(i % 60))  # 20 documents written by both threads
                # Near copies of one story from both threads: one original, the rest copies.
                store_document(store, Document(origin=f"wire/{offset}.txt", text=WIRE))
                store_document(store, Document(origin=f"partner/{offset}.txt", text=SYNDICATED))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in (0, 20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with open_store(db) as store:
        docs = list(store.iter_documents())
    feed = [d for d in docs if d.origin.startswith("feed/")]
    assert [d.id for d in docs] == [f"S{n}" for n in range(1, len(docs) + 1)]
    assert sorted(d.origin for d in feed) == sorted(f"feed/{i}.txt" for i in range(60))
    assert all(d.also_at == [] and d.duplicate_of is None for d in feed)
    wire = [d for d in docs if not d.origin.startswith("feed/")]
    originals = [d for d in wire if d.duplicate_of is None]
    assert len(originals) == 1 and originals[0].text == WIRE  # never two originals of one story
    assert all(d.duplicate_of == originals[0].id for d in wire[1:])
    assert len(sketch_rows(db)) == len(docs)


# --------------------------------------------------------------------------- killed ingest

KILL_TOTAL = 1500

_INGEST = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from test_store import make_doc
import storyline.store.sqlite as store_module
from storyline.store.sqlite import SQLiteStore

die_inside = int(sys.argv[2])
if die_inside >= 0:
    # Die inside the transaction of document number die_inside, after its row is written.
    insert = store_module._insert_document
    def insert_then_die(conn, doc, *args):
        seq = insert(conn, doc, *args)
        if doc.origin == f"feed/{{die_inside}}.txt":
            os.kill(os.getpid(), signal.SIGKILL)
        return seq
    store_module._insert_document = insert_then_die

from storyline.pipeline.duplicates import store_document

with SQLiteStore(sys.argv[1]) as store:
    for i in range({total}):
        store_document(store, make_doc(i))
        print(i, flush=True)
"""


def _start_ingest(db: Path, die_inside: int = -1) -> subprocess.Popen[str]:
    code = _INGEST.format(tests=str(Path(__file__).parent), total=KILL_TOTAL)
    return subprocess.Popen(
        [sys.executable, "-c", code, str(db), str(die_inside)], stdout=subprocess.PIPE, text=True
    )


def _check_consistent(db: Path) -> int:
    """Integrity ok, every stored document whole and equal to its input; returns the count."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    with SQLiteStore(db) as store:
        docs = list(store.iter_documents())
        assert store.count() == len(docs)
    assert [d.id for d in docs] == [f"S{n}" for n in range(1, len(docs) + 1)]
    assert len(sketch_rows(db)) == len(docs)  # each sketch committed with its document
    for n, doc in enumerate(docs):
        assert stored_fields(doc) == stored_fields(make_doc(n))  # the ingest adds in order
        assert doc.content_hash == content_hash(doc.text)
    return len(docs)


def _finish_ingest(db: Path, already: int) -> None:
    with SQLiteStore(db) as store:
        results = [store_document(store, make_doc(i)) for i in range(KILL_TOTAL)]
    assert sum(r.created for r in results) == KILL_TOTAL - already
    assert _check_consistent(db) == KILL_TOTAL


def test_ingest_killed_mid_way_leaves_a_consistent_database(sqlite_db: Path) -> None:
    process = _start_ingest(sqlite_db)
    assert process.stdout is not None
    for line in process.stdout:
        if int(line) >= 300:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    stored = _check_consistent(sqlite_db)
    assert 300 < stored < KILL_TOTAL
    _finish_ingest(sqlite_db, stored)


def test_ingest_killed_inside_a_transaction_rolls_it_back(sqlite_db: Path) -> None:
    process = _start_ingest(sqlite_db, die_inside=200)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert Path(f"{sqlite_db}-wal").exists()  # the log was left behind by the dead writer ...
    assert _check_consistent(sqlite_db) == 200  # ... and document 200, written but uncommitted, is gone
    _finish_ingest(sqlite_db, 200)


def test_annotations_are_stored_with_their_document_and_round_trip(db: str) -> None:
    from storyline.model import Quote

    doc = make_doc(1)
    first_sentence = Sentence(0, 10, doc.text[:10])
    quote = Quote("Ada Vell", 0, 8, "said", doc.text[12:20], 12, 20, True)
    doc.annotations = Annotations(sentences=[first_sentence], quotes=[quote])
    with open_store(db) as store:
        added = store.add_document(doc)
        stored = next(store.iter_documents(with_annotations=True))
        assert stored.annotations == doc.annotations
        assert next(store.iter_documents()).annotations is None  # only loaded when asked
        store.save_annotations(added.id, Annotations())
        assert store.get_many([added.id], with_annotations=True)[0].annotations == Annotations()


def test_search_hits_carry_the_matched_spans_of_their_sentence(db: str) -> None:
    text = "The ferry runs daily. Ferries & bridges: the bridge <closes> at noon, ferry or not."
    doc = doc_of("a.txt", text)
    doc.annotations = Annotations(sentences=[Sentence(0, 21, text[:21]), Sentence(22, len(text), text[22:])])
    with open_store(db) as store:
        store.add_document(doc)
        hits = store.search("bridge ferry")
    assert [(h.source, h.start, h.end) for h in hits] == [("S1", 22, len(text))]
    (hit,) = hits
    assert hit.text == text[22:]
    assert [hit.text[start:end] for start, end in hit.matches] == ["Ferries", "bridges", "bridge", "ferry"]


def test_search_ranks_at_most_rank_candidates_matches_the_newest_the_story_filter_first(
        db: str) -> None:
    texts = ["Ferry after ferry after ferry left the Orvik pier at dawn."]  # ranked first
    texts += [f"The ferry left pier {n} of Orvik at dawn." for n in range(1, 4)]
    with open_store(db) as store:
        for number, text in enumerate(texts):
            store.add_document(doc_of(f"{number}.txt", text, annotations=Annotations(
                sentences=[Sentence(0, len(text), text)])))
        story = store.create_story("the first crossings").id
        store.add_to_story(story, ["S1", "S2"])
        # Equal ranks: the newer first.
        assert [hit.source for hit in store.search("ferry")] == ["S1", "S4", "S3", "S2"]
        rules = store._search_rules  # type: ignore[attr-defined]  # both stores keep theirs
        store._search_rules = dataclasses.replace(rules, rank_candidates=2)  # type: ignore[attr-defined]
        everywhere = store.search("ferry")
        in_story = [hit.source for hit in store.search("ferry", story=story)]
    # The newest 2 matches are ranked, S1 (the best, the earliest stored) not among them.
    assert [hit.source for hit in everywhere] == ["S4", "S3"]
    assert [everywhere[0].text[start:end] for start, end in everywhere[0].matches] == ["ferry"]
    assert in_story == ["S1", "S2"]  # the story's documents are the candidates, not S3 and S4


@pytest.mark.parametrize("analysed", [True, False])
@pytest.mark.parametrize("matching, after", [(40, 0), (60, 10), (30, 30)])
def test_search_ranks_the_newest_matches_however_the_index_is_read(
        db: str, monkeypatch: pytest.MonkeyPatch, matching: int, after: int, analysed: bool
) -> None:
    """Documents 1 to ``matching`` say "ferry" (the first the best match), the ``after``
    documents stored after them do not: the 5 ranked are the newest 5 matches. On PostgreSQL a
    query is asked within the newest documents first (enough there; too few, then enough in a
    wider window; too few, then the whole store), the window sized from the planner's estimate
    once ANALYZE has measured the words (``analysed``; else from the store's size alone) and
    walked backward or read through the GIN index."""
    texts = ["Ferry after ferry after ferry left the Orvik pier at dawn."]
    texts += [f"The ferry left pier {n} of Orvik at dawn." for n in range(2, matching + 1)]
    texts += [f"The bridge closed at gate {n} of Orvik at noon." for n in range(after)]
    newest = [f"S{number}" for number in range(matching, matching - 5, -1)]
    with open_store(db) as store:
        if is_postgres(db):  # no statistics but those the test makes
            sql_rows(db, "ALTER TABLE sentences SET (autovacuum_enabled = false)")
        for number, text in enumerate(texts):
            store.add_document(doc_of(f"{number}.txt", text, annotations=Annotations(
                sentences=[Sentence(0, len(text), text)])))
        if is_postgres(db) and analysed:
            sql_rows(db, "ANALYZE sentences")
        rules = store._search_rules  # type: ignore[attr-defined]  # both stores keep theirs
        store._search_rules = dataclasses.replace(rules, rank_candidates=5)  # type: ignore[attr-defined]
        for walk_share in (0.0, 2.0):  # every window walked, or none (PostgreSQL's choice)
            monkeypatch.setattr(postgres_module, "WALK_SHARE", walk_share)
            assert [hit.source for hit in store.search("ferry")] == newest, walk_share
            assert [hit.source for hit in store.search("ferry", limit=2)] == newest[:2]
            assert store.search("bridge ferry") == []


def test_a_window_too_narrow_grows_by_what_the_missing_matches_need() -> None:
    """A window of 1,000 documents that held 4,000 of 5,000 wanted matches adds the documents
    that should hold the missing 1,000 with the margin (1,000 x 1.25 x 1,000 / 4,000 = 313),
    not twice its width: the search asks only what it adds (the rest it found already). At
    least a quarter of it is added, so a nearly full window still grows by whole rounds; four
    times it when none were found; the whole store (None) past half of it."""
    window = postgres_module._Window(first=99_001, last=100_000, wanted=5000)
    margin = postgres_module.WINDOW_MARGIN
    added = math.ceil(1000 * margin * 1000 / 4000)
    assert window.widened(4000) == postgres_module._Window(100_000 - 1000 - added + 1, 100_000, 5000)
    assert window.widened(4990) == postgres_module._Window(100_000 - 1250 + 1, 100_000, 5000)
    assert window.widened(0) == postgres_module._Window(100_000 - 4000 + 1, 100_000, 5000)
    assert postgres_module._Window(60_001, 100_000, 5000).widened(100) is None


COMPOUND_SPELLINGS = ("ceasefire", "cease-fire", "cease fire")


@pytest.mark.parametrize("query", [*COMPOUND_SPELLINGS, '"cease fire"', "Ceasefire talks"])
def test_search_finds_a_compound_in_every_spelling(db: str, query: str) -> None:
    texts = [f"The {spelling} talks in Orvik held until dawn on day {day}."  # distinct contents
             for day, spelling in enumerate(COMPOUND_SPELLINGS, start=1)]
    texts.append("The fire at the old mill did not cease until dawn.")  # both words, apart
    with open_store(db) as store:
        for number, text in enumerate(texts):
            doc = doc_of(f"{number}.txt", text)
            doc.annotations = Annotations(sentences=[Sentence(0, len(text), text)])
            store.add_document(doc)
        hits = store.search(query)
    found = {hit.source for hit in hits}
    assert {"S1", "S2", "S3"} <= found, (query, [h.text for h in hits])
    phrase_only = query.startswith('"') or "-" in query or query.lower() == "ceasefire"
    assert ("S4" in found) == (not phrase_only and query != "Ceasefire talks"), query
    for hit in hits:  # the marks cover the compound as written there
        marked = " ".join(hit.text[start:end] for start, end in hit.matches).lower()
        assert "cease" in marked or hit.source == "S4", (query, hit)


def test_search_splits_a_word_only_into_words_the_index_holds_as_a_phrase(db: str) -> None:
    text = "The therapist and the rapist were both called as witnesses in Orvik."
    other = "A peace keeping force reached the valley of Orvik on Monday."
    with open_store(db) as store:
        for name, body in (("a.txt", text), ("b.txt", other)):
            doc = doc_of(name, body)
            doc.annotations = Annotations(sentences=[Sentence(0, len(body), body)])
            store.add_document(doc)
        therapist = store.search("therapist")
        peacekeeping = store.search("peacekeeping")
    # "the" is no part of a compound: the hit is the word itself, not "the rapist"
    assert [(h.source, [h.text[s:e] for s, e in h.matches]) for h in therapist] == [("S1", ["therapist"])]
    assert [h.source for h in peacekeeping] == ["S2"]


def test_the_change_token_moves_with_every_write_of_any_connection(db: str) -> None:
    with open_store(db) as reader, open_store(db) as writer:
        first = reader.change_token()
        reader.stories()
        assert reader.change_token() == first, "reading changes nothing"
        writer.create_story("Harbour cranes")
        second = reader.change_token()
        assert second != first, "another connection's write"
        reader.create_story("Orchard frost")
        assert reader.change_token() != second, "its own write"
        assert writer.change_token() != reader.change_token(), "two connections never share a token"


def test_a_document_filed_right_after_a_briefing_counts_as_filed_after_it(db: str) -> None:
    """'What is new since the last briefing' compares filing times with the briefing's time,
    taken to the microsecond: a filing time cut to the second would fall before a briefing made
    earlier in the same second, and its document would never be shown as new."""
    from datetime import datetime, timezone

    from storyline.store import DetectionUpdate

    with open_store(db) as store:
        first, second = (store.add_document(make_doc(i)).id for i in (1, 2))
        created = store.save_detection(DetectionUpdate(
            members={}, assignments={first: -1}, new_stories={-1: "A story"}, merged={},
            profiles={}, vocabulary={}))
        story = created[-1]
        briefed = datetime.now(timezone.utc)
        store.mark_briefed(story, briefed.isoformat(timespec="microseconds"))
        store.save_detection(DetectionUpdate(members={}, assignments={second: story},
                                             new_stories={}, merged={}, profiles={}, vocabulary={}))
        filed = datetime.fromisoformat(store.story_document_times(story)[second].filed_at)
        assert filed > briefed
