"""What the SQL backends share (private to ``storyline.store``): how ids, rows and times are
written, the query language of sentence search, and the shape of a schema migration.

Both backends keep the same columns and the same values (times as ISO 8601 text, JSON lists as
text), so a row read from either becomes the same ``Document``; only the SQL dialect differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from storyline.errors import InvalidValue, UsageError
from storyline.model import Annotations, Document
from storyline.outlets import Outlet
from storyline.resources import read_data
from storyline.store.base import (
    ITER_CHUNK,
    AddResult,
    Alert,
    DuplicateCheck,
    ListedItem,
    DocumentTimes,
    MergedStory,
    PollRecord,
    Sketch,
    SourceCorrection,
    StaleCheck,
    StoredSketch,
    StoryInfo,
    StorylineInfo,
    StoryUpdate,
    WatchItem,
    WatchSource,
)

_Row = TypeVar("_Row")  # one row of a keyset walk (SQLStore._by_keyset)

# Recorded with each stored annotation so a later annotator version can tell what to redo.
ANNOTATOR_VERSION = "storyline-annotate/1"
DB_FILENAME = "storyline.db"
_ID_PATTERN = re.compile(r"S([1-9][0-9]*)")
# Ids per ``IN (...)`` list: well under SQLite's limit on bound parameters, whatever its build.
IDS_PER_QUERY = 500
SKETCHES_PER_READ = 1000  # sketches are small (hundreds of bytes): read many per round trip
STORY_KINDS = {"named", "found"}  # filed by hand; made by story detection

COLUMNS = (
    "origin", "url", "title", "authors", "author_roles", "outlet", "published", "published_from",
    "language", "country", "kind", "words", "duplicate_of", "boilerplate_removed_chars", "text",
    "content_hash", "created_at",
)
JSON_COLUMNS = {"authors", "author_roles"}
WATCH_SOURCE_COLUMNS = (
    "id, url, kind, title, allow_private, \"interval\", added_at, etag, last_modified, content_hash,"
    " last_poll, last_status, last_new, last_error, failures, next_poll")
WATCH_ITEM_COLUMNS = (
    "key, url, source, state, attempts, error, body, content_type, final_url, document")


def _xdg_folder(variable: str, default: str) -> Path:
    """The folder XDG's ``variable`` names, else ``~/default``. The XDG spec says to ignore a
    relative value: it would depend on the working directory."""
    xdg = os.environ.get(variable, "")
    return Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / default


def cache_home() -> Path:
    """``$XDG_CACHE_HOME``, XDG's default being ``~/.cache``."""
    return _xdg_folder("XDG_CACHE_HOME", ".cache")


def default_db_location() -> Path:
    """``$XDG_DATA_HOME/storyline/storyline.db``, XDG's default being ``~/.local/share``."""
    return _xdg_folder("XDG_DATA_HOME", ".local/share") / "storyline" / DB_FILENAME


@dataclass(frozen=True)
class Migration:
    """Schema ``statements``, then ``run`` (if any, given the backend's connection) to bring
    existing rows up to date; all in the opening's one migration transaction."""

    version: int
    name: str
    statements: Sequence[str]
    run: Callable[[Any], None] | None = None


def newer_schema(applied: int, latest: int) -> UsageError:
    return UsageError(f"database schema version {applied} is newer than this Storyline "
                      f"(knows up to {latest}): upgrade Storyline")


def apply_migrations(conn: Any, migrations: Sequence[Migration], latest: int, mark: str) -> None:
    """Bring the schema up to ``latest``: each migration newer than the database's, recorded in
    ``schema_migrations`` (made if missing). Run under the backend's write lock and in its one
    migration transaction; ``conn``: a connection or cursor whose ``execute`` returns a cursor,
    ``mark`` its parameter placeholder."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                 "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    # Read under the write lock: a concurrent opener may have just migrated.
    applied = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
    if applied > latest:
        raise newer_schema(applied, latest)
    for migration in migrations:
        if migration.version > applied:
            for statement in migration.statements:
                conn.execute(statement)
            if migration.run is not None:
                migration.run(conn)
            conn.execute("INSERT INTO schema_migrations (version, name, applied_at)"
                         f" VALUES ({mark}, {mark}, {mark})",
                         (migration.version, migration.name, now()))


# --------------------------------------------------------------------------- values


def now(*, precise: bool = False) -> str:
    """The time in UTC, to the second; ``precise``: to the microsecond, where times are compared
    with a briefing's (``story_document_times``): a document filed in the same second as a
    briefing is then placed before or after it, not beside it."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds" if precise else "seconds")


def doc_id(seq: int) -> str:
    return f"S{seq}"


def seq_of(document: str | None) -> int | None:
    match = _ID_PATTERN.fullmatch(document or "")
    return int(match.group(1)) if match else None


def require_seq(document: str) -> int:
    seq = seq_of(document)
    if seq is None:
        raise KeyError(f"no stored document {document!r}")
    return seq


def parts(seqs: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(seqs), IDS_PER_QUERY):
        yield seqs[start : start + IDS_PER_QUERY]


def story_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise UsageError("a story needs a name")
    return clean


def check_story_kind(kind: str) -> None:
    if kind not in STORY_KINDS:
        raise UsageError(f"unknown story kind {kind!r}: one of {', '.join(sorted(STORY_KINDS))}")


def document_values(doc: Document, hash_: str, duplicate_of: int | None) -> list[Any]:
    """A new document's row, in ``COLUMNS`` order (stored now, to the microsecond)."""
    values: dict[str, Any] = {
        name: getattr(doc, name) for name in COLUMNS if name not in {"content_hash", "created_at"}
    }
    values.update(content_hash=hash_, created_at=now(precise=True), duplicate_of=duplicate_of)
    for name in JSON_COLUMNS:
        values[name] = json.dumps(values[name], ensure_ascii=False)
    return [values[name] for name in COLUMNS]


def row_to_document(row: Sequence[Any]) -> Document:
    """A ``Document`` of a row ``(seq, *COLUMNS)``."""
    values = dict(zip(COLUMNS, row[1:]))
    for name in JSON_COLUMNS:
        values[name] = json.loads(values[name])
    duplicate_of = values["duplicate_of"]
    values["duplicate_of"] = doc_id(duplicate_of) if duplicate_of is not None else None
    del values["created_at"]  # not a Document field (yet); kept in the row
    return Document(id=doc_id(row[0]), **values)


def watch_source(row: Sequence[Any]) -> WatchSource:
    values = list(row)
    values[4] = bool(values[4])
    return WatchSource(*values)


def documents_key(rows: Sequence[Any], corrected: Sequence[Any]) -> str:
    """A story's fingerprint of its documents' annotation rows and latest corrections; only
    with corrections when there are some, so that the keys of stories never corrected (and
    their cached briefings) stay what they were."""
    payload = json.dumps([list(r) for r in rows] if not corrected
                         else [[list(r) for r in rows], [list(c) for c in corrected]])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


# --------------------------------------------------------------------------- sentence search

# Around each matched term of a highlighted sentence, then turned into ``SearchHit.matches``;
# control characters never occur in clean text.
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"
_MARKED = re.compile(f"{MARK_OPEN}([^{MARK_CLOSE}]*){MARK_CLOSE}")
_SEARCH_TERM = re.compile(r'"([^"]*)"|([^\s"]+)')
_WORD_CHARS = re.compile(r"\w+")


@dataclass(frozen=True)
class SearchRules:
    """How search finds a compound in any spelling (``data/search.json`` says why each)."""

    min_part_chars: int
    max_split_chars: int
    max_phrase_words: int
    not_parts: frozenset[str]
    rank_candidates: int  # a search ranks at most this many matches of a query, the newest

    @classmethod
    def packaged(cls) -> SearchRules:
        data = read_data("search.json")
        return cls(data["min_part_chars"], data["max_split_chars"], data["max_phrase_words"],
                   frozenset(data["not_parts"]), data["rank_candidates"])


@dataclass(frozen=True)
class QuerySyntax:
    """How a backend's search engine writes a phrase, "any of" and "all of"."""

    phrase: Callable[[Sequence[str]], str]
    any_of: str
    all_of: str


def _fts5_phrase(words: Sequence[str]) -> str:
    return '"' + " ".join(words) + '"'


FTS5 = QuerySyntax(_fts5_phrase, " OR ", " AND ")

Splits = Callable[[str], Sequence[tuple[str, str]]]  # a word -> the two-word spellings to try


def _no_splits(word: str) -> Sequence[tuple[str, str]]:
    return ()


def fts_expression(query: str, splits: Splits = _no_splits, max_phrase_words: int = 4,
                   syntax: QuerySyntax = FTS5) -> str:
    """A user's query as a search expression (FTS5's by default): every word must occur,
    "quoted words" as a phrase. Each word is quoted, so operators (AND, NEAR, *, :, ^) and
    stray quotes are plain text.

    A compound matches in every spelling: a hyphenated word or a phrase also as one word
    ("cease-fire" finds "ceasefire"; the tokenizer already finds "cease fire" for it), two
    neighbouring words of the query also as one ("cease fire"), and a word also as the
    two-word spellings ``splits`` gives ("ceasefire" finds "cease-fire" and "cease fire")."""
    items = []  # (words, bare): a query word (hyphens split it into several) or a quoted phrase
    for phrase, word in _SEARCH_TERM.findall(query):
        words = _WORD_CHARS.findall(phrase or word)
        if words:
            items.append((words, not phrase))
    found, index = [], 0
    while index < len(items):
        words, bare = items[index]
        following = items[index + 1] if index + 1 < len(items) else None
        if bare and len(words) == 1 and following and following[1] and len(following[0]) == 1:
            first = _spellings(words, splits, max_phrase_words, syntax)
            second = _spellings(following[0], splits, max_phrase_words, syntax)
            joined = syntax.phrase([words[0] + following[0][0]])
            found.append(f"(({first}{syntax.all_of}{second}){syntax.any_of}{joined})")
            index += 2
            continue
        found.append(_spellings(words, splits, max_phrase_words, syntax))
        index += 1
    return syntax.all_of.join(found)


def _spellings(words: list[str], splits: Splits, max_phrase_words: int, syntax: QuerySyntax) -> str:
    """One query word or phrase as an expression matching each of its spellings."""
    forms = [words]
    if 1 < len(words) <= max_phrase_words:
        forms += [words[:at] + [words[at] + words[at + 1]] + words[at + 2:]
                  for at in range(len(words) - 1)]
        if len(words) > 2:
            forms.append(["".join(words)])
    elif len(words) == 1:
        forms += [list(pair) for pair in splits(words[0])]
    if len(forms) == 1:
        return syntax.phrase(words)
    return "(" + syntax.any_of.join(syntax.phrase(form) for form in forms) + ")"


def split_candidates(word: str, rules: SearchRules) -> Iterator[tuple[str, str]]:
    """The ways of cutting ``word`` in two that search tries as a phrase ("ceasefire":
    "cease fire" ...); the backend keeps those its index holds."""
    shortest = rules.min_part_chars
    if len(word) < 2 * shortest or len(word) > rules.max_split_chars or not word.isalpha():
        return
    for at in range(shortest, len(word) - shortest + 1):
        head, tail = word[:at], word[at:]
        if head.lower() not in rules.not_parts and tail.lower() not in rules.not_parts:
            yield head, tail


def marked_spans(marked: str) -> tuple[tuple[int, int], ...]:
    """The spans of the unmarked text that the highlighter put between the marks."""
    spans = []
    for number, match in enumerate(_MARKED.finditer(marked)):
        start = match.start() - 2 * number  # the marks before this one take two characters each
        spans.append((start, start + len(match.group(1))))
    return tuple(spans)


# --------------------------------------------------------------------------- what both stores share


# A story with its documents' count and period; ``{where}`` selects, ``{mark}`` is the
# backend's parameter placeholder in it.
STORIES_QUERY = (
    "SELECT s.id, s.name, s.title, count(d.seq), min(d.published), max(d.published),"
    " s.created_at, s.updated_at, s.kind, s.storyline, s.merged_into, s.briefed_at"
    " FROM stories s"
    " LEFT JOIN story_documents sd ON sd.story = s.id LEFT JOIN documents d ON d.seq = sd.document"
    " {where} GROUP BY s.id ORDER BY s.updated_at DESC, s.id DESC")
# Each storyline's stories, ordered by the first date of their documents (undated last).
STORYLINE_MEMBERS_QUERY = (
    "SELECT s.storyline, s.id FROM stories s"
    " LEFT JOIN story_documents sd ON sd.story = s.id"
    " LEFT JOIN documents d ON d.seq = sd.document"
    " WHERE s.storyline IS NOT NULL AND s.merged_into IS NULL GROUP BY s.id"
    " ORDER BY min(d.published) IS NULL, min(d.published), s.id")


def storyline_infos(lines: Sequence[Sequence[Any]], members: Sequence[Sequence[Any]]
                    ) -> list[StorylineInfo]:
    """Storylines (id, title) with their stories, from ``STORYLINE_MEMBERS_QUERY``'s rows."""
    stories: dict[int, list[int]] = {}
    for line, story in members:
        stories.setdefault(line, []).append(story)
    return [StorylineInfo(line, title, tuple(stories.get(line, ()))) for line, title in lines]


class Cursor(Protocol):
    """What the shared methods use of a DB-API cursor (``sqlite3.Cursor``, psycopg's); their
    ``execute`` returns the cursor itself."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...

    def executemany(self, sql: Any, params: Any, /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class SQLStore:
    """The methods of a store that are the same on every SQL backend, over the backend's own
    hooks: ``_write`` and ``_read`` (a transaction's cursor), ``_rows`` (a query outside
    one), ``_insert_id`` (an INSERT's new ``id``), ``_stories``, ``get_many`` and ``close``.
    Shared SQL is written with ``?`` for a parameter; ``_sql`` puts the backend's ``MARK``."""

    MARK = "?"

    @classmethod
    def _sql(cls, sql: str) -> str:
        """``sql`` (no ``?`` nor ``%`` in its text but its parameters) in this backend's marks."""
        return sql if cls.MARK == "?" else sql.replace("?", cls.MARK)

    def _write(self) -> AbstractContextManager[Cursor]:
        """A writing transaction (one writer at a time), rolled back on any error."""
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Cursor]:
        """A read-only transaction: one snapshot for all its queries."""
        raise NotImplementedError

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one query (``sql`` in this backend's marks), outside any transaction."""
        raise NotImplementedError

    def _insert_id(self, cur: Cursor, sql: str, params: Sequence[Any]) -> int:
        """Run an ``INSERT`` (``sql`` with ``?`` marks) of one row; its new ``id``."""
        raise NotImplementedError

    def _stories(self, where: str, params: tuple[Any, ...]) -> list[StoryInfo]:
        rows = self._rows(STORIES_QUERY.format(where=where), params)
        return [StoryInfo(*row) for row in rows]

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def get(self, document: str) -> Document | None:
        found = self.get_many([document])
        return found[0] if found else None

    def story(self, key: int | str) -> StoryInfo | None:
        """The story with id ``key`` (an int, or a string of digits) or, failing that, named ``key``."""
        if isinstance(key, int) or key.isdigit():
            found = self._stories(f"WHERE s.id = {self.MARK}", (int(key),))
            if found or isinstance(key, int):
                return found[0] if found else None
        found = self._stories(f"WHERE s.name = {self.MARK}", (" ".join(str(key).split()),))
        return found[0] if found else None

    def stories(self) -> list[StoryInfo]:
        """Every story not merged into another, the most recently changed first."""
        return self._stories("WHERE s.merged_into IS NULL", ())

    # -- documents

    def _save_sketch(self, cur: Cursor, seq: int, sketch: Sketch) -> None:
        """Keep document ``seq``'s sketch, replacing the one it had."""
        raise NotImplementedError

    def _save_annotations(self, cur: Cursor, seq: int, annotations: Annotations, *,
                          replace: bool) -> None:
        """Attach document ``seq``'s annotations (``replace``: over any it has; else only if it
        has none), its sentences to the search index with them."""
        raise NotImplementedError

    def _insert_document(self, cur: Cursor, doc: Document, duplicate_of: int | None,
                         newest: int) -> int:
        """Insert ``doc``'s row, ``newest`` being the highest stored ``seq``; its ``seq``."""
        raise NotImplementedError

    def add_document(self, doc: Document, *, check: DuplicateCheck | None = None) -> AddResult:
        """Store ``doc`` in one transaction (see ``DocumentStore.add_document``). ``doc`` must
        carry its ``content_hash``."""
        _require_hash(doc)
        with self._write() as cur:
            return self._add(cur, doc, check)

    def add_documents(self, docs: Sequence[Document]) -> list[AddResult]:
        """Store ``docs`` in one transaction, each as ``add_document`` without a check
        (see ``DocumentStore.add_documents``)."""
        for doc in docs:
            _require_hash(doc)
        if not docs:
            return []
        with self._write() as cur:
            return [self._add(cur, doc, None) for doc in docs]

    def _add(self, cur: Cursor, doc: Document, check: DuplicateCheck | None) -> AddResult:
        """``add_document``'s work inside the writing transaction ``cur``."""
        existing = cur.execute(self._sql(
            "SELECT seq, origin, duplicate_of FROM documents WHERE content_hash = ?"),
            (doc.content_hash,)).fetchone()
        if existing is not None:
            if doc.annotations is not None:
                self._save_annotations(cur, existing[0], doc.annotations, replace=False)
            return self._add_origin_to_existing(cur, existing, doc.origin)
        newest = int(cur.execute("SELECT coalesce(max(seq), 0) FROM documents").fetchone()[0])
        if check is not None and newest > (seq_of(check.seen_through) or 0):
            raise StaleCheck(f"{doc_id(newest)} was stored after the duplicate check")
        original = self._stored_seq(cur, doc.duplicate_of)
        seq = self._insert_document(cur, doc, original, newest)
        if check is not None:
            self._save_sketch(cur, seq, check.sketch)
        if doc.annotations is not None:
            self._save_annotations(cur, seq, doc.annotations, replace=True)
        if original is not None:
            self._record_origin(cur, original, doc.origin, "near")
        return AddResult(doc_id(seq), created=True,
                         duplicate_of=doc_id(original) if original is not None else None)

    def correct_document(self, doc_id: str, correction: SourceCorrection) -> Document:
        """Set the corrected fields on the document's row and record each change (see
        ``DocumentStore.correct_document``)."""
        fields = correction.fields()
        at = now(precise=True)
        with self._write() as cur:
            seq = self._stored_or_key_error(cur, doc_id)
            for name, value in fields.items():
                previous = cur.execute(self._sql(f"SELECT {name} FROM documents WHERE seq = ?"),
                                       (seq,)).fetchone()[0]
                cur.execute(self._sql(f"UPDATE documents SET {name} = ? WHERE seq = ?"), (value, seq))
                cur.execute(self._sql(
                    "INSERT INTO document_corrections (document, field, previous, value, corrected_at)"
                    " VALUES (?, ?, ?, ?, ?)"), (seq, name, previous, value, at))
            if "published" in fields:
                cur.execute(self._sql("UPDATE documents SET published_from = 'corrected' WHERE seq = ?"),
                            (seq,))
            (document,) = self._documents_where(cur, self._sql("WHERE seq = ?"), (seq,))
        return document

    def find_by_hash(self, hash_: str) -> Document | None:
        """The document whose ``content_hash`` (``storyline.story.dedupe.content_hash``) is ``hash_``."""
        with self._read() as cur:
            found = self._documents_where(cur, self._sql("WHERE content_hash = ?"), (hash_,))
        return found[0] if found else None

    def get_many(self, ids: Sequence[str], *, with_annotations: bool = False) -> list[Document]:
        """The stored documents among ``ids``, in the order given (unknown ids left out)."""
        seqs = sorted({seq for seq in map(seq_of, ids) if seq is not None})
        by_id: dict[str, Document] = {}
        with self._read() as cur:  # one snapshot for all queries
            for condition, params in self._any_of("seq", seqs):
                for doc in self._documents_where(cur, f"WHERE {condition}", params,
                                                 with_annotations=with_annotations):
                    by_id[doc.id or ""] = doc
        return [by_id[key] for key in ids if key in by_id]

    def iter_documents(
        self, *, with_annotations: bool = False, chunk_size: int = ITER_CHUNK
    ) -> Iterator[Document]:
        """Every document in insertion order (S1, S2, ...), read by keyset ``chunk_size`` at a
        time, each chunk in its own read transaction (none is held while the caller works)."""
        def chunk(cur: Cursor, after: int, size: int) -> list[Document]:
            return self._documents_where(cur, self._sql("WHERE seq > ? ORDER BY seq LIMIT ?"),
                                         (after, size), with_annotations=with_annotations)
        return self._by_keyset(chunk, lambda doc: seq_of(doc.id) or 0, chunk_size)

    def content_hashes(self, *, chunk_size: int = 10 * ITER_CHUNK) -> Iterator[str]:
        """The content hash of every stored document, in insertion order, read by keyset
        ``chunk_size`` at a time (no text read)."""
        def chunk(cur: Cursor, after: int, size: int) -> list[tuple[int, str]]:
            return list(cur.execute(self._sql("SELECT seq, content_hash FROM documents"
                                              " WHERE seq > ? ORDER BY seq LIMIT ?"),
                                    (after, size)).fetchall())
        return (hash_ for _, hash_ in self._by_keyset(chunk, lambda row: row[0], chunk_size))

    def _by_keyset(self, read_chunk: Callable[[Cursor, int, int], list[_Row]],
                   seq_of_row: Callable[[_Row], int], chunk_size: int) -> Iterator[_Row]:
        """Rows in ``seq`` order, ``chunk_size`` at a time, each chunk read in its own read
        transaction: a keyset walk never holds a snapshot open while the caller works, and
        never loads the whole store (issue 16's streaming)."""
        last = 0
        while True:
            with self._read() as cur:
                rows = read_chunk(cur, last, chunk_size)
            if not rows:
                return
            yield from rows
            last = seq_of_row(rows[-1])

    def story_documents(self, story: int, *, with_annotations: bool = False,
                        with_text: bool = True) -> list[Document]:
        """The documents of a story in insertion order (S-id order), annotations attached if
        asked; without their text (empty) when not asked, for listings."""
        where = self._sql("WHERE seq IN (SELECT document FROM story_documents WHERE story = ?)"
                          " ORDER BY seq")
        with self._read() as cur:
            return self._documents_where(cur, where, (story,), with_annotations=with_annotations,
                                         with_text=with_text)

    def _documents_where(self, cur: Cursor, where: str, params: Sequence[Any], *,
                         with_annotations: bool = False, with_text: bool = True) -> list[Document]:
        """``select_documents``, through the backend module (where tests watch it)."""
        raise NotImplementedError

    def _record_origin(self, cur: Cursor, seq: int, origin: str, relation: str) -> bool:
        """``add_origin``, through the backend module (where tests watch it)."""
        raise NotImplementedError

    @classmethod
    def select_documents(cls, cur: Cursor, where: str, params: Sequence[Any], *,
                         with_annotations: bool = False, with_text: bool = True) -> list[Document]:
        """The documents a ``WHERE ...`` clause (in this backend's marks) selects, with their
        origins (and annotations)."""
        columns = COLUMNS if with_text else tuple("'' AS text" if c == "text" else c for c in COLUMNS)
        rows = cur.execute(f"SELECT seq, {', '.join(columns)} FROM documents {where}",
                           params).fetchall()
        seqs = [row[0] for row in rows]
        origins: dict[int, list[str]] = {}
        annotations: dict[int, Annotations] = {}
        for condition, part in cls._any_of("document", seqs):
            for document, origin in cur.execute(
                    f"SELECT document, origin FROM document_origins WHERE {condition} ORDER BY id",
                    part).fetchall():
                origins.setdefault(document, []).append(origin)
            if with_annotations:
                annotations.update(
                    (seq, Annotations.from_dict(json.loads(data))) for seq, data in cur.execute(
                        f"SELECT document, data FROM annotations WHERE {condition}", part).fetchall())
        docs = []
        for row in rows:
            doc = row_to_document(row)
            doc.also_at = origins.get(row[0], [])
            doc.annotations = annotations.get(row[0])
            docs.append(doc)
        return docs

    def _stored_or_key_error(self, cur: Cursor, document: str) -> int:
        """The row of the stored document ``document``; ``KeyError`` when there is none."""
        seq = seq_of(document.strip())
        if seq is None or cur.execute(self._sql("SELECT 1 FROM documents WHERE seq = ?"),
                                      (seq,)).fetchone() is None:
            raise KeyError(f"no stored document {document!r}")
        return seq

    def _stored_seq(self, cur: Cursor, document: str | None) -> int | None:
        """The row of the stored document ``document`` (None: none given; ``KeyError``: not stored)."""
        if document is None:
            return None
        seq = seq_of(document)
        if seq is None or cur.execute(self._sql("SELECT 1 FROM documents WHERE seq = ?"),
                                      (seq,)).fetchone() is None:
            raise KeyError(f"duplicate_of {document!r}: no such stored document")
        return seq

    def _add_origin_to_existing(self, cur: Cursor, existing: Sequence[Any], origin: str) -> AddResult:
        seq, first_origin, duplicate_of = existing
        added = origin != first_origin and self._record_origin(cur, seq, origin, "exact")
        dup = doc_id(duplicate_of) if duplicate_of is not None else None
        return AddResult(doc_id(seq), created=False, duplicate_of=dup, origin_added=added)

    @classmethod
    def add_origin(cls, cur: Cursor, seq: int, origin: str, relation: str) -> bool:
        """Append ``origin`` to document ``seq``'s ``also_at`` unless it is already known there."""
        first = cur.execute(cls._sql("SELECT origin FROM documents WHERE seq = ?"), (seq,)).fetchone()
        if first is None or first[0] == origin:
            return False
        return bool(cur.execute(cls._sql(
            "INSERT INTO document_origins (document, origin, relation, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"), (seq, origin, relation, now())).rowcount > 0)

    # -- near-duplicate sketches and what story detection keeps

    def sketches(self, kind: str, *, after: str | None = None) -> Iterator[StoredSketch]:
        """Every document after ``after`` in insertion order, with its sketch of ``kind`` if kept."""
        last = seq_of(after) or 0
        while True:
            rows = self._rows(self._sql(
                "SELECT d.seq, d.duplicate_of, k.data FROM documents d"
                " LEFT JOIN sketches k ON k.document = d.seq AND k.kind = ?"
                " WHERE d.seq > ? ORDER BY d.seq LIMIT ?"), (kind, last, SKETCHES_PER_READ))
            if not rows:  # all fetched: the caller may write between two rows
                return
            for seq, duplicate_of, data in rows:
                original = doc_id(duplicate_of) if duplicate_of is not None else None
                yield StoredSketch(doc_id(seq), original, None if data is None else bytes(data))
            last = rows[-1][0]

    def save_sketches(self, sketches: Mapping[str, Sketch]) -> None:
        """Keep sketches of stored documents, replacing theirs (``KeyError``: an unknown id)."""
        with self._write() as cur:
            for document, sketch in sketches.items():
                seq = seq_of(document)
                if seq is None:
                    raise KeyError(document)
                try:
                    self._save_sketch(cur, seq, sketch)
                except self.MISSING_ROW as exc:  # foreign key: no such document
                    raise KeyError(document) from exc

    def detection_vocabulary(self) -> tuple[int, dict[str, int]]:
        """(documents counted, documents holding each key)."""
        with self._read() as cur:
            documents = int(cur.execute("SELECT count(*) FROM story_features").fetchone()[0])
            rows = cur.execute("SELECT key, documents FROM story_vocabulary").fetchall()
        return documents, {key: count for key, count in rows}

    def story_profiles(self, stories: Sequence[int]) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        for condition, params in self._any_of("story", stories):
            rows = self._rows(f"SELECT story, data FROM story_profiles WHERE {condition}", params)
            found.update((story, bytes(data)) for story, data in rows)
        return found

    def sentence_vectors(self, doc_ids: Sequence[str]) -> dict[str, bytes]:
        """The sentence vectors kept when documents were filed, of those of ``doc_ids`` that
        have them (unknown ids are skipped)."""
        seqs = [seq for seq in map(seq_of, doc_ids) if seq is not None]
        found: dict[str, bytes] = {}
        for condition, params in self._any_of("document", seqs):
            rows = self._rows(f"SELECT document, data FROM sentence_vectors WHERE {condition}", params)
            found.update((doc_id(seq), bytes(data)) for seq, data in rows)
        return found

    # -- stories and storylines

    def count(self) -> int:
        return int(self._rows("SELECT count(*) FROM documents")[0][0])

    def found_story_of(self) -> dict[str, int]:
        """Every document in a found story, with its story."""
        rows = self._rows(
            "SELECT sd.document, sd.story FROM story_documents sd JOIN stories s ON s.id = sd.story"
            " WHERE s.kind = 'found' AND s.merged_into IS NULL ORDER BY sd.document")
        return {doc_id(seq): story for seq, story in rows}

    def create_storyline(self, title: str | None) -> int:
        """A new, empty storyline; returns its id."""
        at = now()
        with self._write() as cur:
            return self._insert_id(
                cur, "INSERT INTO storylines (title, created_at, updated_at) VALUES (?, ?, ?)",
                (" ".join((title or "").split()) or None, at, at))

    def set_storyline(self, story: int, storyline: int | None) -> None:
        """Link ``story`` into ``storyline`` (None: into none)."""
        with self._write() as cur:
            self._live_story(cur, story)
            if storyline is not None:
                cur.execute(self._sql("UPDATE storylines SET updated_at = ? WHERE id = ?"),
                            (now(), storyline))
                if not cur.rowcount:
                    raise KeyError(f"no storyline {storyline}")
            cur.execute(self._sql("UPDATE stories SET storyline = ? WHERE id = ?"), (storyline, story))

    def storylines(self) -> list[StorylineInfo]:
        """Every storyline, oldest first, with its stories ordered by period start."""
        with self._read() as cur:
            lines = cur.execute("SELECT id, title FROM storylines ORDER BY id").fetchall()
            members = cur.execute(STORYLINE_MEMBERS_QUERY).fetchall()
        return storyline_infos(lines, members)

    def story_documents_key(self, story: int) -> str:
        """A fingerprint of a story's documents and their annotations: it changes when a document
        is added or re-annotated, which is when a cached briefing goes stale."""
        with self._read() as cur:
            rows = cur.execute(self._sql(
                "SELECT sd.document, a.annotator, a.created_at, length(a.data) FROM story_documents sd"
                " LEFT JOIN annotations a ON a.document = sd.document WHERE sd.story = ?"
                " ORDER BY sd.document"), (story,)).fetchall()
            # The latest correction of each corrected document (see ``documents_key``).
            corrected = cur.execute(self._sql(
                "SELECT c.document, max(c.id) FROM document_corrections c JOIN story_documents sd"
                " ON sd.document = c.document WHERE sd.story = ? GROUP BY c.document"
                " ORDER BY c.document"), (story,)).fetchall()
        return documents_key(rows, corrected)

    def story_document_times(self, story: int) -> dict[str, DocumentTimes]:
        """When each document of the story was stored (``documents.created_at``) and filed into
        the story (``story_documents.added_at``)."""
        rows = self._rows(self._sql(
            "SELECT d.seq, d.created_at, sd.added_at FROM story_documents sd"
            " JOIN documents d ON d.seq = sd.document WHERE sd.story = ? ORDER BY d.seq"), (story,))
        return {doc_id(seq): DocumentTimes(stored, filed) for seq, stored, filed in rows}

    def mark_briefed(self, story: int, at: str) -> None:
        """Keep ``at`` as the story's ``briefed_at`` (its ``updated_at`` is left alone: a
        briefing changes nothing in the story)."""
        with self._write() as cur:
            if cur.execute(self._sql("UPDATE stories SET briefed_at = ? WHERE id = ?"),
                           (at, story)).rowcount == 0:
                raise KeyError(f"no story {story}")

    # -- curation: each one transaction, checked whole before anything is written

    # What the driver raises for a row that names a missing one (a foreign key).
    MISSING_ROW: type[Exception] = Exception

    def create_story(self, name: str, title: str | None = None, *, kind: str = "named") -> StoryInfo:
        """The story named ``name`` (spaces normalised), created of ``kind`` if there is none yet."""
        clean = story_name(name)
        check_story_kind(kind)
        at = now()
        with self._write() as cur:
            cur.execute(self._sql("INSERT INTO stories (name, title, kind, created_at, updated_at)"
                                  " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING"),
                        (clean, title, kind, at, at))
        return self._stories(f"WHERE s.name = {self.MARK}", (clean,))[0]

    def add_to_story(self, story: int, doc_ids: Sequence[str]) -> int:
        """Put stored documents into a story; returns how many were not in it yet. Documents
        for a merged story go to the story it was merged into (an ingest may outlive a merge)."""
        seqs = [seq for seq in map(seq_of, doc_ids) if seq is not None]
        at = now(precise=True)
        added = 0
        with self._write() as cur:
            story = self._merged_target(cur, story)
            for seq in seqs:
                try:
                    added += cur.execute(self._sql(
                        "INSERT INTO story_documents (story, document, added_at) VALUES (?, ?, ?)"
                        " ON CONFLICT DO NOTHING"), (story, seq, at)).rowcount
                except self.MISSING_ROW as exc:  # foreign key: no such document
                    raise KeyError(f"no stored document {doc_id(seq)}") from exc
            if added:
                self._touch(cur, at, story)
        return added

    def move_documents(self, doc_ids: Sequence[str], from_story: int, to_story: int) -> int:
        """Documents of ``from_story`` leave it and join ``to_story``; returns how many joined."""
        with self._write() as cur:
            self._live_story(cur, from_story)
            self._live_story(cur, to_story)
            if from_story == to_story:
                raise UsageError(f"the documents are in story {from_story} already")
            seqs = self._members(cur, from_story, doc_ids, "move")
            return self._move(cur, seqs, from_story, to_story)

    def merge_stories(self, keep: int, other: int) -> StoryInfo:
        """``other``'s documents join ``keep``; ``other`` is marked merged into ``keep``."""
        with self._write() as cur:
            if keep == other:
                self._live_story(cur, keep)
                raise UsageError(f"cannot merge story {keep} into itself")
            self._live_story(cur, keep)
            self._live_story(cur, other)
            at = now(precise=True)
            seqs = [row[0] for row in cur.execute(self._sql(
                "SELECT document FROM story_documents WHERE story = ?"), (other,)).fetchall()]
            self._move(cur, seqs, other, keep)
            # Stories merged into ``other`` earlier now lead to ``keep`` in one step.
            cur.execute(self._sql("UPDATE stories SET merged_into = ? WHERE merged_into = ? OR id = ?"),
                        (keep, other, other))
            # The kept story joins the other's storyline when it had none of its own.
            cur.execute(self._sql("UPDATE stories SET storyline = coalesce(storyline,"
                                  " (SELECT storyline FROM stories WHERE id = ?)) WHERE id = ?"),
                        (other, keep))
            self._touch(cur, at, keep, other)
        return self._stories(f"WHERE s.id = {self.MARK}", (keep,))[0]

    def remove_documents(self, story: int, doc_ids: Sequence[str]) -> int:
        """Documents leave ``story``; they stay stored (see ``StoryStore.remove_documents``)."""
        with self._write() as cur:
            self._live_story(cur, story)
            seqs = self._members(cur, story, doc_ids, "remove")
            check_leaves_some(story, len(seqs), self._held(cur, story))
            self._leave(cur, story, seqs)
            self._touch(cur, now(precise=True), story)
        return len(seqs)

    def split_story(self, story: int, doc_ids: Sequence[str], name: str) -> StoryInfo:
        """A new story named ``name``, of ``story``'s kind, holding ``doc_ids`` (which leave
        ``story``); it belongs to no storyline until one is set."""
        clean = story_name(name)
        with self._write() as cur:
            kind = self._live_story(cur, story)[1]
            if not doc_ids:
                raise UsageError("a split needs documents: name the ones that form the new story")
            seqs = self._members(cur, story, doc_ids, "split off")
            check_split(story, len(seqs), self._held(cur, story))
            taken = cur.execute(self._sql("SELECT id FROM stories WHERE name = ?"), (clean,)).fetchone()
            if taken:
                raise UsageError(f"a story named {clean!r} exists already (story {taken[0]})")
            at = now()
            new = self._insert_id(cur, "INSERT INTO stories (name, kind, created_at, updated_at)"
                                  " VALUES (?, ?, ?, ?)", (clean, kind, at, at))
            self._move(cur, seqs, story, new)
        return self._stories(f"WHERE s.id = {self.MARK}", (new,))[0]

    @classmethod
    def _any_of(cls, column: str, values: Sequence[int]) -> Iterator[tuple[str, list[Any]]]:
        """``column`` is one of ``values``: (condition, its parameters) for each query to run,
        in this backend's marks (here ``IN`` lists of at most ``IDS_PER_QUERY``)."""
        for part in parts(values):
            yield f"{column} IN ({', '.join(cls.MARK for _ in part)})", list(part)

    def _held(self, cur: Cursor, story: int) -> int:
        return int(cur.execute(self._sql("SELECT count(*) FROM story_documents WHERE story = ?"),
                               (story,)).fetchone()[0])

    def _members(self, cur: Cursor, story: int, doc_ids: Sequence[str], verb: str) -> list[int]:
        """The rows of ``doc_ids`` (each once, in order), all of them documents of ``story``:
        ``KeyError`` for an id of no stored document, ``UsageError`` for one not in the story."""
        if not doc_ids:
            raise nothing_named(verb)
        seqs: list[int] = []
        for document in doc_ids:
            seq = seq_of(document.strip())
            if seq is None or cur.execute(self._sql("SELECT 1 FROM documents WHERE seq = ?"),
                                          (seq,)).fetchone() is None:
                raise KeyError(f"no stored document {document!r}")
            if seq not in seqs:
                seqs.append(seq)
        held: set[int] = set()
        for condition, params in self._any_of("document", seqs):
            held.update(row[0] for row in cur.execute(
                f"SELECT document FROM story_documents WHERE story = {self.MARK} AND {condition}",
                (story, *params)).fetchall())
        check_members(story, seqs, held, verb)
        return seqs

    def _move(self, cur: Cursor, seqs: Sequence[int], source: int, target: int) -> int:
        """Documents ``seqs`` join ``target`` (those already there stay once) and leave ``source``;
        returns how many joined. They are filed into ``target`` now, to the microsecond (what is
        new there since a briefing or a visit counts them from now)."""
        at = now(precise=True)
        joined = 0
        for seq in seqs:
            joined += cur.execute(self._sql(
                "INSERT INTO story_documents (story, document, added_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING"), (target, seq, at)).rowcount
        self._leave(cur, source, seqs)
        self._touch(cur, at, source, target)
        return joined

    def _leave(self, cur: Cursor, story: int, seqs: Sequence[int]) -> None:
        for condition, params in self._any_of("document", seqs):
            cur.execute(f"DELETE FROM story_documents WHERE story = {self.MARK} AND {condition}",
                        (story, *params))

    def _touch(self, cur: Cursor, at: str, *stories: int) -> None:
        for condition, params in self._any_of("id", stories):
            cur.execute(f"UPDATE stories SET updated_at = {self.MARK} WHERE {condition}",
                        (at, *params))

    # -- what story detection writes (within the backend's ``save_detection``)

    def _create_found_story(self, cur: Cursor, title: str, at: str) -> int:
        """A new found story: named ``found-ID`` (names are unique; titles need not be)."""
        story = self._insert_id(cur, "INSERT INTO stories (name, title, kind, created_at, updated_at)"
                                " VALUES (?, ?, 'found', ?, ?)",
                                (f"found-pending-{uuid.uuid4().hex}", title or None, at, at))
        cur.execute(self._sql("UPDATE stories SET name = ? WHERE id = ?"), (f"found-{story}", story))
        return story

    def _file_found(self, cur: Cursor, seq: int, story: int, at: str) -> None:
        """Put a document into a found story, out of any other found story it was in."""
        cur.execute(self._sql(
            "DELETE FROM story_documents WHERE document = ? AND story != ? AND EXISTS"
            " (SELECT 1 FROM stories s WHERE s.id = story_documents.story AND s.kind = 'found')"),
            (seq, story))
        if cur.execute(self._sql("INSERT INTO story_documents (story, document, added_at)"
                                 " VALUES (?, ?, ?) ON CONFLICT DO NOTHING"), (story, seq, at)).rowcount:
            cur.execute(self._sql("UPDATE stories SET updated_at = ? WHERE id = ?"), (at, story))

    def _merge_found(self, cur: Cursor, other: int, keep: int, at: str) -> None:
        """Detection's merge: ``other``'s documents join ``keep``; ``other`` points at it."""
        for sql, params in (
            ("INSERT INTO story_documents (story, document, added_at)"
             " SELECT ?, document, ? FROM story_documents WHERE story = ? ON CONFLICT DO NOTHING",
             (keep, at, other)),
            ("DELETE FROM story_documents WHERE story = ?", (other,)),
            ("DELETE FROM story_profiles WHERE story = ?", (other,)),
            ("UPDATE stories SET merged_into = ?, updated_at = ? WHERE id = ?", (keep, at, other)),
            ("UPDATE stories SET merged_into = ? WHERE merged_into = ?", (keep, other)),
            ("UPDATE stories SET updated_at = ? WHERE id = ?", (at, keep)),
        ):
            cur.execute(self._sql(sql), params)

    def _live_story(self, cur: Cursor, story: int) -> tuple[int, str]:
        """(id, kind) of ``story``: ``KeyError`` when there is none, ``MergedStory`` when merged."""
        row = cur.execute(self._sql("SELECT id, kind, merged_into FROM stories WHERE id = ?"),
                          (story,)).fetchone()
        if row is None:
            raise KeyError(f"no story {story}")
        if row[2] is not None:
            raise MergedStory(story, row[2])
        return row[0], row[1]

    def _merged_target(self, cur: Cursor, story: int) -> int:
        """``story``, or the story it was merged into (``KeyError``: no such story)."""
        row = cur.execute(self._sql("SELECT merged_into FROM stories WHERE id = ?"),
                          (story,)).fetchone()
        if row is None:
            raise KeyError(f"no story {story}")
        return int(row[0]) if row[0] is not None else story

    # -- the briefing cache

    def cached_briefing(self, story: int, words: int, documents_key: str) -> str | None:
        """The stored briefing JSON of ``story`` at ``words`` if made from ``documents_key``."""
        rows = self._rows(self._sql("SELECT data FROM briefings WHERE story = ? AND words = ?"
                                    " AND documents_key = ?"), (story, words, documents_key))
        return str(rows[0][0]) if rows else None

    def latest_briefing(self, story: int, words: int) -> tuple[str, str] | None:
        """(documents key, JSON) of the story's last briefing at ``words``, current or not."""
        rows = self._rows(self._sql("SELECT documents_key, data FROM briefings WHERE story = ?"
                                    " AND words = ? ORDER BY created_at DESC LIMIT 1"), (story, words))
        return (rows[0][0], rows[0][1]) if rows else None

    def save_briefing(
        self, story: int, words: int, documents_key: str, data: str, *, title: str | None = None
    ) -> None:
        """Keep a story's briefing JSON (one per story and length); ``title`` becomes the story's."""
        with self._write() as cur:
            cur.execute(self._sql(
                "INSERT INTO briefings (story, words, documents_key, data, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (story, words) DO UPDATE SET"
                " documents_key = excluded.documents_key, data = excluded.data,"
                " created_at = excluded.created_at"), (story, words, documents_key, data, now()))
            if title:
                cur.execute(self._sql("UPDATE stories SET title = ? WHERE id = ?"), (title, story))

    # -- outlets (the user's own registry entries; ``storyline.outlets`` merges them with the
    # packaged list, and they take precedence)

    # How each backend keeps names case-insensitive: what ``ON CONFLICT`` names, the test of a
    # row's name against a parameter; and the column that orders outlets as first added.
    OUTLET_KEY = "name"
    OUTLET_NAMED = "name = ?"
    OUTLET_ORDER = "rowid"

    def add_outlet(self, outlet: Outlet) -> None:
        """Store ``outlet``, replacing a stored outlet of the same name (case-insensitive)."""
        with self._write() as cur:
            cur.execute(self._sql(
                "INSERT INTO outlets (name, domains, aliases, country, ownership, created_at)"
                f" VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT ({self.OUTLET_KEY}) DO UPDATE SET"
                " name = excluded.name, domains = excluded.domains, aliases = excluded.aliases,"
                " country = excluded.country, ownership = excluded.ownership"),
                outlet_row(outlet, now()))

    def outlets(self) -> list[Outlet]:
        """The user's outlets, in the order they were first added."""
        rows = self._rows("SELECT name, domains, aliases, country, ownership FROM outlets"
                          f" ORDER BY {self.OUTLET_ORDER}")
        return [outlet_of(row) for row in rows]

    def remove_outlet(self, name: str) -> bool:
        """Forget the user's outlet ``name`` (case-insensitive); False when there was none."""
        with self._write() as cur:
            return bool(cur.execute(self._sql(f"DELETE FROM outlets WHERE {self.OUTLET_NAMED}"),
                                    (" ".join(name.split()),)).rowcount > 0)

    # -- watched sources and the articles they listed (``WatchStore``)

    # What ``LIMIT ?`` takes for "no limit".
    NO_LIMIT: Any = None

    def add_watch_source(self, url: str, *, kind: str, title: str | None = None,
                         allow_private: bool = False, interval: int | None = None
                         ) -> tuple[WatchSource, bool]:
        with self._write() as cur:
            added = cur.execute(self._sql(
                'INSERT INTO watch_sources (url, kind, title, allow_private, "interval", added_at)'
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING"),
                (url, kind, title, allow_private, interval, now())).rowcount > 0
            row = cur.execute(self._sql(f"SELECT {WATCH_SOURCE_COLUMNS} FROM watch_sources"
                                        " WHERE url = ?"), (url,)).fetchone()
        assert row is not None
        return watch_source(row), added

    def watch_sources(self) -> list[WatchSource]:
        return [watch_source(row) for row in self._rows(
            f"SELECT {WATCH_SOURCE_COLUMNS} FROM watch_sources ORDER BY id")]

    def remove_watch_source(self, key: int | str) -> bool:
        column = "id" if isinstance(key, int) else "url"
        with self._write() as cur:
            return bool(cur.execute(self._sql(f"DELETE FROM watch_sources WHERE {column} = ?"),
                                    (key,)).rowcount > 0)

    def mark_due(self, source: int) -> bool:
        with self._write() as cur:
            return bool(cur.execute(self._sql("UPDATE watch_sources SET next_poll = NULL WHERE id = ?"),
                                    (source,)).rowcount > 0)

    def _move_source(self, cur: Cursor, source: int, url: str) -> None:
        """Source ``source`` is polled at ``url`` from now on, unless ``url`` is watched already."""
        raise NotImplementedError

    def record_poll(self, source: int, record: PollRecord, items: Sequence[ListedItem]) -> int:
        at = now(precise=True)
        with self._write() as cur:
            new = 0
            for item in items:
                new += cur.execute(self._sql(
                    "INSERT INTO watch_items (key, url, source, title, published, seen_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"),
                    (item.key, item.url, source, item.title, item.published, at, at)).rowcount
            cur.execute(self._sql(
                "UPDATE watch_sources SET last_poll = ?, next_poll = ?, last_status = ?,"
                " last_error = ?, etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),"
                " content_hash = coalesce(?, content_hash), failures = ?, last_new = ?,"
                " title = coalesce(title, ?) WHERE id = ?"),
                (record.polled_at, record.next_poll, record.status, record.error, record.etag,
                 record.last_modified, record.content_hash, record.failures, new, record.title,
                 source))
            if record.moved_to is not None:
                # A feed that moved for good is polled at its new address (unless watched there).
                self._move_source(cur, source, record.moved_to)
        return new

    def pending_items(self, limit: int | None = None) -> list[WatchItem]:
        rows = self._rows(self._sql(
            f"SELECT {WATCH_ITEM_COLUMNS} FROM watch_items WHERE state IN ('new', 'fetched')"
            " ORDER BY seq LIMIT ?"), (self.NO_LIMIT if limit is None else limit,))
        return [WatchItem(*row) for row in rows]

    def save_item_page(self, key: str, body: bytes, content_type: str, final_url: str) -> None:
        with self._write() as cur:
            cur.execute(self._sql(
                "UPDATE watch_items SET state = 'fetched', body = ?, content_type = ?,"
                " final_url = ?, attempts = attempts + 1, error = NULL, updated_at = ?"
                " WHERE key = ?"), (body, content_type, final_url, now(precise=True), key))

    def item_failed(self, key: str, error: str, *, give_up: bool) -> None:
        with self._write() as cur:
            cur.execute(self._sql(
                "UPDATE watch_items SET attempts = attempts + 1, error = ?, body = NULL,"
                " state = CASE WHEN ? THEN 'failed' ELSE 'new' END, updated_at = ? WHERE key = ?"),
                (error, give_up, now(precise=True), key))

    def items_stored(self, documents: Mapping[str, str]) -> None:
        at = now(precise=True)
        with self._write() as cur:
            cur.executemany(self._sql(
                "UPDATE watch_items SET state = 'stored', document = ?, body = NULL, error = NULL,"
                " updated_at = ? WHERE key = ?"),
                [(document, at, key) for key, document in documents.items()])

    def watch_item_counts(self) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {}
        for source, state, count in self._rows(
                "SELECT source, state, count(*) FROM watch_items WHERE source IS NOT NULL"
                " GROUP BY source, state"):
            counts.setdefault(source, {})[state] = count
        return counts

    # -- story updates and alerts

    def add_story_update(self, story: int, made_at: str, title: str, lines: Sequence[str],
                         sources: Sequence[str]) -> StoryUpdate:
        with self._write() as cur:
            new = self._insert_id(
                cur, "INSERT INTO story_updates (story, made_at, title, lines, sources)"
                " VALUES (?, ?, ?, ?, ?)",
                (story, made_at, title, json.dumps(list(lines), ensure_ascii=False),
                 json.dumps(list(sources), ensure_ascii=False)))
        return StoryUpdate(new, story, made_at, title, tuple(lines), tuple(sources))

    def story_updates(self, story: int, limit: int = 50) -> list[StoryUpdate]:
        rows = self._rows(self._sql(
            "SELECT id, story, made_at, title, lines, sources FROM story_updates"
            " WHERE story = ? ORDER BY id DESC LIMIT ?"), (story, limit))
        return [story_update_of(row) for row in rows]

    def add_alert(self, query: str) -> tuple[Alert, bool]:
        with self._write() as cur:
            added = cur.execute(self._sql("INSERT INTO alerts (query, created_at) VALUES (?, ?)"
                                          " ON CONFLICT (query) DO NOTHING"),
                                (query, now())).rowcount > 0
            row = cur.execute(self._sql("SELECT id, query, created_at FROM alerts WHERE query = ?"),
                              (query,)).fetchone()
        assert row is not None
        return Alert(*row), added

    def alerts(self) -> list[Alert]:
        return [Alert(*row) for row in self._rows(
            "SELECT id, query, created_at FROM alerts ORDER BY id")]

    def remove_alert(self, alert: int) -> bool:
        with self._write() as cur:
            return bool(cur.execute(self._sql("DELETE FROM alerts WHERE id = ?"),
                                    (alert,)).rowcount > 0)


# --------------------------------------------------------------------------- rows and checks


def _require_hash(doc: Document) -> None:
    if not doc.content_hash:
        raise ValueError(f"{doc.origin}: a document is stored with its content_hash")


def outlet_row(outlet: Outlet, at: str) -> tuple[Any, ...]:
    """(name, domains, aliases, country, ownership, created_at) of an outlet to store."""
    return (outlet.name, json.dumps(list(outlet.domains), ensure_ascii=False),
            json.dumps(list(outlet.aliases), ensure_ascii=False), outlet.country,
            outlet.ownership, at)


def outlet_of(row: Sequence[Any]) -> Outlet:
    """An outlet of a row (name, domains, aliases, country, ownership)."""
    name, domains, aliases, country, ownership = row
    return Outlet(name, tuple(json.loads(domains)), tuple(json.loads(aliases)), country, ownership)


def story_update_of(row: Sequence[Any]) -> StoryUpdate:
    """A story update of a row (id, story, made_at, title, lines, sources)."""
    return StoryUpdate(row[0], row[1], row[2], row[3], tuple(json.loads(row[4])),
                       tuple(json.loads(row[5])))


def check_leaves_some(story: int, removed: int, holds: int) -> None:
    """A removal must leave the story a source (``InvalidValue``)."""
    if removed >= holds:
        raise InvalidValue(
            f"cannot remove {'the last source' if holds == 1 else 'every source'} of "
            f"story {story}: a story keeps at least one (merge it into another instead)")


def check_split(story: int, split: int, holds: int) -> None:
    """A split must take some of the story's documents, not all (``UsageError``)."""
    if split >= holds:
        raise UsageError(f"a split must leave documents in story {story}: "
                         "all of them were named (rename or merge the story instead)")


def check_members(story: int, seqs: Sequence[int], held: set[int], verb: str) -> None:
    """Every one of ``seqs`` must be in the story (``UsageError`` naming those that are not)."""
    strays = [doc_id(seq) for seq in seqs if seq not in held]
    if strays:
        raise UsageError(f"cannot {verb} {', '.join(strays)}: not in story {story}")


def nothing_named(verb: str) -> UsageError:
    return UsageError(f"nothing to {verb}: name the documents (S1, S2, ...)")
