"""The PostgreSQL backend of the storage interface (``storyline.store.base``), for a store that
several machines or processes share (``--db postgresql://user@host/db``).

``PostgresStore`` keeps the interface's semantics, as ``SQLiteStore`` does, this way:

* one connection pool per store object (psycopg 3), closed with the store; the store may be
  used from several threads at once (each call takes a connection of its own);
* every writing transaction first takes the database's write lock (a transaction-level
  advisory lock), the counterpart of SQLite's ``BEGIN IMMEDIATE``: the content hash is looked
  up, a ``DuplicateCheck`` compared with the newest stored document and the next id given
  under it, so two writers (processes or machines) never both store the same content, never
  both judge against a store the other changed, and story detection's batches apply one after
  the other; a killed writer's transaction is rolled back by the server;
* ids ``S1``, ``S2``, ... are given under that lock as one more than the newest (no sequence:
  a rolled-back insert leaves no gap);
* reads that take several queries run in one ``REPEATABLE READ`` snapshot; ``iter_documents``
  reads by keyset, ``ITER_CHUNK`` documents a round trip, never the whole corpus;
* sentence search: a ``tsvector`` column (English stemming, as FTS5's porter) with a GIN index,
  ranked by ``ts_rank`` and highlighted by ``ts_headline``, from the same query language as the
  SQLite backend (``storyline.store._common.fts_expression``); as there, a query matching more
  than ``rank_candidates`` sentences (``data/search.json``) has that many ranked, the newest,
  found without reading every match (see ``_Window``: a GIN index keeps no rank, and ranking a
  common word's every match reads each matching row, a second at 100,000 documents);
* schema migrations: ``MIGRATIONS``, the SQLite backend's versions in PostgreSQL's dialect,
  recorded in ``schema_migrations`` and applied in one transaction under an advisory lock when
  a store is opened.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg_pool import ConnectionPool

from storyline.errors import UsageError
from storyline.model import Annotations, Document
from storyline.store._common import (
    ANNOTATOR_VERSION,
    apply_migrations,
    cache_home,
    doc_id,
    Cursor as SharedCursor,
    COLUMNS,
    MARK_CLOSE,
    MARK_OPEN,
    Migration,
    QuerySyntax,
    SQLStore,
    SearchRules,
    document_values,
    fts_expression,
    marked_spans,
    now,
    require_seq,
    seq_of,
    split_candidates,
)
from storyline.store.base import (
    ITER_CHUNK,
    DetectionUpdate,
    SearchHit,
    Sketch,
)

SCHEMES = {"postgres", "postgresql"}
CONNECT_TIMEOUT_S = 10  # an unreachable server is reported after this long, not waited on
POOL_SIZE = 8  # connections one store object may hold (the web app's worker threads share them)
# Advisory lock keys (per database): writers one at a time; migrations one opener at a time.
WRITE_LOCK = 0x5354_4F52_5901
MIGRATE_LOCK = 0x5354_4F52_5902
DETECTION_LOCK = 0x5354_4F52_5903
WATCH_LOCK = 0x5354_4F52_5904
# What search reads (``refresh_statistics``): sentences and their terms, documents, stories.
SEARCHED_TABLES = ("sentences", "documents", "story_documents")
TEXT_SEARCH_CONFIG = "english"  # stemming as FTS5's porter tokenizer does

Cursor = psycopg.Cursor[tuple[Any, ...]]


class DatabaseUnreachable(UsageError):
    """The PostgreSQL server did not answer, refused the credentials, or has no such database:
    ``str(exc)`` is one line, without the password."""


# --------------------------------------------------------------------------- URLs


def is_postgres_url(url: str | None) -> bool:
    scheme, separator, _ = str(url or "").partition("://")
    return bool(separator) and scheme.lower().split("+")[0] in SCHEMES


def conninfo_of(url: str) -> str:
    """The libpq connection string of a ``postgresql://`` (or ``postgres+psycopg://``) URL;
    ``UsageError`` when libpq cannot read it."""
    rest = url.partition("://")[2]
    normal = f"postgresql://{rest}"
    try:
        pg_conninfo.conninfo_to_dict(normal)
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"bad PostgreSQL URL {redacted(url)}: {first_line(exc)}") from None
    return normal


def _safe_name(text: str) -> str:
    """``text`` as one folder name: characters other than letters, digits, ``.``, ``_`` and
    ``-`` become ``_`` (a host may be a socket directory's path)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


def redacted(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: what messages show."""
    scheme, separator, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{separator}{userinfo.split(':', 1)[0]}:***@{host}"


def first_line(exc: BaseException) -> str:
    """The first line of what a driver said (its type when it said nothing)."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


# --------------------------------------------------------------------------- schema


def _backfill_search(cur: Cursor) -> None:
    """Index the sentences of annotated documents that have none in the search index."""
    cur.execute("SELECT document, data FROM annotations a"
                " WHERE NOT EXISTS (SELECT 1 FROM sentences s WHERE s.document = a.document)")
    for seq, data in cur.fetchall():
        _index_sentences(cur, seq, Annotations.from_dict(json.loads(data)))


MIGRATIONS: list[Migration] = [
    Migration(1, "documents and their origins", (
        """CREATE TABLE documents (
            seq BIGINT PRIMARY KEY,
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
            duplicate_of BIGINT REFERENCES documents(seq),
            boilerplate_removed_chars INTEGER NOT NULL DEFAULT 0,
            text TEXT NOT NULL,
            content_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX documents_origin ON documents(origin)",
        """CREATE TABLE document_origins (
            id BIGSERIAL PRIMARY KEY,
            document BIGINT NOT NULL REFERENCES documents(seq),
            origin TEXT NOT NULL,
            relation TEXT NOT NULL CHECK (relation IN ('exact', 'near')),
            created_at TEXT NOT NULL,
            UNIQUE (document, origin)
        )""",
        "CREATE INDEX document_origins_origin ON document_origins(origin)",
    )),
    Migration(2, "annotations of each document", (
        """CREATE TABLE annotations (
            document BIGINT PRIMARY KEY REFERENCES documents(seq),
            annotator TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
    )),
    Migration(3, "stories, sentence search, cached briefings and user outlets", (
        """CREATE TABLE stories (
            id BIGSERIAL PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            title TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE story_documents (
            story BIGINT NOT NULL REFERENCES stories(id),
            document BIGINT NOT NULL REFERENCES documents(seq),
            added_at TEXT NOT NULL,
            PRIMARY KEY (story, document)
        )""",
        "CREATE INDEX story_documents_document ON story_documents(document)",
        # One row per annotated sentence; offsets point into the document's text.
        f"""CREATE TABLE sentences (
            document BIGINT NOT NULL REFERENCES documents(seq),
            ord INTEGER NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            text TEXT NOT NULL,
            terms tsvector GENERATED ALWAYS AS (to_tsvector('{TEXT_SEARCH_CONFIG}', text)) STORED,
            PRIMARY KEY (document, ord)
        )""",
        "CREATE INDEX sentences_terms ON sentences USING GIN (terms)",
        """CREATE TABLE briefings (
            story BIGINT NOT NULL REFERENCES stories(id),
            words INTEGER NOT NULL,
            documents_key TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (story, words)
        )""",
        """CREATE TABLE outlets (
            id BIGSERIAL PRIMARY KEY,
            name TEXT NOT NULL,
            domains TEXT NOT NULL DEFAULT '[]',
            country TEXT,
            ownership TEXT,
            aliases TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL
        )""",
        # Names are unique whatever their case (SQLite's COLLATE NOCASE).
        "CREATE UNIQUE INDEX outlets_name ON outlets (lower(name))",
    )),
    Migration(4, "near-duplicate sketches", (
        """CREATE TABLE sketches (
            document BIGINT PRIMARY KEY REFERENCES documents(seq),
            kind TEXT NOT NULL,
            data BYTEA NOT NULL
        )""",
    )),
    Migration(5, "sentence search for documents annotated before it existed", (), _backfill_search),
    Migration(6, "found stories, storylines, merges and what story detection keeps", (
        """CREATE TABLE storylines (
            id BIGSERIAL PRIMARY KEY,
            title TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "ALTER TABLE stories ADD COLUMN kind TEXT NOT NULL DEFAULT 'named'",
        "ALTER TABLE stories ADD COLUMN storyline BIGINT REFERENCES storylines(id)",
        "ALTER TABLE stories ADD COLUMN merged_into BIGINT REFERENCES stories(id)",
        "ALTER TABLE stories ADD COLUMN briefed_at TEXT",
        "CREATE INDEX stories_storyline ON stories(storyline)",
        """CREATE TABLE story_features (
            document BIGINT PRIMARY KEY REFERENCES documents(seq),
            data BYTEA NOT NULL
        )""",
        """CREATE TABLE story_profiles (
            story BIGINT PRIMARY KEY REFERENCES stories(id),
            data BYTEA NOT NULL
        )""",
        """CREATE TABLE story_vocabulary (
            key TEXT PRIMARY KEY,
            documents INTEGER NOT NULL
        )""",
    )),
    Migration(7, "corrections of documents' metadata by their users", (
        """CREATE TABLE document_corrections (
            id BIGSERIAL PRIMARY KEY,
            document BIGINT NOT NULL REFERENCES documents(seq),
            field TEXT NOT NULL CHECK (field IN ('title', 'outlet', 'published')),
            previous TEXT,
            value TEXT NOT NULL,
            corrected_at TEXT NOT NULL
        )""",
        "CREATE INDEX document_corrections_document ON document_corrections(document)",
    )),
    Migration(8, "sources storyline watch polls, and the articles it has seen", (
        """CREATE TABLE watch_sources (
            id BIGSERIAL PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('feed', 'sitemap')),
            title TEXT,
            allow_private BOOLEAN NOT NULL DEFAULT false,
            "interval" INTEGER,
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
        """CREATE TABLE watch_items (
            seq BIGSERIAL PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            source BIGINT,
            title TEXT,
            published TEXT,
            state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'fetched', 'stored', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            body BYTEA,
            content_type TEXT,
            final_url TEXT,
            document TEXT,
            seen_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX watch_items_pending ON watch_items(state) WHERE state IN ('new', 'fetched')",
        """CREATE TABLE story_updates (
            id BIGSERIAL PRIMARY KEY,
            story BIGINT NOT NULL REFERENCES stories(id),
            made_at TEXT NOT NULL,
            title TEXT NOT NULL,
            lines TEXT NOT NULL,
            sources TEXT NOT NULL
        )""",
        "CREATE INDEX story_updates_story ON story_updates(story, id)",
        """CREATE TABLE alerts (
            id BIGSERIAL PRIMARY KEY,
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
            document BIGINT PRIMARY KEY REFERENCES documents(seq),
            data BYTEA NOT NULL
        )""",
    )),
]
LATEST_VERSION = MIGRATIONS[-1].version


def _migrate(conn: psycopg.Connection[tuple[Any, ...]], *, create: bool, where: str) -> None:
    """Apply the pending migrations in one transaction, one opener at a time. ``create=False``:
    a database without Storyline's tables is refused, and nothing is made in it."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        known = _one(cur)
        if not known and not create:
            raise UsageError(f"no Storyline database at {where} (its tables are missing)")
        if known:
            cur.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
            if _one(cur) == LATEST_VERSION:
                return
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        # Bumped by every writing transaction: what change tokens read.
        cur.execute("CREATE SEQUENCE IF NOT EXISTS store_changes")
        apply_migrations(cur, MIGRATIONS, LATEST_VERSION, "%s")


def _one(cur: Cursor) -> Any:
    row = cur.fetchone()
    assert row is not None
    return row[0]


# --------------------------------------------------------------------------- search


def _ts_phrase(words: Sequence[str]) -> str:
    # Words are runs of word characters (no quotes, no operators): safe inside quotes.
    return "(" + " <-> ".join(f"'{word}'" for word in words) + ")"


TSQUERY = QuerySyntax(_ts_phrase, " | ", " & ")
_HEADLINE_OPTIONS = f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, HighlightAll=true"


def _index_sentences(cur: Cursor, seq: int, annotations: Annotations) -> None:
    """Replace document ``seq``'s rows in the sentence search index."""
    cur.execute("DELETE FROM sentences WHERE document = %s", (seq,))
    cur.executemany(
        'INSERT INTO sentences (document, ord, start, "end", text) VALUES (%s, %s, %s, %s, %s)',
        [(seq, i, s.start, s.end, s.text) for i, s in enumerate(annotations.sentences)],
    )


# --------------------------------------------------------------------------- the store


class PostgresStore(SQLStore):
    """The PostgreSQL ``Store`` (see the module docstring). Safe to share between threads."""

    shared_between_threads = True
    MARK = "%s"
    MISSING_ROW = psycopg.errors.ForeignKeyViolation
    OUTLET_KEY = "lower(name)"
    OUTLET_NAMED = "lower(name) = lower(?)"
    OUTLET_ORDER = "id"

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        where = redacted(url)
        conninfo = conninfo_of(url)
        try:
            with psycopg.connect(conninfo, autocommit=True,
                                 connect_timeout=CONNECT_TIMEOUT_S) as conn:
                _migrate(conn, create=create, where=where)
        except psycopg.OperationalError as exc:
            raise DatabaseUnreachable(f"cannot use database {where}: {first_line(exc)}") from None
        except psycopg.Error as exc:
            raise UsageError(f"cannot use database {where}: {first_line(exc)}") from None
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            conninfo, min_size=1, max_size=POOL_SIZE, open=True, name=f"storyline {where}",
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S})
        self._search_rules = SearchRules.packaged()
        self._identity = uuid.uuid4().hex  # tells this store's change tokens from others'

    def close(self) -> None:
        self._pool.close()

    # -- transactions

    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        """A writing transaction under the database's write lock (see the module docstring)."""
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s), nextval('store_changes')", (WRITE_LOCK,))
            yield cur

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        """A read-only transaction: one snapshot for all its queries."""
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield cur

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    @classmethod
    def _any_of(cls, column: str, values: Sequence[int]) -> Iterator[tuple[str, list[Any]]]:
        yield f"{column} = ANY(%s)", [list(values)]

    def _save_sketch(self, cur: SharedCursor, seq: int, sketch: Sketch) -> None:
        cur.execute("INSERT INTO sketches (document, kind, data) VALUES (%s, %s, %s) ON CONFLICT"
                    " (document) DO UPDATE SET kind = excluded.kind, data = excluded.data",
                    (seq, sketch.kind, sketch.data))

    def _documents_where(self, cur: SharedCursor, where: str, params: Sequence[Any], *,
                         with_annotations: bool = False, with_text: bool = True) -> list[Document]:
        return _documents_where(cur, where, params, with_annotations=with_annotations,
                                with_text=with_text)

    def _record_origin(self, cur: SharedCursor, seq: int, origin: str, relation: str) -> bool:
        return _record_origin(cur, seq, origin, relation)

    def _save_annotations(self, cur: SharedCursor, seq: int, annotations: Annotations, *,
                          replace: bool) -> None:
        assert isinstance(cur, psycopg.Cursor)
        conflict = ("DO UPDATE SET annotator = excluded.annotator, data = excluded.data,"
                    " created_at = excluded.created_at") if replace else "DO NOTHING"
        cur.execute(f"INSERT INTO annotations (document, annotator, data, created_at)"
                    f" VALUES (%s, %s, %s, %s) ON CONFLICT (document) {conflict}",
                    (seq, ANNOTATOR_VERSION, json.dumps(annotations.to_dict(), ensure_ascii=False),
                     now()))
        if cur.rowcount:  # stored (not ignored): the search index follows the annotations
            _index_sentences(cur, seq, annotations)

    def _insert_document(self, cur: SharedCursor, doc: Document, duplicate_of: int | None,
                         newest: int) -> int:
        """Rows are numbered here, under the write lock: the next after the newest."""
        assert doc.content_hash
        seq = newest + 1
        cur.execute(f"INSERT INTO documents (seq, {', '.join(COLUMNS)})"
                    f" VALUES (%s, {', '.join('%s' for _ in COLUMNS)})",
                    [seq, *document_values(doc, doc.content_hash, duplicate_of)])
        return seq

    def _move_source(self, cur: SharedCursor, source: int, url: str) -> None:
        cur.execute("UPDATE watch_sources SET url = %s, etag = NULL, last_modified = NULL"
                    " WHERE id = %s AND NOT EXISTS (SELECT 1 FROM watch_sources"
                    " WHERE url = %s)", (url, source, url))

    def _insert_id(self, cur: SharedCursor, sql: str, params: Sequence[Any]) -> int:
        return int(cur.execute(self._sql(sql) + " RETURNING id", params).fetchone()[0])

    # -- documents: writing

    def save_annotations(self, document: str, annotations: Annotations) -> None:
        seq = seq_of(document)
        if seq is None:
            raise KeyError(document)
        with self._write() as cur:
            try:
                self._save_annotations(cur, seq, annotations, replace=True)
            except psycopg.errors.ForeignKeyViolation as exc:
                raise KeyError(document) from exc

    # -- documents: reading

    def change_token(self) -> object:
        """The store's change counter (every writing transaction of any connection moves it),
        and which store object read it."""
        return self._identity, int(self._rows(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM store_changes")[0][0])


    # -- what story detection keeps

    def story_members(self, *, after: str | None = None, stories: Sequence[int] | None = None
                      ) -> Iterator[tuple[str, bytes]]:
        where, params = "true", []
        if stories is not None:
            where = "document IN (SELECT document FROM story_documents WHERE story = ANY(%s))"
            params = [list(stories)]
        last = seq_of(after) or 0
        while True:
            rows = self._rows(f"SELECT document, data FROM story_features WHERE {where}"
                              " AND document > %s ORDER BY document LIMIT %s",
                              (*params, last, ITER_CHUNK))
            if not rows:
                return
            for seq, data in rows:
                yield doc_id(seq), bytes(data)
            last = rows[-1][0]

    def save_detection(self, update: DetectionUpdate) -> dict[int, int]:
        """Apply a batch of story detection in one transaction (see ``DetectionUpdate``), filed
        to the microsecond. A story another writer merged meanwhile is followed to the story it
        joined, so that no document is filed into a merged story."""
        at = now(precise=True)
        with self._write() as cur:
            created = {key: self._create_found_story(cur, title, at)
                       for key, title in sorted(update.new_stories.items(), reverse=True)}

            def story_id(key: int) -> int:
                return created[key] if key < 0 else self._merged_target(cur, key)

            for document, data in update.members.items():
                cur.execute("INSERT INTO story_features (document, data) VALUES (%s, %s)"
                            " ON CONFLICT (document) DO UPDATE SET data = excluded.data",
                            (require_seq(document), data))
            for document, data in update.sentences.items():
                cur.execute("INSERT INTO sentence_vectors (document, data) VALUES (%s, %s)"
                            " ON CONFLICT (document) DO UPDATE SET data = excluded.data",
                            (require_seq(document), data))
            for other, keep in update.merged.items():
                kept = story_id(keep)
                # Merged by another writer already: its documents are where that merge put them.
                if self._merged_target(cur, other) == other and kept != other:
                    self._merge_found(cur, other, kept, at)
            for document, key in update.assignments.items():
                self._file_found(cur, require_seq(document), story_id(key), at)
            for key, data in update.profiles.items():
                cur.execute("INSERT INTO story_profiles (story, data) VALUES (%s, %s)"
                            " ON CONFLICT (story) DO UPDATE SET data = excluded.data",
                            (story_id(key), data))
            cur.executemany(
                "INSERT INTO story_vocabulary (key, documents) VALUES (%s, %s) ON CONFLICT (key)"
                " DO UPDATE SET documents = story_vocabulary.documents + excluded.documents",
                sorted(update.vocabulary.items()))
        return created

    def cache_location(self, name: str) -> Path | None:
        """None: a shared server has no folder beside it (what one machine's clients of it
        keep goes to ``client_cache``)."""
        return None

    def client_cache(self, name: str) -> Path | None:
        """``$XDG_CACHE_HOME/storyline/postgresql/HOST-PORT-DATABASE/NAME`` (XDG's default being
        ``~/.cache``); None when that folder cannot be made. Why: the story detector's index
        takes seconds to minutes of CPU to build (3.4 s for 19,000 filed documents, 82 s for
        100,000 random vectors), which each ingest's writer would pay when it starts."""
        parts = pg_conninfo.conninfo_to_dict(conninfo_of(self.url))
        defaults = (("host", "local"), ("port", 5432), ("dbname", parts.get("user") or "db"))
        server = "-".join(str(parts.get(key) or default) for key, default in defaults)
        folder = cache_home() / "storyline" / "postgresql" / _safe_name(server)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return folder / name

    @contextmanager
    def detection_lock(self) -> Iterator[None]:
        """A session advisory lock, held on a connection of its own (released by the server
        if the writer dies)."""
        with self._session_lock(DETECTION_LOCK, wait=True):
            yield

    def refresh_statistics(self) -> None:
        """Why not leave it to autovacuum: it analyses a table once a tenth of it changed, and
        at 130,000 stored documents, searches of the words of 1,000 just stored took p50 / p95
        43 / 283 ms before this and 15 / 91 ms after it (1.1 s; docs/benchmarks.md). A role that
        does not own the tables gets a warning from the server, not an error."""
        with self._pool.connection() as conn:
            conn.execute(f"VACUUM (ANALYZE) {', '.join(SEARCHED_TABLES)}")

    @contextmanager
    def watch_lock(self) -> Iterator[bool]:
        """A session advisory lock, tried once (released by the server if the watch dies)."""
        with self._session_lock(WATCH_LOCK, wait=False) as taken:
            yield taken

    @contextmanager
    def _session_lock(self, key: int, *, wait: bool) -> Iterator[bool]:
        """The session advisory lock ``key``, held on a connection of its own for the block
        (the server releases it when that connection ends); ``wait=False``: tried once, and
        the block told whether it was taken."""
        with self._pool.connection() as conn:
            if wait:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                taken = True
            else:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                taken = bool(row and row[0])
            try:
                yield taken
            finally:
                if taken:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    # -- search

    def search(self, query: str, *, limit: int = 50, story: int | None = None) -> list[SearchHit]:
        """Sentences matching every word (or "quoted phrase") of ``query``, best first
        (``ts_rank``) among the newest ``rank_candidates`` matches (see ``_Window``). Query
        syntax characters are taken literally, never as operators."""
        rules = self._search_rules
        if limit <= 0:
            return []
        with self._read() as cur:
            # Why: under a LIMIT the planner may expect a sequential scan to meet enough
            # matches sooner, and for a word with few (or no) matches that scan reads every
            # sentence of the store. Nor is a plan compiled (JIT): a walk's estimated cost is
            # over the threshold, and compiling took some 20 ms of a 40 ms search. Search's
            # statements are never prepared: a prepared statement's generic plan knows neither
            # the query's words nor the window, and chose scans several times slower.
            cur.execute("SET LOCAL enable_seqscan = off; SET LOCAL jit = off")
            expression = fts_expression(query, lambda word: _two_word_spellings(cur, word, rules),
                                        rules.max_phrase_words, TSQUERY)
            if not expression:
                return []
            window = None if story is not None else _newest_window(cur, expression,
                                                                   rules.rank_candidates)
            candidates: list[tuple[int, int, float]] = []
            below: int | None = None  # the window asked before begins here
            while True:
                candidates += _candidate_keys(cur, expression, window, below, story,
                                              rules.rank_candidates - len(candidates))
                if window is None or len(candidates) >= rules.rank_candidates:
                    break
                # Why only the documents the wider window adds: the narrower one's matches
                # are all candidates already (it held fewer than wanted), and asking the wider
                # window whole read them again, a fifth to a third of a common word's search.
                below, window = window.first, window.widened(len(candidates))
            best = sorted(candidates, key=lambda c: (-c[2], -c[0], -c[1]))[:limit]
            rows = _shown(cur, expression, best)
        return [SearchHit(doc_id(seq), found_in, start, end, text, marked_spans(marked))
                for seq, start, end, text, marked, found_in in rows]


# --------------------------------------------------------------------------- search helpers

# A query matching more than ``rank_candidates`` sentences has its newest that many ranked
# (by document, then sentence): see ``_Window``.
WINDOW_MARGIN = 1.25  # a window is sized to hold this many times ``rank_candidates`` matches
WALK_SHARE = 0.05  # a query in this share of the sentences or more is met by walking backward
UNMEASURED_PART = 16  # with no statistics of the words, the first window: this part of the store


@dataclass(frozen=True)
class _Window:
    """The newest documents a query is asked within: numbers ``first`` to ``last`` (the
    newest), expected to hold ``wanted`` matches or more.

    Why: ranking every match of a common word reads each matching row (a GIN index keeps no
    rank), a second at 100,000 documents, so ``rank_candidates`` are ranked; and a reader of
    news is better served by this week's matches than by the earliest stored. The newest are
    found without reading every match: a query is asked within the newest documents that
    should hold WINDOW_MARGIN times ``rank_candidates`` of its matches, sized from the
    planner's estimate of its matches (the GIN index's statistics). There the planner
    intersects the GIN index's matches with that range of the primary key and reads only
    the rows in both; a query in every few sentences (WALK_SHARE or more) is instead met by
    walking the primary key backward from the newest sentence (``walk``), reading some
    ``rank_candidates / share`` rows and no index of the word at all, which at 100,000
    documents is the cheaper (the planner, counting each row read as a random read, would
    not choose it). A window that held fewer than ``rank_candidates`` is widened, and only
    the documents the wider one adds are asked (``widened``); a query expected to match fewer
    than WINDOW_MARGIN times ``rank_candidates`` sentences, or to need more than half of the
    documents for as many, is asked of the whole store, as its matches are few. Where ANALYZE
    has not measured the words yet (a store restored, or new), the first window is the newest
    UNMEASURED_PART-th of the documents. WINDOW_MARGIN: 1.25 read some 20% less than 1.5 at
    100,000 documents, and a query whose estimate was 35% too high was asked twice (the
    second time of the whole store)."""

    first: int
    last: int
    wanted: int
    walk: bool = False

    def widened(self, found: int) -> _Window | None:
        """The window expected to hold enough matches, this one holding ``found`` (fewer than
        wanted); None: the whole store. Only the documents it adds are asked next (the search
        keeps what this one found), so it adds what should hold WINDOW_MARGIN times the
        matches still missing at the density met so far, and at least a quarter of this one
        (four times it when none were found), so that rounds stay few where the older
        documents hold fewer; not walked (the word is rarer here than its estimate said)."""
        span = self.last - self.first + 1
        missing = self.wanted - found
        added = span * 3 if not found else math.ceil(span * WINDOW_MARGIN * missing / found)
        return _window(self.last, span + max(added, math.ceil(span / 4)), self.wanted)


def _window(last: int, documents: int, wanted: int, walk: bool = False) -> _Window | None:
    """The newest ``documents`` up to ``last``; None (the whole store) where that is more
    than half of them: then the query's matches are few, and reading each through the GIN
    index costs less than intersecting them with most of the primary key."""
    return None if 2 * documents > last else _Window(last - documents + 1, last, wanted, walk)


def _newest_window(cur: Cursor, expression: str, wanted: int) -> _Window | None:
    """The first window to ask ``expression`` within (see ``_Window``); None: the whole
    store."""
    (last, sentences, measured), = cur.execute(  # documents are numbered from 1
        "SELECT max(document), (SELECT reltuples FROM pg_class WHERE oid = 'sentences'::regclass),"
        " EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema()"
        " AND tablename = 'sentences' AND attname = 'terms' AND most_common_elems IS NOT NULL)"
        " FROM sentences").fetchall()
    if last is None:
        return None
    if not measured:
        # No statistics of the words yet (a store restored or grown since its last ANALYZE
        # found none): the planner's estimate would be a default one, the same for every
        # word, and a common word's search would read each of its matches.
        return _window(last, math.ceil(last / UNMEASURED_PART), wanted)
    (plan,), = cur.execute(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM sentences s, to_tsquery(%s, %s) q WHERE s.terms @@ q",
        (TEXT_SEARCH_CONFIG, expression), prepare=False).fetchall()
    expected = plan[0]["Plan"]["Plan Rows"]
    if expected <= WINDOW_MARGIN * wanted:
        return None
    return _window(last, math.ceil(WINDOW_MARGIN * wanted * last / expected), wanted,
                   walk=sentences > 0 and expected >= WALK_SHARE * sentences)  # -1: uncounted


def _two_word_spellings(cur: Cursor, word: str, rules: SearchRules) -> list[tuple[str, str]]:
    """The ways of writing ``word`` as two words that the index holds as a phrase."""
    return [(head, tail) for head, tail in split_candidates(word, rules)
            if cur.execute("SELECT 1 FROM sentences WHERE terms @@ to_tsquery(%s, %s) LIMIT 1",
                           (TEXT_SEARCH_CONFIG, _ts_phrase([head, tail]))).fetchall()]


def _candidate_keys(cur: Cursor, expression: str, window: _Window | None, below: int | None,
                    story: int | None, wanted: int) -> list[tuple[int, int, float]]:
    """(document, ord, rank) of the newest ``wanted`` matches within ``window`` (None: the
    whole store) and before document ``below`` (when given), of ``story`` (when given), newest
    first. Only keys and ranks: the text of the few shown is read by ``_shown``."""
    where = "s.terms @@ q"
    params: list[Any] = [TEXT_SEARCH_CONFIG, expression]
    if window is not None:
        where += " AND s.document >= %s"
        params.append(window.first)
    if below is not None:
        where += " AND s.document < %s"
        params.append(below)
    if story is not None:  # an array: the primary key walked over the story's documents
        where += (" AND s.document = ANY(ARRAY("
                  "SELECT document FROM story_documents WHERE story = %s))")
        params.append(story)
    walk = window is not None and window.walk
    if walk:
        cur.execute("SET LOCAL enable_bitmapscan = off")
    # Binary rows come as (int, int, float) already: no copy of up to rank_candidates rows.
    rows: list[tuple[int, int, float]] = cur.execute(
        "SELECT s.document, s.ord, ts_rank(s.terms, q)"
        f" FROM sentences s, to_tsquery(%s, %s) q WHERE {where}"
        " ORDER BY s.document DESC, s.ord DESC LIMIT %s",
        [*params, wanted], prepare=False, binary=True).fetchall()
    if walk:
        cur.execute("SET LOCAL enable_bitmapscan = on")
    return rows


def _shown(cur: Cursor, expression: str, best: Sequence[tuple[int, int, float]]
           ) -> list[tuple[Any, ...]]:
    """The sentences ``best`` names, in its order: document, start, end, text, headline (the
    query's words marked) and the document's first story."""
    if not best:
        return []
    return cur.execute(
        "SELECT t.document, t.start, t.\"end\", t.text,"
        " ts_headline(%s, t.text, to_tsquery(%s, %s), %s),"
        " (SELECT min(story) FROM story_documents WHERE document = t.document)"
        " FROM unnest(%s::bigint[], %s::int[]) WITH ORDINALITY AS b(document, ord, place)"
        " JOIN sentences t ON t.document = b.document AND t.ord = b.ord ORDER BY b.place",
        [TEXT_SEARCH_CONFIG, TEXT_SEARCH_CONFIG, expression, _HEADLINE_OPTIONS,
         [c[0] for c in best], [c[1] for c in best]], prepare=False).fetchall()


# --------------------------------------------------------------------------- SQL helpers




def _documents_where(cur: SharedCursor, where: str, params: Sequence[Any], *,
                     with_annotations: bool = False, with_text: bool = True) -> list[Document]:
    """The documents a ``WHERE ...`` clause selects, with their origins (and annotations)."""
    return PostgresStore.select_documents(cur, where, params, with_annotations=with_annotations,
                                  with_text=with_text)


def _record_origin(cur: SharedCursor, seq: int, origin: str, relation: str) -> bool:
    """Append ``origin`` to document ``seq``'s ``also_at`` unless it is already known there."""
    return PostgresStore.add_origin(cur, seq, origin, relation)
