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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from storyline.errors import InvalidValue, UsageError
from storyline.model import Document
from storyline.outlets import Outlet
from storyline.resources import read_data
from storyline.store.base import StoryInfo, StorylineInfo, StoryUpdate, WatchSource

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


def default_db_location() -> Path:
    """``$XDG_DATA_HOME/storyline/storyline.db``, XDG's default being ``~/.local/share``."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says to ignore a relative value: it would depend on the working directory.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "storyline" / DB_FILENAME


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

    @classmethod
    def packaged(cls) -> SearchRules:
        data = read_data("search.json")
        return cls(data["min_part_chars"], data["max_split_chars"], data["max_phrase_words"],
                   frozenset(data["not_parts"]))


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


class SQLStore:
    """The methods of a store that are the same on every SQL backend, over the backend's own
    ``_stories``, ``get_many`` and ``close``; ``MARK`` is its parameter placeholder."""

    MARK = "?"

    def _stories(self, where: str, params: tuple[Any, ...]) -> list[StoryInfo]:
        raise NotImplementedError

    def get_many(self, ids: Sequence[str], *, with_annotations: bool = False) -> list[Document]:
        raise NotImplementedError

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


# --------------------------------------------------------------------------- rows and checks


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
