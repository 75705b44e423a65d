"""The SQLite store, on real database files: ids, round trips, dedupe, migrations, WAL,
concurrency, and an ingest killed half-way."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import storyline.store.sqlite as store_module
from storyline.story.dedupe import content_hash
from storyline.errors import UsageError
from storyline.model import Document
from storyline.store.sqlite import (
    LATEST_VERSION,
    MIGRATIONS,
    Migration,
    SQLiteStore,
    default_db_location,
    open_store,
)

from test_dedupe import LIGHT_EDIT, OTHER_OUTLET, SYNDICATED, UPDATE, WIRE

SYLLABLES = "ka lo mi ne ru sa te vo bi da fe gu ha jo li mo nu pe ri so tu ve wa xi yo zu".split()


def make_doc(i: int) -> Document:
    """Document number ``i`` of an invented feed: distinct texts, every field set."""
    rng = random.Random(i)
    words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(80)]
    return Document(
        origin=f"feed/{i}.txt",
        text=" ".join(words[:40]) + ".\n\n" + " ".join(words[40:]) + ".",
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
    )


def stored_fields(doc: Document) -> dict[str, object]:
    """The fields the caller gives (the store decides id, duplicate_of, also_at, content_hash)."""
    data = doc.to_dict()
    for key in ("id", "duplicate_of", "also_at", "content_hash"):
        data.pop(key)
    return data


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "storyline.db"


# --------------------------------------------------------------------------- ids and round trip


def test_ids_are_sequential_per_database(db: Path, tmp_path: Path) -> None:
    with SQLiteStore(db) as store:
        assert [store.add_document(make_doc(i)).id for i in range(3)] == ["S1", "S2", "S3"]
        assert store.count() == 3
    with SQLiteStore(tmp_path / "other.db") as other:
        assert other.add_document(make_doc(9)).id == "S1"


def test_every_field_round_trips(db: Path) -> None:
    doc = make_doc(7)
    doc.title = "Caf\u00e9 \u201cquotes\u201d \u2014 \u65b0\u805e"
    doc.author_roles = {"Ana Li": "analyst, Institute \u00e0 Paris", "Bo": ""}
    doc.url = None
    with SQLiteStore(db) as store:
        result = store.add_document(doc)
        assert result.created and result.duplicate_of is None
    with SQLiteStore(db) as store:
        got = store.get(result.id)
        assert got is not None
        assert stored_fields(got) == stored_fields(doc)
        assert (got.id, got.duplicate_of, got.also_at) == ("S1", None, [])
        assert got.content_hash == content_hash(doc.text)
        assert store.documents() == [got]
        assert store.find_by_hash(content_hash(doc.text)) == got


def test_store_ignores_caller_ids_and_leaves_the_document_alone(db: Path) -> None:
    doc = make_doc(1)
    doc.id, doc.duplicate_of, doc.also_at = "S99", "S5", ["elsewhere"]
    with SQLiteStore(db) as store:
        assert store.add_document(doc).id == "S1"
        got = store.get("S1")
    assert got is not None and (got.duplicate_of, got.also_at) == (None, [])
    assert doc.id == "S99"


def test_unknown_ids_and_hashes_give_none(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.add_document(make_doc(1))
        assert store.get("S2") is None
        assert store.get("s1") is None and store.get("1") is None and store.get("S01") is None
        assert store.find_by_hash("0" * 64) is None


def test_created_at_is_stored(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.add_document(make_doc(1))
    with sqlite3.connect(db) as conn:
        (created_at,) = conn.execute("SELECT created_at FROM documents").fetchone()
    assert created_at.startswith("20") and created_at.endswith("+00:00")


# --------------------------------------------------------------------------- duplicates


def test_adding_the_same_input_twice_adds_nothing(db: Path) -> None:
    docs = [make_doc(i) for i in range(5)]
    with SQLiteStore(db) as store:
        first = [store.add_document(d) for d in docs]
        again = [store.add_document(d) for d in docs]
        assert all(r.created for r in first)
        assert [r.id for r in again] == [r.id for r in first]
        assert not any(r.created or r.origin_added for r in again)
        assert store.count() == 5
        assert all(d.also_at == [] for d in store.documents())


def test_exact_copy_from_another_origin_becomes_an_extra_origin(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.add_document(Document(origin="wire/a.txt", text=WIRE))
        # Same words; the typography is the syndicating site's.
        copy = WIRE.replace('"', "\u201c").replace("7-2", "7\u20132")
        result = store.add_document(Document(origin="https://partner.example/a", text=copy))
        assert (result.id, result.created, result.origin_added) == ("S1", False, True)
        again = store.add_document(Document(origin="https://partner.example/a", text=copy))
        assert (again.created, again.origin_added) == (False, False)
        assert store.count() == 1
        original = store.get("S1")
    assert original is not None
    assert original.text == WIRE and original.origin == "wire/a.txt"
    assert original.also_at == ["https://partner.example/a"]


def test_syndicated_copy_with_other_boilerplate_is_a_near_duplicate(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.add_document(Document(origin="wire/a.txt", text=WIRE, outlet="Wire"))
        store.add_document(Document(origin="other/b.txt", text=OTHER_OUTLET))
        result = store.add_document(Document(origin="partner/c.html", text=SYNDICATED, outlet="Partner"))
        assert (result.id, result.created, result.duplicate_of) == ("S3", True, "S1")
        assert store.add_document(Document(origin="partner/c.html", text=SYNDICATED)).created is False
        original, copy = store.get("S1"), store.get("S3")
    assert original is not None and copy is not None
    # Both origins stay visible: the copy has its own, and the original lists it.
    assert original.also_at == ["partner/c.html"] and original.duplicate_of is None
    assert (copy.origin, copy.duplicate_of, copy.outlet) == ("partner/c.html", "S1", "Partner")
    assert copy.text == SYNDICATED


def test_an_update_is_its_own_document(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.add_document(Document(origin="wire/a.txt", text=WIRE))
        result = store.add_document(Document(origin="wire/a-updated.txt", text=UPDATE))
        assert (result.created, result.duplicate_of) == (True, None)


def test_changed_page_at_the_same_origin_does_not_list_itself(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.add_document(Document(origin="https://wire.example/a", text=WIRE))
        result = store.add_document(Document(origin="https://wire.example/a", text=LIGHT_EDIT))
        assert (result.id, result.duplicate_of) == ("S2", "S1")
        original = store.get("S1")
    assert original is not None and original.also_at == []


def test_dedupe_works_across_runs(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.add_document(Document(origin="wire/a.txt", text=WIRE))
    with open_store(str(db)) as store:
        assert store.add_document(Document(origin="partner/c.html", text=SYNDICATED)).duplicate_of == "S1"
        assert store.add_document(Document(origin="copy/d.txt", text=SYNDICATED)).id == "S2"
        copy = store.get("S2")
    assert copy is not None and copy.also_at == ["copy/d.txt"]


def test_a_failed_add_leaves_nothing_behind(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteStore(db) as store:
        store.add_document(Document(origin="wire/a.txt", text=WIRE))

        def fail(*args: object) -> bool:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(store_module, "_record_origin", fail)
        with pytest.raises(RuntimeError):
            store.add_document(Document(origin="partner/c.html", text=SYNDICATED))
        monkeypatch.undo()
        assert store.count() == 1
        result = store.add_document(Document(origin="partner/c.html", text=SYNDICATED))
        assert (result.id, result.created, result.duplicate_of) == ("S2", True, "S1")


# --------------------------------------------------------------------------- schema, pragmas


def test_migrations_are_applied_once(db: Path) -> None:
    SQLiteStore(db).close()
    SQLiteStore(db).close()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
        assert rows == [(m.version, m.name) for m in MIGRATIONS]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    with SQLiteStore(db) as store:
        store.add_document(make_doc(1))
        assert store.count() == 1


def test_a_later_migration_is_applied_on_open(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteStore(db) as store:
        store.add_document(make_doc(1))
    extra = Migration(LATEST_VERSION + 1, "bookmarks", ("CREATE TABLE bookmarks (id INTEGER PRIMARY KEY)",))
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, extra])
    monkeypatch.setattr(store_module, "LATEST_VERSION", extra.version)
    with SQLiteStore(db) as store:
        assert store.count() == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == extra.version
        conn.execute("SELECT count(*) FROM bookmarks")


def test_a_failing_migration_changes_nothing(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Migration(1, "broken", ("CREATE TABLE documents (seq INTEGER)", "CREATE TABLE oops ("))
    monkeypatch.setattr(store_module, "MIGRATIONS", [broken])
    with pytest.raises(UsageError):
        SQLiteStore(db)
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "documents" not in tables


def test_a_newer_database_is_refused(db: Path) -> None:
    SQLiteStore(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(UsageError, match="newer"):
        SQLiteStore(db)


def test_wal_mode_foreign_keys_and_busy_timeout(db: Path) -> None:
    with SQLiteStore(db) as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == store_module.BUSY_TIMEOUT_MS
    with sqlite3.connect(db) as raw:  # WAL is a property of the file, not just of our connection
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


@pytest.mark.parametrize(
    "url", ["postgresql://u@localhost/storyline", "postgres://h/db", "postgresql+psycopg://h/db"]
)
def test_postgres_is_not_implemented_yet(url: str) -> None:
    with pytest.raises(UsageError, match="PostgreSQL storage is not implemented yet"):
        open_store(url)


@pytest.mark.parametrize("url", ["mysql://h/db", "sqlite://", "sqlite:///"])
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


def test_two_connections_share_ids_and_dedupe(db: Path) -> None:
    with SQLiteStore(db) as a, SQLiteStore(db) as b:
        assert a.add_document(Document(origin="wire/a.txt", text=WIRE)).id == "S1"
        assert b.add_document(make_doc(1)).id == "S2"
        # b never saw WIRE being added, yet finds it: it syncs under the write lock.
        assert b.add_document(Document(origin="partner/c.html", text=SYNDICATED)).duplicate_of == "S1"
        assert a.add_document(Document(origin="x/d.txt", text=SYNDICATED)).id == "S3"
        assert a.count() == b.count() == 3
        assert [d.id for d in a.documents()] == ["S1", "S2", "S3"]


def test_concurrent_writers_in_threads(db: Path) -> None:
    # Both threads also open (create, migrate, switch to WAL) the fresh database at once.
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            with SQLiteStore(db) as store:
                for i in range(offset, offset + 40):
                    store.add_document(make_doc(i % 60))  # 20 documents written by both threads
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in (0, 20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with SQLiteStore(db) as store:
        docs = store.documents()
    assert [d.id for d in docs] == [f"S{n}" for n in range(1, 61)]
    assert sorted(d.origin for d in docs) == sorted(f"feed/{i}.txt" for i in range(60))
    assert all(d.also_at == [] for d in docs)


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

with SQLiteStore(sys.argv[1]) as store:
    for i in range({total}):
        store.add_document(make_doc(i))
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
        docs = store.documents()
        assert store.count() == len(docs)
    assert [d.id for d in docs] == [f"S{n}" for n in range(1, len(docs) + 1)]
    for n, doc in enumerate(docs):
        assert stored_fields(doc) == stored_fields(make_doc(n))  # the ingest adds in order
        assert doc.content_hash == content_hash(doc.text)
    return len(docs)


def _finish_ingest(db: Path, already: int) -> None:
    with SQLiteStore(db) as store:
        results = [store.add_document(make_doc(i)) for i in range(KILL_TOTAL)]
    assert sum(r.created for r in results) == KILL_TOTAL - already
    assert _check_consistent(db) == KILL_TOTAL


def test_ingest_killed_mid_way_leaves_a_consistent_database(db: Path) -> None:
    process = _start_ingest(db)
    assert process.stdout is not None
    for line in process.stdout:
        if int(line) >= 300:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    stored = _check_consistent(db)
    assert 300 < stored < KILL_TOTAL
    _finish_ingest(db, stored)


def test_ingest_killed_inside_a_transaction_rolls_it_back(db: Path) -> None:
    process = _start_ingest(db, die_inside=200)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert Path(f"{db}-wal").exists()  # the log was left behind by the dead writer ...
    assert _check_consistent(db) == 200  # ... and document 200, written but uncommitted, is gone
    _finish_ingest(db, 200)


def test_annotations_are_stored_with_their_document_and_round_trip(db: Path) -> None:
    from storyline.model import Annotations, Quote, Sentence

    doc = make_doc(1)
    first_sentence = Sentence(0, 10, doc.text[:10])
    quote = Quote("Ada Vell", 0, 8, "said", doc.text[12:20], 12, 20, True)
    doc.annotations = Annotations(sentences=[first_sentence], quotes=[quote])
    with SQLiteStore(db) as store:
        added = store.add_document(doc)
        stored = store.documents(with_annotations=True)[0]
        assert stored.annotations == doc.annotations
        assert store.documents()[0].annotations is None  # only loaded when asked
        store.save_annotations(added.id, Annotations())
        assert store.documents(with_annotations=True)[0].annotations == Annotations()
