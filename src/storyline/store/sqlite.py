"""The SQLite backend of the storage interface (``storyline.store.base``), embedded by default.

``open_store(url)`` gives a store for a path or ``sqlite:///path`` (``storyline.store.open``
picks this backend or PostgreSQL's by the URL). ``SQLiteStore`` keeps the interface's semantics this way:

* ids ``S1``, ``S2``, ... are the rows' ``AUTOINCREMENT`` keys: per database, in insertion order,
  never reused, and gap-free in practice because a rolled-back insert does not consume one;
* one ``BEGIN IMMEDIATE`` transaction per document: the write lock is taken before the content
  hash is looked up and before a ``DuplicateCheck`` is compared with the newest stored document,
  so two writers (processes or connections) can never both store the same content nor both
  judge against a store the other changed, and an ingest killed at any point leaves whole
  documents only, with their sketches and annotations (WAL journal, rollback on restart);
* the content hash is ``UNIQUE``; a near duplicate's origin goes to the original's
  ``document_origins`` too (relation ``near``), an exact copy's origin only there (``exact``);
* schema migrations: an ordered ``MIGRATIONS`` list, recorded in ``schema_migrations`` (mirrored in
  ``PRAGMA user_version``), applied in one transaction when a store is opened; a migration may
  also bring existing rows up to date (the sentence search index of older stores).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from storyline.errors import UsageError
from storyline.model import Annotations, Document
from storyline.store._common import (
    ANNOTATOR_VERSION,
    apply_migrations,
    Cursor,
    COLUMNS as _COLUMNS,
    FTS5,
    MARK_CLOSE as _MARK_CLOSE,
    MARK_OPEN as _MARK_OPEN,
    Migration,
    SearchRules,
    SQLStore,
    default_db_location,
    doc_id as _doc_id,
    document_values,
    fts_expression,
    marked_spans as _marked_spans,
    now as _now,
    require_seq as _require_seq,
    seq_of as _seq,
    split_candidates,
)
from storyline.store.base import (
    ITER_CHUNK,
    DetectionUpdate,
    SearchHit,
    Sketch,
    Store,
)

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # not on Windows: writers in several processes there file unguarded
    fcntl = None

DETECTION_LOCK = "detection.lock"
WATCH_LOCK = "watch.lock"  # held by a running `storyline watch` (the file older releases locked too)
_Conn = sqlite3.Connection | sqlite3.Cursor  # both run statements alike
_FILE_LOCKS: dict[Path, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> threading.Lock:
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(path.resolve(), threading.Lock())


@contextmanager
def _flocked(path: Path, *, wait: bool) -> Iterator[bool]:
    """``flock`` on the file ``path`` for the block (it dies with its process); ``wait=False``:
    tried once, and the block told whether it was taken. Without ``flock`` (Windows): taken."""
    with open(path, "a+b") as handle:
        if fcntl is None:
            yield True
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for another writer's one-document transaction


# --------------------------------------------------------------------------- locations and URLs

# What a damaged database file raises while in use ("database disk image is malformed"): the
# faces catch it to say so in one line.
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """A store for ``url``: None (the default location), a path, or ``sqlite:///path``.

    ``sqlite:///rel/path.db`` is relative and ``sqlite:////abs/path.db`` absolute, as in
    SQLAlchemy. Raises ``UsageError`` for an unsupported URL or a file that cannot be opened,
    and, with ``create=False`` (commands that only read), for a database that does not exist:
    no folder or empty database is made for them.
    """
    path = _sqlite_path(url)
    if not create and not path.is_file():
        raise UsageError(f"no such database: {path}")
    return SQLiteStore(path)


def _sqlite_path(url: str | None) -> Path:
    if not url:
        return default_db_location()
    scheme, separator, rest = url.partition("://")
    if not separator:
        return Path(url).expanduser()
    scheme = scheme.lower().split("+")[0]  # "postgresql+psycopg" names a driver, not a backend
    if scheme == "sqlite":
        return _path_of_sqlite_url(url, rest)
    raise UsageError(f"unsupported database URL {url!r}: use a file path, sqlite:///path or "
                     "postgresql://user@host/db")


def _path_of_sqlite_url(url: str, rest: str) -> Path:
    # "sqlite:///x.db" leaves "/x.db": the third slash separates the (empty) host from the path.
    path = rest[1:] if rest.startswith("/") else ""
    if not path or "?" in path:
        raise UsageError(f"bad SQLite URL {url!r}: expected sqlite:///path/to/file.db")
    return Path(path).expanduser()


# --------------------------------------------------------------------------- schema


def _backfill_search(conn: sqlite3.Connection) -> None:
    """Index the sentences of annotated documents that have none in the search index (stores
    annotated before sentence search existed)."""
    rows = conn.execute(
        "SELECT document, data FROM annotations a WHERE NOT EXISTS (SELECT 1 FROM sentences_fts"
        " WHERE rowid BETWEEN a.document * ? AND a.document * ? + ? - 1)",
        (FTS_ROWS_PER_DOCUMENT, FTS_ROWS_PER_DOCUMENT, FTS_ROWS_PER_DOCUMENT),
    ).fetchall()
    for seq, data in rows:
        _index_sentences(conn, seq, Annotations.from_dict(json.loads(data)))


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
    Migration(4, "near-duplicate sketches", (
        # One sketch per document, opaque here (the pipeline's near-duplicate verdicts read them
        # instead of hashing every stored text again); ``kind`` names the method that made it.
        """CREATE TABLE sketches (
            document INTEGER PRIMARY KEY REFERENCES documents(seq),
            kind TEXT NOT NULL,
            data BLOB NOT NULL
        )""",
    )),
    Migration(5, "sentence search for documents annotated before it existed", (), _backfill_search),
    Migration(6, "found stories, storylines, merges and what story detection keeps", (
        # A storyline links stories of one thread (the same actors and issues, later dates).
        """CREATE TABLE storylines (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        # 'named': filed by hand (`--story NAME`); 'found': made by story detection.
        "ALTER TABLE stories ADD COLUMN kind TEXT NOT NULL DEFAULT 'named'",
        "ALTER TABLE stories ADD COLUMN storyline INTEGER REFERENCES storylines(id)",
        # A story merged into another keeps its row (old links and ids still lead somewhere).
        "ALTER TABLE stories ADD COLUMN merged_into INTEGER REFERENCES stories(id)",
        # When the story was last briefed by request (`brief --since last` starts there).
        "ALTER TABLE stories ADD COLUMN briefed_at TEXT",
        "CREATE INDEX stories_storyline ON stories(storyline)",
        # Opaque to the store, like sketches: what detection computed of each document (its
        # features) and keeps of each found story (its profile), and how many documents hold
        # each term (the idf of detection's tf-idf views).
        """CREATE TABLE story_features (
            document INTEGER PRIMARY KEY REFERENCES documents(seq),
            data BLOB NOT NULL
        )""",
        """CREATE TABLE story_profiles (
            story INTEGER PRIMARY KEY REFERENCES stories(id),
            data BLOB NOT NULL
        )""",
        """CREATE TABLE story_vocabulary (
            key TEXT PRIMARY KEY,
            documents INTEGER NOT NULL
        ) WITHOUT ROWID""",
    )),
    Migration(7, "corrections of documents' metadata by their users", (
        # One row per field changed: what it was, what the user made it, when. The documents row
        # holds the corrected value; these rows say it is the user's, and change the story keys.
        """CREATE TABLE document_corrections (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            document INTEGER NOT NULL REFERENCES documents(seq),
            field TEXT NOT NULL CHECK (field IN ('title', 'outlet', 'published')),
            previous TEXT,
            value TEXT NOT NULL,
            corrected_at TEXT NOT NULL
        )""",
        "CREATE INDEX document_corrections_document ON document_corrections(document)",
    )),
    Migration(8, "sources storyline watch polls, and the articles it has seen", (
        """CREATE TABLE watch_sources (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            url TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('feed', 'sitemap')),
            title TEXT,
            allow_private INTEGER NOT NULL DEFAULT 0,
            interval INTEGER,
            added_at TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            content_hash TEXT,
            last_poll TEXT,
            last_status INTEGER,
            last_new INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            next_poll TEXT
        )""",
        # One row per article (its canonical address), whichever feeds list it: fetched once.
        """CREATE TABLE watch_items (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            source INTEGER,
            title TEXT,
            published TEXT,
            state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'fetched', 'stored', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            body BLOB,
            content_type TEXT,
            final_url TEXT,
            document TEXT,
            seen_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX watch_items_pending ON watch_items(state) WHERE state IN ('new', 'fetched')",
        # Each update of a story's briefing the watch made: the entries of the story's Atom feed.
        """CREATE TABLE story_updates (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            story INTEGER NOT NULL REFERENCES stories(id),
            made_at TEXT NOT NULL,
            title TEXT NOT NULL,
            lines TEXT NOT NULL,
            sources TEXT NOT NULL
        )""",
        "CREATE INDEX story_updates_story ON story_updates(story, id)",
        # Saved searches (``storyline alerts``): each has an Atom feed of the stories matching it.
        """CREATE TABLE alerts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            query TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )""",
    )),
    Migration(9, "the sentence vectors kept when a document is filed", (
        # Opaque to the store, like sketches: the vectors of a filed document's summary
        # candidates (``storyline.annotate.embeddings.pack_vectors``), so that the briefing of
        # a stored story does not embed them again. A document filed before has none: its
        # sentences are embedded when briefed, as before.
        """CREATE TABLE sentence_vectors (
            document INTEGER PRIMARY KEY REFERENCES documents(seq),
            data BLOB NOT NULL
        )""",
    )),
]
LATEST_VERSION = MIGRATIONS[-1].version


# --------------------------------------------------------------------------- SQLite


class SQLiteStore(SQLStore):
    """The SQLite ``Store``. One connection; use one store per thread (sqlite3's rule)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = self._connect(self.path)
        self._search_rules = SearchRules.packaged()
        self._identity = uuid.uuid4().hex  # tells this connection's change tokens from others'

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

    NO_LIMIT = -1
    MISSING_ROW = sqlite3.IntegrityError

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        with self._transaction() as conn:
            yield conn.cursor()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Cursor]:
        with self._transaction("DEFERRED") as conn:
            yield conn.cursor()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._conn.execute(sql, params).fetchall()

    def _save_sketch(self, cur: Cursor, seq: int, sketch: Sketch) -> None:
        cur.execute("INSERT OR REPLACE INTO sketches (document, kind, data) VALUES (?, ?, ?)",
                    (seq, sketch.kind, sketch.data))

    def _documents_where(self, cur: Cursor, where: str, params: Sequence[Any], *,
                         with_annotations: bool = False, with_text: bool = True) -> list[Document]:
        return _documents_where(cur, where, params, with_annotations=with_annotations,
                                with_text=with_text)

    def _record_origin(self, cur: Cursor, seq: int, origin: str, relation: str) -> bool:
        return _record_origin(cur, seq, origin, relation)

    def _save_annotations(self, cur: Cursor, seq: int, annotations: Annotations, *,
                          replace: bool) -> None:
        assert isinstance(cur, sqlite3.Cursor)
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        if cur.execute(
            f"{verb} INTO annotations (document, annotator, data, created_at) VALUES (?, ?, ?, ?)",
            (seq, ANNOTATOR_VERSION, json.dumps(annotations.to_dict(), ensure_ascii=False), _now()),
        ).rowcount:  # stored (not ignored): the search index follows the annotations
            _index_sentences(cur, seq, annotations)

    def _insert_document(self, cur: Cursor, doc: Document, duplicate_of: int | None,
                         newest: int) -> int:
        assert isinstance(cur, sqlite3.Cursor) and doc.content_hash
        return _insert_document(cur, doc, doc.content_hash, duplicate_of)

    def _move_source(self, cur: Cursor, source: int, url: str) -> None:
        cur.execute("UPDATE OR IGNORE watch_sources SET url = ?, etag = NULL,"
                    " last_modified = NULL WHERE id = ?", (url, source))

    def _insert_id(self, cur: Cursor, sql: str, params: Sequence[Any]) -> int:
        assert isinstance(cur, sqlite3.Cursor)
        return int(cur.execute(sql, params).lastrowid or 0)

    # -- documents: writing

    def save_annotations(self, doc_id: str, annotations: Annotations) -> None:
        """Attach (or replace) the annotations of a stored document."""
        seq = _seq(doc_id)
        if seq is None:
            raise KeyError(doc_id)
        with self._write() as cur:
            self._save_annotations(cur, seq, annotations, replace=True)

    # -- documents: reading

    def change_token(self) -> object:
        """SQLite's ``data_version`` (moves when another connection commits) with this
        connection's own ``total_changes`` (which it does not count), and which connection."""
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        return self._identity, int(version), self._conn.total_changes


    # -- what story detection keeps

    def story_members(self, *, after: str | None = None, stories: Sequence[int] | None = None
                      ) -> Iterator[tuple[str, bytes]]:
        """(document id, features) of filed documents, in insertion order, read in chunks."""
        if stories is not None:
            marks = ",".join("?" * len(stories))
            where, params = (f"document IN (SELECT document FROM story_documents WHERE story IN ({marks}))",
                             list(stories))
        else:
            where, params = "1", []
        last = _seq(after) or 0
        while True:
            rows = self._conn.execute(
                f"SELECT document, data FROM story_features WHERE {where} AND document > ?"
                " ORDER BY document LIMIT ?", (*params, last, ITER_CHUNK)).fetchall()
            if not rows:
                return
            for seq, data in rows:
                yield _doc_id(seq), bytes(data)
            last = rows[-1][0]

    def save_detection(self, update: DetectionUpdate) -> dict[int, int]:
        """Apply a batch of story detection in one transaction (see ``DetectionUpdate``).
        Documents are filed to the microsecond: a story briefed in the same second as a later
        filing must still count the filed documents as new."""
        now = _now(precise=True)
        with self._write() as conn:
            created = {key: self._create_found_story(conn, title, now)
                       for key, title in sorted(update.new_stories.items(), reverse=True)}

            def story_id(key: int) -> int:
                return created[key] if key < 0 else key

            for doc_id, data in update.members.items():
                conn.execute("INSERT OR REPLACE INTO story_features (document, data) VALUES (?, ?)",
                             (_require_seq(doc_id), data))
            for doc_id, data in update.sentences.items():
                conn.execute("INSERT OR REPLACE INTO sentence_vectors (document, data) VALUES (?, ?)",
                             (_require_seq(doc_id), data))
            for other, keep in update.merged.items():
                self._merge_found(conn, story_id(other), story_id(keep), now)
            for doc_id, key in update.assignments.items():
                self._file_found(conn, _require_seq(doc_id), story_id(key), now)
            for key, data in update.profiles.items():
                conn.execute("INSERT OR REPLACE INTO story_profiles (story, data) VALUES (?, ?)",
                             (story_id(key), data))
            conn.executemany(
                "INSERT INTO story_vocabulary (key, documents) VALUES (?, ?) ON CONFLICT (key)"
                " DO UPDATE SET documents = documents + excluded.documents",
                sorted(update.vocabulary.items()))
        return created

    def cache_location(self, name: str) -> Path | None:
        """Beside the database file: ``storyline.db.NAME``."""
        return self._beside(name)

    def _beside(self, name: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{name}")

    def client_cache(self, name: str) -> Path | None:
        """Beside the database file, as ``cache_location``."""
        return self.cache_location(name)

    @contextmanager
    def detection_lock(self) -> Iterator[None]:
        """``flock`` on a file beside the database (it dies with its process); within one
        process, a lock per database file as well (``flock`` is per open file)."""
        with _file_lock(self.path), _flocked(self._beside(DETECTION_LOCK), wait=True):
            yield

    def refresh_statistics(self) -> None:
        """Nothing to do: FTS5 search is asked within a window of row numbers, not planned."""

    @contextmanager
    def watch_lock(self) -> Iterator[bool]:
        """``flock`` on ``storyline.db.watch.lock`` beside the database, not waited for."""
        with _flocked(self._beside(WATCH_LOCK), wait=False) as taken:
            yield taken

    # -- search

    def search(self, query: str, *, limit: int = 50, story: int | None = None) -> list[SearchHit]:
        """Sentences matching every word (or "quoted phrase") of ``query``, best first (BM25).
        Search syntax characters in ``query`` are taken literally, never as FTS5 operators."""
        rules = self._search_rules
        expression = fts_expression(
            query, lambda word: _two_word_spellings(self._conn, word, rules), rules.max_phrase_words)
        if not expression:
            return []
        # Ranked are at most ``rank_candidates`` matches, the newest (a row's rowid holds its
        # document's number, and FTS5 walks a match list backward as cheaply as forward), as
        # on PostgreSQL: BM25 over every match of a common word takes a second at 100,000
        # documents, and a reader of news is better served by this week's than by the
        # earliest stored. Equal scores: the newer first. A story's documents are picked by
        # rowid, not by the ``document`` column: reading that column for every match costs
        # seconds there.
        ranked = "SELECT rowid, bm25(sentences_fts) AS score FROM sentences_fts WHERE sentences_fts MATCH ?"
        params: list[Any] = [expression]
        if story is not None:
            ranked += (f" AND rowid / {FTS_ROWS_PER_DOCUMENT} IN"
                       " (SELECT document FROM story_documents WHERE story = ?)")
            params.append(story)
        best = [row for (row,) in self._conn.execute(
            f"SELECT c.rowid FROM ({ranked} ORDER BY rowid DESC LIMIT ?) c"
            " ORDER BY c.score, c.rowid DESC LIMIT ?",
            [*params, rules.rank_candidates, limit])]
        if not best:
            return []
        shown = {row[0]: row[1:] for row in self._conn.execute(
            "SELECT rowid, document, start, \"end\", text, highlight(sentences_fts, 0, ?, ?),"
            " (SELECT min(story) FROM story_documents WHERE document = sentences_fts.document)"
            f" FROM sentences_fts WHERE sentences_fts MATCH ? AND rowid IN ({', '.join('?' for _ in best)})",
            [_MARK_OPEN, _MARK_CLOSE, expression, *best])}
        return [  # (a row replaced meanwhile by another connection's writer is left out)
            SearchHit(_doc_id(seq), found_in, start, end, text, _marked_spans(marked))
            for seq, start, end, text, marked, found_in in (shown[row] for row in best if row in shown)
        ]


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
    apply_migrations(conn, MIGRATIONS, LATEST_VERSION, "?")
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION}")


def _insert_document(
    conn: _Conn, doc: Document, hash_: str, duplicate_of: int | None
) -> int:
    placeholders = ", ".join("?" for _ in _COLUMNS)
    cursor = conn.execute(
        f"INSERT INTO documents ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
        document_values(doc, hash_, duplicate_of),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid



# Search rows of document ``seq`` have rowids seq * N ... seq * N + N - 1 (N: more sentences than
# the largest input can hold), so one document's rows are found and replaced by a rowid range;
# the ``document`` column is UNINDEXED, and filtering on it would scan the whole index.
FTS_ROWS_PER_DOCUMENT = 10_000_000
def _two_word_spellings(conn: sqlite3.Connection, word: str, rules: SearchRules
                        ) -> list[tuple[str, str]]:
    """The ways of writing ``word`` as two words that the index holds as a phrase
    ("ceasefire": ("cease", "fire") when some sentence says "cease fire" or "cease-fire")."""
    return [(head, tail) for head, tail in split_candidates(word, rules)
            if conn.execute("SELECT 1 FROM sentences_fts WHERE sentences_fts MATCH ? LIMIT 1",
                            (FTS5.phrase([head, tail]),)).fetchone()]


def _index_sentences(conn: _Conn, seq: int, annotations: Annotations) -> None:
    """Replace document ``seq``'s rows in the sentence search index."""
    first = seq * FTS_ROWS_PER_DOCUMENT
    conn.execute(
        "DELETE FROM sentences_fts WHERE rowid BETWEEN ? AND ?", (first, first + FTS_ROWS_PER_DOCUMENT - 1)
    )
    conn.executemany(
        "INSERT INTO sentences_fts (rowid, text, document, start, \"end\") VALUES (?, ?, ?, ?, ?)",
        [(first + i, s.text, seq, s.start, s.end) for i, s in enumerate(annotations.sentences)],
    )



def _documents_where(cur: Cursor, where: str, params: Sequence[Any], *,
                     with_annotations: bool = False, with_text: bool = True) -> list[Document]:
    """The documents a ``WHERE ...`` clause selects, with their origins (and annotations)."""
    return SQLiteStore.select_documents(cur, where, params, with_annotations=with_annotations,
                                  with_text=with_text)


def _record_origin(cur: Cursor, seq: int, origin: str, relation: str) -> bool:
    """Append ``origin`` to document ``seq``'s ``also_at`` unless it is already known there."""
    return SQLiteStore.add_origin(cur, seq, origin, relation)
