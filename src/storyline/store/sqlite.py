"""Document storage behind one narrow interface: the ``Store`` protocol.

``open_store(url)`` gives a store for a path or ``sqlite:///path`` (PostgreSQL comes later, behind
the same protocol). ``SQLiteStore`` is the SQLite implementation:

* ids ``S1``, ``S2``, ... are the rows' ``AUTOINCREMENT`` keys: per database, in insertion order,
  never reused, and gap-free in practice because a rolled-back insert does not consume one;
* one ``BEGIN IMMEDIATE`` transaction per document: the write lock is taken before the duplicate
  checks, so two writers (processes or connections) can never both store the same content, and an
  ingest killed at any point leaves whole documents only (WAL journal, rollback on restart);
* the content hash is ``UNIQUE``: the same content is stored once. Seen again from another origin,
  that origin is appended to the document's ``also_at``; seen again from a known origin, nothing
  changes, so re-running an ingest adds nothing;
* a near duplicate (``storyline.story.dedupe``) is stored as its own document with ``duplicate_of`` set
  to the original, AND its origin is appended to the original's ``also_at``. Both origins stay
  visible from the original (a briefing that drops duplicates still knows every outlet that ran
  the story), and the copy keeps its own text for citations that point into it;
* schema migrations: an ordered ``MIGRATIONS`` list, recorded in ``schema_migrations`` (mirrored in
  ``PRAGMA user_version``), applied in one transaction when a store is opened.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from storyline.story.dedupe import Deduper
from storyline.errors import UsageError
from storyline.model import Annotations, Document
from storyline.outlets import Outlet

# Recorded with each stored annotation so a later annotator version can tell what to redo.
ANNOTATOR_VERSION = "storyline-annotate/1"
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for another writer's one-document transaction
DB_FILENAME = "storyline.db"
_ID_PATTERN = re.compile(r"S([1-9][0-9]*)")
_POSTGRES_SCHEMES = {"postgres", "postgresql"}


@dataclass(frozen=True)
class AddResult:
    """What ``add_document`` did.

    ``created``: a new document row was stored (a new original or a near duplicate). When False,
    ``id`` is the existing document holding the same content; ``origin_added`` tells whether the
    input's origin was new and got recorded in its ``also_at`` (a syndicated exact copy).
    ``duplicate_of``: the original this document is a near duplicate of (for an existing document:
    its stored value).
    """

    id: str
    created: bool
    duplicate_of: str | None = None
    origin_added: bool = False


@dataclass(frozen=True)
class StoryInfo:
    """A story: a named set of stored documents. ``period`` spans its documents' dates."""

    id: int
    name: str
    title: str | None
    documents: int
    period_start: str | None
    period_end: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class SearchHit:
    """One sentence found by ``search``: ``text == document.text[start:end]``; ``story`` is the
    first story holding the document (None when it is in none). ``marked`` is ``text`` with each
    matched term between ``SEARCH_MARK_OPEN`` and ``SEARCH_MARK_CLOSE``."""

    source: str
    story: int | None
    start: int
    end: int
    text: str
    marked: str


class Store(Protocol):
    """Where documents live. Every backend keeps these semantics (see the module docstring)."""

    def add_document(self, doc: Document) -> AddResult: ...

    def get(self, doc_id: str) -> Document | None: ...

    def documents(self, *, with_annotations: bool = False) -> list[Document]: ...

    def save_annotations(self, doc_id: str, annotations: Annotations) -> None: ...

    def find_by_hash(self, hash_: str) -> Document | None: ...

    def count(self) -> int: ...

    # outlets (see SQLiteStore's section of the same name)
    def add_outlet(self, outlet: Outlet) -> None: ...

    def outlets(self) -> list[Outlet]: ...

    def remove_outlet(self, name: str) -> bool: ...

    # stories and search (see SQLiteStore's section of the same name)
    def story(self, key: int | str) -> StoryInfo | None: ...

    def create_story(self, name: str, title: str | None = None) -> StoryInfo: ...

    def add_to_story(self, story: int, doc_ids: Sequence[str]) -> int: ...

    def stories(self) -> list[StoryInfo]: ...

    def story_documents(self, story: int, *, with_annotations: bool = False) -> list[Document]: ...

    def story_documents_key(self, story: int) -> str: ...

    def cached_briefing(self, story: int, words: int, documents_key: str) -> str | None: ...

    def save_briefing(
        self, story: int, words: int, documents_key: str, data: str, *, title: str | None = None
    ) -> None: ...

    def search(self, query: str, *, limit: int = 50, story: int | None = None) -> list[SearchHit]: ...

    def backfill_search(self) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


# --------------------------------------------------------------------------- locations and URLs


def default_db_location() -> Path:
    """``$XDG_DATA_HOME/storyline/storyline.db``, XDG's default being ``~/.local/share``."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says to ignore a relative value: it would depend on the working directory.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "storyline" / DB_FILENAME


def open_store(url: str | None = None) -> Store:
    """A store for ``url``: None (the default location), a path, or ``sqlite:///path``.

    ``sqlite:///rel/path.db`` is relative and ``sqlite:////abs/path.db`` absolute, as in
    SQLAlchemy. Raises ``UsageError`` for an unsupported URL or a file that cannot be opened.
    """
    return SQLiteStore(_sqlite_path(url))


def _sqlite_path(url: str | None) -> Path:
    if not url:
        return default_db_location()
    scheme, separator, rest = url.partition("://")
    if not separator:
        return Path(url).expanduser()
    scheme = scheme.lower().split("+")[0]  # "postgresql+psycopg" names a driver, not a backend
    if scheme == "sqlite":
        return _path_of_sqlite_url(url, rest)
    if scheme in _POSTGRES_SCHEMES:
        raise UsageError(
            f"PostgreSQL storage is not implemented yet ({url!r}); use a SQLite path or sqlite:///path"
        )
    raise UsageError(f"unsupported database URL {url!r}: use a file path or sqlite:///path")


def _path_of_sqlite_url(url: str, rest: str) -> Path:
    # "sqlite:///x.db" leaves "/x.db": the third slash separates the (empty) host from the path.
    path = rest[1:] if rest.startswith("/") else ""
    if not path or "?" in path:
        raise UsageError(f"bad SQLite URL {url!r}: expected sqlite:///path/to/file.db")
    return Path(path).expanduser()


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: Sequence[str]


MIGRATIONS: list[Migration] = [
    Migration(1, "documents and their origins", (
        """CREATE TABLE documents (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            origin TEXT NOT NULL,
            url TEXT,
            title TEXT,
            authors TEXT NOT NULL DEFAULT '[]',
            author_roles TEXT NOT NULL DEFAULT '{}',
            outlet TEXT,
            published TEXT,
            published_from TEXT,
            language TEXT,
            country TEXT,
            kind TEXT,
            words INTEGER NOT NULL DEFAULT 0,
            duplicate_of INTEGER REFERENCES documents(seq),
            boilerplate_removed_chars INTEGER NOT NULL DEFAULT 0,
            text TEXT NOT NULL,
            content_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX documents_origin ON documents(origin)",
        # Further origins of a stored document: exact copies ('exact', no row of their own) and
        # near duplicates ('near', stored as their own document too).
        """CREATE TABLE document_origins (
            id INTEGER PRIMARY KEY,
            document INTEGER NOT NULL REFERENCES documents(seq),
            origin TEXT NOT NULL,
            relation TEXT NOT NULL CHECK (relation IN ('exact', 'near')),
            created_at TEXT NOT NULL,
            UNIQUE (document, origin)
        )""",
        "CREATE INDEX document_origins_origin ON document_origins(origin)",
    )),
    Migration(2, "annotations of each document", (
        # One JSON blob per document: the annotate stage's output is read whole, never queried
        # field by field, so a blob keeps the schema stable while annotators evolve.
        """CREATE TABLE annotations (
            document INTEGER PRIMARY KEY REFERENCES documents(seq),
            annotator TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
    )),
    Migration(3, "stories, sentence search, cached briefings and user outlets", (
        # A story is a named set of documents (the web app's and `ingest --story`'s unit); a
        # document may belong to several stories.
        """CREATE TABLE stories (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            title TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE story_documents (
            story INTEGER NOT NULL REFERENCES stories(id),
            document INTEGER NOT NULL REFERENCES documents(seq),
            added_at TEXT NOT NULL,
            PRIMARY KEY (story, document)
        )""",
        "CREATE INDEX story_documents_document ON story_documents(document)",
        # Full-text search over annotated sentences; offsets point into the document's text.
        """CREATE VIRTUAL TABLE sentences_fts USING fts5(
            text, document UNINDEXED, start UNINDEXED, end UNINDEXED,
            tokenize = 'porter unicode61'
        )""",
        # A briefing is costly (seconds); the web app serves the last one made for the story's
        # current documents (``documents_key``) and words, and makes a new one when they change.
        """CREATE TABLE briefings (
            story INTEGER NOT NULL REFERENCES stories(id),
            words INTEGER NOT NULL,
            documents_key TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (story, words)
        )""",
        # Outlets the user adds (`storyline outlets add`); they take precedence over the packaged
        # registry.
        """CREATE TABLE outlets (
            name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
            domains TEXT NOT NULL DEFAULT '[]',
            country TEXT,
            ownership TEXT,
            -- other names the outlet is cited by (`storyline outlets add --alias`), a JSON list
            aliases TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL
        )""",
    )),
]
LATEST_VERSION = MIGRATIONS[-1].version

_COLUMNS = (
    "origin", "url", "title", "authors", "author_roles", "outlet", "published", "published_from",
    "language", "country", "kind", "words", "duplicate_of", "boilerplate_removed_chars", "text",
    "content_hash", "created_at",
)
_JSON_COLUMNS = {"authors", "author_roles"}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _doc_id(seq: int) -> str:
    return f"S{seq}"


def _seq(doc_id: str | None) -> int | None:
    match = _ID_PATTERN.fullmatch(doc_id or "")
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- SQLite


class SQLiteStore:
    """The SQLite ``Store``. One connection; use one store per thread (sqlite3's rule)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = self._connect(self.path)
        self._deduper = Deduper()
        self._synced_seq = 0  # the deduper has seen every document up to this seq

    # -- opening

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, the module adds nothing.
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"cannot open database {path}: {exc}") from exc
        try:
            _configure(conn)
            _migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise UsageError(f"cannot use database {path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- transactions

    @contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """BEGIN ... COMMIT, rolled back on any error (also KeyboardInterrupt)."""
        self._conn.execute(f"BEGIN {mode}")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # -- writing

    def add_document(self, doc: Document) -> AddResult:
        """Store ``doc`` in one transaction; ``doc.id``, ``duplicate_of`` and ``also_at`` are ignored
        (the store decides them). ``doc`` itself is not modified."""
        fingerprint = self._deduper.fingerprint(doc.text)
        with self._transaction() as conn:
            self._sync_deduper(conn)  # other connections may have added documents meanwhile
            existing = conn.execute(
                "SELECT seq, origin, duplicate_of FROM documents WHERE content_hash = ?",
                (fingerprint.content_hash,),
            ).fetchone()
            if existing is not None:
                if doc.annotations is not None:
                    _save_annotations(conn, existing[0], doc.annotations, replace=False)
                return _add_origin_to_existing(conn, existing, doc.origin)
            original = self._deduper.match(fingerprint)
            seq = _insert_document(conn, doc, fingerprint.content_hash, _seq(original))
            if doc.annotations is not None:
                _save_annotations(conn, seq, doc.annotations, replace=True)
            if original is not None:
                _record_origin(conn, _seq(original), doc.origin, "near")
        # Only after COMMIT: a rolled-back document must not stay in the in-memory index.
        self._deduper.insert(_doc_id(seq), fingerprint, is_duplicate=original is not None)
        self._synced_seq = max(self._synced_seq, seq)
        return AddResult(_doc_id(seq), created=True, duplicate_of=original)

    def _sync_deduper(self, conn: sqlite3.Connection) -> None:
        """Index the documents stored since the last sync: all of them on first use (restoring
        dedupe across runs), then whatever other connections added."""
        rows = conn.execute(
            "SELECT seq, text, duplicate_of FROM documents WHERE seq > ? ORDER BY seq",
            (self._synced_seq,),
        )
        for seq, text, duplicate_of in rows:
            original = _doc_id(duplicate_of) if duplicate_of is not None else None
            self._deduper.remember(_doc_id(seq), text, original)
            self._synced_seq = seq

    # -- reading

    def get(self, doc_id: str) -> Document | None:
        seq = _seq(doc_id)
        if seq is None:
            return None
        return self._select_one("WHERE seq = ?", (seq,))

    def find_by_hash(self, hash_: str) -> Document | None:
        """The document whose ``content_hash`` (``storyline.story.dedupe.content_hash``) is ``hash_``."""
        return self._select_one("WHERE content_hash = ?", (hash_,))

    def documents(self, *, with_annotations: bool = False) -> list[Document]:
        """Every document, in insertion order (S1, S2, ...), annotations attached if asked."""
        with self._transaction("DEFERRED") as conn:  # one snapshot for all queries
            rows = conn.execute(f"SELECT seq, {', '.join(_COLUMNS)} FROM documents ORDER BY seq")
            docs = [_row_to_document(row) for row in rows]
            origins = _origins_by_document(conn)
            annotations = _load_annotations(conn) if with_annotations else {}
        for doc in docs:
            doc.also_at = origins.get(doc.id or "", [])
            doc.annotations = annotations.get(doc.id or "")
        return docs

    def save_annotations(self, doc_id: str, annotations: Annotations) -> None:
        """Attach (or replace) the annotations of a stored document."""
        seq = _seq(doc_id)
        if seq is None:
            raise KeyError(doc_id)
        with self._transaction() as conn:
            _save_annotations(conn, seq, annotations, replace=True)

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM documents").fetchone()[0])

    def _select_one(self, where: str, params: tuple[Any, ...]) -> Document | None:
        with self._transaction("DEFERRED") as conn:
            sql = f"SELECT seq, {', '.join(_COLUMNS)} FROM documents {where}"
            row = conn.execute(sql, params).fetchone()
            if row is None:
                return None
            doc = _row_to_document(row)
            doc.also_at = _origins_by_document(conn, row[0]).get(doc.id or "", [])
        return doc

    # -- stories and search

    def story(self, key: int | str) -> StoryInfo | None:
        """The story with id ``key`` (an int, or a string of digits) or, failing that, named ``key``."""
        if isinstance(key, int) or key.isdigit():
            found = self._stories("WHERE s.id = ?", (int(key),))
            if found or isinstance(key, int):
                return found[0] if found else None
        found = self._stories("WHERE s.name = ?", (" ".join(str(key).split()),))
        return found[0] if found else None

    def create_story(self, name: str, title: str | None = None) -> StoryInfo:
        """The story named ``name`` (spaces normalised), created if there is none yet."""
        clean = " ".join(name.split())
        if not clean:
            raise UsageError("a story needs a name")
        now = _now()
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO stories (name, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (clean, title, now, now),
            )
        return self._stories("WHERE s.name = ?", (clean,))[0]

    def add_to_story(self, story: int, doc_ids: Sequence[str]) -> int:
        """Put stored documents into a story; returns how many were not in it yet."""
        seqs = [seq for seq in map(_seq, doc_ids) if seq is not None]
        now = _now()
        added = 0
        with self._transaction() as conn:
            for seq in seqs:
                try:
                    cursor = conn.execute(
                        "INSERT OR IGNORE INTO story_documents (story, document, added_at) VALUES (?, ?, ?)",
                        (story, seq, now),
                    )
                except sqlite3.IntegrityError as exc:  # foreign key: no such story or document
                    raise KeyError(f"no story {story} or no document {_doc_id(seq)}") from exc
                added += cursor.rowcount
            if added:
                conn.execute("UPDATE stories SET updated_at = ? WHERE id = ?", (now, story))
        return added

    def stories(self) -> list[StoryInfo]:
        """Every story, the most recently changed first."""
        return self._stories("", ())

    def story_documents(self, story: int, *, with_annotations: bool = False) -> list[Document]:
        """The documents of a story in insertion order (S-id order), annotations attached if asked."""
        members = "SELECT document FROM story_documents WHERE story = ?"
        with self._transaction("DEFERRED") as conn:
            rows = conn.execute(
                f"SELECT seq, {', '.join(_COLUMNS)} FROM documents WHERE seq IN ({members}) ORDER BY seq",
                (story,),
            )
            docs = [_row_to_document(row) for row in rows]
            origins = _origins_by_document(conn, members=(members, story))
            annotations = _load_annotations(conn, members=(members, story)) if with_annotations else {}
        for doc in docs:
            doc.also_at = origins.get(doc.id or "", [])
            doc.annotations = annotations.get(doc.id or "")
        return docs

    def story_documents_key(self, story: int) -> str:
        """A fingerprint of a story's documents and their annotations: it changes when a document
        is added or re-annotated, which is when a cached briefing goes stale."""
        rows = self._conn.execute(
            "SELECT sd.document, a.annotator, a.created_at, length(a.data) FROM story_documents sd"
            " LEFT JOIN annotations a ON a.document = sd.document WHERE sd.story = ? ORDER BY sd.document",
            (story,),
        ).fetchall()
        return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:32]

    def cached_briefing(self, story: int, words: int, documents_key: str) -> str | None:
        """The stored briefing JSON of ``story`` at ``words`` if made from ``documents_key``."""
        row = self._conn.execute(
            "SELECT data FROM briefings WHERE story = ? AND words = ? AND documents_key = ?",
            (story, words, documents_key),
        ).fetchone()
        return row[0] if row else None

    def save_briefing(
        self, story: int, words: int, documents_key: str, data: str, *, title: str | None = None
    ) -> None:
        """Keep a story's briefing JSON (one per story and length); ``title`` becomes the story's."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO briefings (story, words, documents_key, data, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (story, words, documents_key, data, _now()),
            )
            if title:
                conn.execute("UPDATE stories SET title = ? WHERE id = ?", (title, story))

    def search(self, query: str, *, limit: int = 50, story: int | None = None) -> list[SearchHit]:
        """Sentences matching every word (or "quoted phrase") of ``query``, best first (BM25).
        Search syntax characters in ``query`` are taken literally, never as FTS5 operators."""
        expression = fts_expression(query)
        if not expression:
            return []
        sql = (
            "SELECT document, start, \"end\", text, highlight(sentences_fts, 0, ?, ?),"
            " (SELECT min(story) FROM story_documents WHERE document = sentences_fts.document)"
            " FROM sentences_fts WHERE sentences_fts MATCH ?"
        )
        params: list[Any] = [SEARCH_MARK_OPEN, SEARCH_MARK_CLOSE, expression]
        if story is not None:
            sql += " AND document IN (SELECT document FROM story_documents WHERE story = ?)"
            params.append(story)
        sql += " ORDER BY rank LIMIT ?"
        params.append(limit)
        rows = self._conn.execute(sql, params).fetchall()
        return [
            SearchHit(_doc_id(seq), found_in, start, end, text, marked)
            for seq, start, end, text, marked, found_in in rows
        ]

    def backfill_search(self) -> int:
        """Index the sentences of annotated documents that have none in the search index (stores
        made before sentence search existed); returns how many documents were indexed."""
        rows = self._conn.execute(
            "SELECT document FROM annotations a WHERE NOT EXISTS (SELECT 1 FROM sentences_fts"
            " WHERE rowid BETWEEN a.document * ? AND a.document * ? + ? - 1)",
            (FTS_ROWS_PER_DOCUMENT, FTS_ROWS_PER_DOCUMENT, FTS_ROWS_PER_DOCUMENT),
        ).fetchall()
        for (seq,) in rows:
            with self._transaction() as conn:
                data = conn.execute("SELECT data FROM annotations WHERE document = ?", (seq,)).fetchone()
                if data is not None:
                    _index_sentences(conn, seq, Annotations.from_dict(json.loads(data[0])))
        return len(rows)

    def _stories(self, where: str, params: tuple[Any, ...]) -> list[StoryInfo]:
        rows = self._conn.execute(
            "SELECT s.id, s.name, s.title, count(d.seq), min(d.published), max(d.published),"
            " s.created_at, s.updated_at FROM stories s"
            " LEFT JOIN story_documents sd ON sd.story = s.id LEFT JOIN documents d ON d.seq = sd.document"
            f" {where} GROUP BY s.id ORDER BY s.updated_at DESC, s.id DESC",
            params,
        ).fetchall()
        return [StoryInfo(*row) for row in rows]


    # -- outlets (the user's own registry entries; ``storyline.outlets`` merges them with the
    # packaged list, and they take precedence)

    def add_outlet(self, outlet: Outlet) -> None:
        """Store ``outlet``, replacing a stored outlet of the same name (case-insensitive)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO outlets (name, domains, aliases, country, ownership, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET name = excluded.name,"
                " domains = excluded.domains, aliases = excluded.aliases,"
                " country = excluded.country, ownership = excluded.ownership",
                (outlet.name, json.dumps(list(outlet.domains), ensure_ascii=False),
                 json.dumps(list(outlet.aliases), ensure_ascii=False), outlet.country,
                 outlet.ownership, _now()),
            )

    def outlets(self) -> list[Outlet]:
        """The user's outlets, in the order they were first added."""
        rows = self._conn.execute(
            "SELECT name, domains, aliases, country, ownership FROM outlets ORDER BY rowid"
        ).fetchall()
        return [
            Outlet(name, tuple(json.loads(domains)), tuple(json.loads(aliases)), country, ownership)
            for name, domains, aliases, country, ownership in rows
        ]

    def remove_outlet(self, name: str) -> bool:
        """Forget the user's outlet ``name`` (case-insensitive); False when there was none."""
        with self._transaction() as conn:
            return conn.execute("DELETE FROM outlets WHERE name = ?", (" ".join(name.split()),)).rowcount > 0


# --------------------------------------------------------------------------- SQL helpers


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # WAL: readers never block the writer, and a killed writer's partial transaction is simply
    # not in the log's committed part. synchronous=NORMAL is safe against a killed process (an
    # OS crash may lose the last commits, never consistency).
    _switch_to_wal(conn)
    conn.execute("PRAGMA synchronous = NORMAL")


WAL_SWITCH_TRIES = 50


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """Switching a fresh database to WAL needs an exclusive lock, and SQLite does not call the
    busy handler for it: when two processes open a new database at once, the loser is told
    "database is locked" at once. Retry for a while instead of failing."""
    for attempt in range(WAL_SWITCH_TRIES):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_TRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply the pending migrations in one transaction (none pending: no write lock taken)."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        _apply_migrations(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _apply_migrations(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    # Read under the write lock: a concurrent opener may have just migrated.
    applied = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
    if applied > LATEST_VERSION:
        raise UsageError(
            f"database schema version {applied} is newer than this Storyline "
            f"(knows up to {LATEST_VERSION}): upgrade Storyline"
        )
    for migration in MIGRATIONS:
        if migration.version > applied:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, _now()),
            )
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION}")


def _insert_document(
    conn: sqlite3.Connection, doc: Document, hash_: str, duplicate_of: int | None
) -> int:
    values: dict[str, Any] = {
        name: getattr(doc, name) for name in _COLUMNS if name not in {"content_hash", "created_at"}
    }
    values.update(content_hash=hash_, created_at=_now(), duplicate_of=duplicate_of)
    for name in _JSON_COLUMNS:
        values[name] = json.dumps(values[name], ensure_ascii=False)
    placeholders = ", ".join("?" for _ in _COLUMNS)
    cursor = conn.execute(
        f"INSERT INTO documents ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
        [values[name] for name in _COLUMNS],
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _add_origin_to_existing(
    conn: sqlite3.Connection, existing: tuple[int, str, int | None], origin: str
) -> AddResult:
    seq, first_origin, duplicate_of = existing
    added = origin != first_origin and _record_origin(conn, seq, origin, "exact")
    dup = _doc_id(duplicate_of) if duplicate_of is not None else None
    return AddResult(_doc_id(seq), created=False, duplicate_of=dup, origin_added=added)


def _record_origin(conn: sqlite3.Connection, seq: int | None, origin: str, relation: str) -> bool:
    """Append ``origin`` to document ``seq``'s ``also_at`` unless it is already known there."""
    assert seq is not None
    first = conn.execute("SELECT origin FROM documents WHERE seq = ?", (seq,)).fetchone()
    if first is None or first[0] == origin:
        return False
    cursor = conn.execute(
        "INSERT OR IGNORE INTO document_origins (document, origin, relation, created_at)"
        " VALUES (?, ?, ?, ?)",
        (seq, origin, relation, _now()),
    )
    return cursor.rowcount > 0


def _save_annotations(
    conn: sqlite3.Connection, seq: int, annotations: Annotations, *, replace: bool
) -> None:
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
    cursor = conn.execute(
        f"{verb} INTO annotations (document, annotator, data, created_at) VALUES (?, ?, ?, ?)",
        (seq, ANNOTATOR_VERSION, json.dumps(annotations.to_dict(), ensure_ascii=False), _now()),
    )
    if cursor.rowcount:  # stored (not ignored): the search index follows the annotations
        _index_sentences(conn, seq, annotations)


def _load_annotations(
    conn: sqlite3.Connection, *, members: tuple[str, Any] | None = None
) -> dict[str, Annotations]:
    if members is None:
        rows = conn.execute("SELECT document, data FROM annotations")
    else:  # only the documents the subquery ``members[0]`` (one parameter) selects
        rows = conn.execute(
            f"SELECT document, data FROM annotations WHERE document IN ({members[0]})", (members[1],)
        )
    return {_doc_id(seq): Annotations.from_dict(json.loads(data)) for seq, data in rows}


# Search rows of document ``seq`` have rowids seq * N ... seq * N + N - 1 (N: more sentences than
# the largest input can hold), so one document's rows are found and replaced by a rowid range;
# the ``document`` column is UNINDEXED, and filtering on it would scan the whole index.
FTS_ROWS_PER_DOCUMENT = 10_000_000
# Around each matched term in ``SearchHit.marked``; control characters never occur in clean text.
SEARCH_MARK_OPEN, SEARCH_MARK_CLOSE = "\x02", "\x03"
_SEARCH_TERM = re.compile(r'"([^"]*)"|([^\s"]+)')
_WORD_CHARS = re.compile(r"\w+")


def fts_expression(query: str) -> str:
    """A user's query as an FTS5 expression: every word must occur, "quoted words" as a phrase.
    Each word is quoted, so operators (AND, NEAR, *, :, ^) and stray quotes are plain text."""
    parts = []
    for phrase, word in _SEARCH_TERM.findall(query):
        words = _WORD_CHARS.findall(phrase or word)
        if words:
            parts.append('"' + " ".join(words) + '"')
    return " ".join(parts)


def _index_sentences(conn: sqlite3.Connection, seq: int, annotations: Annotations) -> None:
    """Replace document ``seq``'s rows in the sentence search index."""
    first = seq * FTS_ROWS_PER_DOCUMENT
    conn.execute(
        "DELETE FROM sentences_fts WHERE rowid BETWEEN ? AND ?", (first, first + FTS_ROWS_PER_DOCUMENT - 1)
    )
    conn.executemany(
        "INSERT INTO sentences_fts (rowid, text, document, start, \"end\") VALUES (?, ?, ?, ?, ?)",
        [(first + i, s.text, seq, s.start, s.end) for i, s in enumerate(annotations.sentences)],
    )


def _origins_by_document(
    conn: sqlite3.Connection, seq: int | None = None, *, members: tuple[str, Any] | None = None
) -> dict[str, list[str]]:
    if members is not None:
        rows = conn.execute(
            f"SELECT document, origin FROM document_origins WHERE document IN ({members[0]}) ORDER BY id",
            (members[1],),
        )
    elif seq is None:
        rows = conn.execute("SELECT document, origin FROM document_origins ORDER BY id")
    else:
        rows = conn.execute(
            "SELECT document, origin FROM document_origins WHERE document = ? ORDER BY id", (seq,)
        )
    origins: dict[str, list[str]] = {}
    for document, origin in rows:
        origins.setdefault(_doc_id(document), []).append(origin)
    return origins


def _row_to_document(row: Sequence[Any]) -> Document:
    values = dict(zip(_COLUMNS, row[1:]))
    for name in _JSON_COLUMNS:
        values[name] = json.loads(values[name])
    duplicate_of = values["duplicate_of"]
    values["duplicate_of"] = _doc_id(duplicate_of) if duplicate_of is not None else None
    del values["created_at"]  # not a Document field (yet); kept in the row
    return Document(id=_doc_id(row[0]), **values)
