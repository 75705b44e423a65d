"""The storage interface, backend-neutral: small protocols split by concern, and their values.

``Store`` combines them; ``storyline.store.sqlite.SQLiteStore`` is the embedded backend, and a
second backend (PostgreSQL) implements the same protocols with the same semantics:

* documents get ids ``S1``, ``S2``, ... per database, in insertion order, never reused; a document
  stored becomes visible to every reader at once and whole (one transaction per document);
* the content hash (``Document.content_hash``, ``storyline.story.dedupe.content_hash``) is
  unique: the same content is stored once. Seen again from another origin, that origin is
  appended to the document's ``also_at``; seen again from a known origin, nothing changes;
* the near-duplicate verdict is the caller's (the pipeline's): a document given with
  ``duplicate_of`` set is stored as its own document pointing at that original, AND its origin is
  appended to the original's ``also_at``. With a ``DuplicateCheck`` the store keeps the
  document's sketch and refuses (``StaleCheck``) a verdict made before a document it did not see
  was stored, so that two writers never both store near copies of each other as originals.

Nothing here names a backend's mechanics (SQL, FTS markers, file paths).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from storyline.errors import UsageError
from storyline.model import Annotations, Document
from storyline.outlets import Outlet

# Documents read per round trip by ``iter_documents``: a bounded amount of memory whatever the
# size of the store, few enough queries to be fast.
ITER_CHUNK = 200


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
class Sketch:
    """A document's near-duplicate signature, opaque to the store. ``kind`` names the method
    that made ``data`` (a sketch of another kind counts as none); empty ``data``: the text is
    too short to compare."""

    kind: str
    data: bytes


@dataclass(frozen=True)
class DuplicateCheck:
    """What a near-duplicate verdict (the document's ``duplicate_of``) was based on:
    ``seen_through`` is the newest stored document it considered (None: the store was empty);
    ``sketch`` is kept with the new document for later verdicts."""

    seen_through: str | None
    sketch: Sketch


class StaleCheck(Exception):
    """A document was stored after the ``DuplicateCheck`` was made: judge again and retry."""


@dataclass(frozen=True)
class StoredSketch:
    """A stored document's sketch of one kind, with its stored verdict; ``data`` None: no sketch
    of that kind is stored for it (made before sketches were kept, or by another method)."""

    id: str
    duplicate_of: str | None
    data: bytes | None


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
    kind: str = "named"  # "named": filed by hand; "found": made by story detection
    storyline: int | None = None  # the storyline the story belongs to, if linked
    merged_into: int | None = None  # set when the story was merged into that one
    briefed_at: str | None = None  # when it was last briefed on request (``--since last``)


@dataclass(frozen=True)
class StorylineInfo:
    """A storyline: stories of one thread, ``stories`` their ids ordered by period start
    (stories without dated documents last). Merged stories are not listed."""

    id: int
    title: str | None
    stories: tuple[int, ...] = ()


class MergedStory(UsageError):
    """A curation named a story that was merged into another (``merged_into``): the caller
    may redirect there. ``str(exc)`` is one clear line."""

    def __init__(self, story: int, merged_into: int) -> None:
        super().__init__(f"story {story} was already merged into {merged_into}")
        self.story = story
        self.merged_into = merged_into


@dataclass(frozen=True)
class SourceCorrection:
    """What a user corrects of a stored document's metadata: each field given replaces the
    stored one (None: left as it is). ``published`` is a day, ``YYYY-MM-DD``; values arrive
    checked and cleaned (``storyline.pipeline.curation.correct``)."""

    title: str | None = None
    outlet: str | None = None
    published: str | None = None

    def fields(self) -> dict[str, str]:
        """The fields given, by name."""
        given = {"title": self.title, "outlet": self.outlet, "published": self.published}
        return {name: value for name, value in given.items() if value is not None}


@dataclass(frozen=True)
class DocumentTimes:
    """When a document of a story reached the store (``stored_at``) and the story
    (``filed_at``), as ISO 8601 times in UTC: what "new since" means for an undated document or
    since the story's last briefing."""

    stored_at: str
    filed_at: str


@dataclass(frozen=True)
class SearchHit:
    """One sentence found by ``search``: ``text == document.text[start:end]``; ``story`` is the
    first story holding the document (None when it is in none). ``matches`` are the spans of
    ``text`` (offsets into ``text``, in order, not overlapping) that match the query's terms."""

    source: str
    story: int | None
    start: int
    end: int
    text: str
    matches: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class WatchSource:
    """An address ``storyline watch`` polls: a feed or a sitemap (``kind``), with what its last
    poll said. ``interval`` is its own polling interval in seconds (None: the watch's);
    ``etag``, ``last_modified`` and ``content_hash`` are the validators of its last answer;
    ``failures`` counts the polls that failed in a row; times are ISO 8601 in UTC."""

    id: int
    url: str
    kind: str
    title: str | None
    allow_private: bool
    interval: int | None
    added_at: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    last_poll: str | None = None
    last_status: int | None = None
    last_new: int = 0
    last_error: str | None = None
    failures: int = 0
    next_poll: str | None = None


@dataclass(frozen=True)
class PollRecord:
    """What one poll of a watched source found, kept with the items it listed
    (``WatchStore.record_poll``). ``moved_to``: the source answered with a permanent redirect
    there, and is polled there from now on."""

    polled_at: str
    next_poll: str
    status: int | None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    failures: int = 0
    moved_to: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class ListedItem:
    """An article a source listed: ``key`` its canonical address (one per article, whatever
    feed lists it), ``url`` the address to fetch."""

    key: str
    url: str
    title: str | None = None
    published: str | None = None


@dataclass(frozen=True)
class WatchItem:
    """An article the watch has seen: ``state`` is ``new`` (to fetch), ``fetched`` (its page
    kept in ``body``, to extract and store), ``stored`` (``document`` holds it) or ``failed``
    (given up after ``attempts``; ``error`` says why)."""

    key: str
    url: str
    source: int | None
    state: str
    attempts: int = 0
    error: str | None = None
    body: bytes | None = None
    content_type: str | None = None
    final_url: str | None = None
    document: str | None = None


@dataclass(frozen=True)
class StoryUpdate:
    """One update of a story's briefing, as its Atom feed offers it: when it was made, the
    briefing's title, the lines of its "what is new" (the summary, for a story's first
    briefing) and the sources they cite."""

    id: int
    story: int
    made_at: str
    title: str
    lines: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Alert:
    """A saved search: its Atom feed lists the stories whose sentences match ``query``."""

    id: int
    query: str
    created_at: str


class DocumentStore(Protocol):
    """The documents, their origins and their annotations."""

    def add_document(self, doc: Document, *, check: DuplicateCheck | None = None) -> AddResult:
        """Store ``doc`` in one transaction, honouring ``doc.duplicate_of`` (the caller's
        verdict); ``doc.id`` and ``also_at`` are ignored, and ``doc`` is not modified. Stored
        content (same hash) only gets the extra origin. Raises ``StaleCheck`` (nothing stored)
        when ``check`` is given and a document newer than ``check.seen_through`` is stored."""
        ...

    def add_documents(self, docs: Sequence[Document]) -> list[AddResult]:
        """Store ``docs`` in order, each as ``add_document`` stores it without a check, all in
        one transaction (all stored, or on an error none): a bulk load's path, which judges
        no near duplicates (a document's ``duplicate_of`` is still honoured) and keeps no
        sketches. One ``AddResult`` per document, in order."""
        ...

    def get(self, doc_id: str) -> Document | None: ...

    def get_many(self, ids: Sequence[str], *, with_annotations: bool = False) -> list[Document]:
        """The stored documents among ``ids``, in the order given (unknown ids left out)."""
        ...

    def iter_documents(
        self, *, with_annotations: bool = False, chunk_size: int = ITER_CHUNK
    ) -> Iterator[Document]:
        """Every document in insertion order, read ``chunk_size`` at a time (documents stored
        while iterating may be included)."""
        ...

    def find_by_hash(self, hash_: str) -> Document | None: ...

    def content_hashes(self, *, chunk_size: int = 10 * ITER_CHUNK) -> Iterator[str]:
        """The content hash of every stored document, in insertion order, read ``chunk_size``
        at a time (an ingest's workers are told which texts need no story features made:
        ``storyline.pipeline.annotation.StoredTexts``)."""
        ...

    def save_annotations(self, doc_id: str, annotations: Annotations) -> None: ...

    def correct_document(self, doc_id: str, correction: SourceCorrection) -> Document:
        """Give a stored document the fields ``correction`` sets, in one transaction, and
        record each change (the value it replaced, and when); returns the document as now. A
        corrected date's ``published_from`` becomes ``"corrected"``. The corrections are the
        user's: content stored again (another ingest of it) leaves them as they are, and every
        story key (``story_documents_key``) holding the document changes, so cached briefings
        of it are made again. ``KeyError``: no such document."""
        ...

    def count(self) -> int: ...

    def change_token(self) -> object:
        """A value that differs whenever anything was stored since it was last read, by this or
        any other connection (tokens of two store objects never compare equal)."""
        ...


class SketchStore(Protocol):
    """The near-duplicate sketches kept with the documents (the pipeline's verdicts read them)."""

    def sketches(self, kind: str, *, after: str | None = None) -> Iterator[StoredSketch]:
        """Every document stored after document ``after`` (None: from the first), in insertion
        order, with its sketch of ``kind`` if one is stored."""
        ...

    def save_sketches(self, sketches: Mapping[str, Sketch]) -> None:
        """Keep sketches of stored documents (by id), replacing theirs."""
        ...


class OutletStore(Protocol):
    """The user's own outlet registry entries (``storyline.outlets`` merges them over the
    packaged list, and they take precedence)."""

    def add_outlet(self, outlet: Outlet) -> None: ...

    def outlets(self) -> list[Outlet]: ...

    def remove_outlet(self, name: str) -> bool: ...


class StoryStore(Protocol):
    """Stories: named sets of stored documents, linked into storylines, curated by hand.

    Each curation (move, merge, split, removal, storyline link) is one transaction: it happens whole or
    not at all, and no document leaves a story without joining another. Unknown story or
    document ids raise ``KeyError``; a story merged earlier raises ``MergedStory``; other
    impossible requests ``UsageError``. A merged story keeps its row (``merged_into`` set, no
    documents), so old ids and links still lead somewhere; ``stories()`` leaves it out.
    """

    def story(self, key: int | str) -> StoryInfo | None:
        """The story with id or name ``key``, merged or not (None: there is none)."""
        ...

    def create_story(self, name: str, title: str | None = None, *, kind: str = "named") -> StoryInfo:
        """The story named ``name``, created (of ``kind``: "named" or "found") if there is none."""
        ...

    def add_to_story(self, story: int, doc_ids: Sequence[str]) -> int:
        """Put stored documents into a story (a merged story's go to the one it was merged
        into); returns how many were not in it yet."""
        ...

    def stories(self) -> list[StoryInfo]:
        """Every story not merged into another, the most recently changed first."""
        ...

    def move_documents(self, doc_ids: Sequence[str], from_story: int, to_story: int) -> int:
        """Documents of ``from_story`` leave it and join ``to_story``; returns how many joined
        (were not in ``to_story`` already). ``UsageError`` when one is not in ``from_story``."""
        ...

    def merge_stories(self, keep: int, other: int) -> StoryInfo:
        """``other``'s documents join ``keep`` and ``other`` is marked merged into it (stories
        merged into ``other`` earlier now point at ``keep``); returns ``keep`` as it is now."""
        ...

    def remove_documents(self, story: int, doc_ids: Sequence[str]) -> int:
        """Documents leave ``story`` (they stay stored, and in any other story holding them);
        returns how many left. ``UsageError`` when one is not in the story, ``InvalidValue``
        when they are all of its documents (a story keeps at least one source)."""
        ...

    def split_story(self, story: int, doc_ids: Sequence[str], name: str) -> StoryInfo:
        """A new story named ``name``, of ``story``'s kind, holding ``doc_ids``, which leave
        ``story``. ``UsageError``: no documents, all of them, one not in ``story``, a taken name."""
        ...

    def create_storyline(self, title: str | None) -> int:
        """A new, empty storyline; returns its id."""
        ...

    def set_storyline(self, story: int, storyline: int | None) -> None:
        """Link ``story`` into ``storyline`` (None: into none)."""
        ...

    def storylines(self) -> list[StorylineInfo]:
        """Every storyline, oldest first, with its stories (merged ones left out)."""
        ...

    def story_documents(self, story: int, *, with_annotations: bool = False,
                        with_text: bool = True) -> list[Document]:
        """A story's documents; ``with_text=False``: their metadata only (``text`` empty), for
        listings, which must not read every stored text."""
        ...

    def story_documents_key(self, story: int) -> str:
        """A fingerprint of a story's documents and their annotations (a cached briefing's key)."""
        ...

    def story_document_times(self, story: int) -> dict[str, DocumentTimes]:
        """When each document of the story (by id) was stored and filed into the story."""
        ...

    def mark_briefed(self, story: int, at: str) -> None:
        """Record that the story was briefed on request at ``at`` (an ISO 8601 time: what
        ``StoryInfo.briefed_at`` then holds, and where ``--since last`` starts next time)."""
        ...


class SearchIndex(Protocol):
    """Full-text search over the sentences of annotated documents (kept up to date by
    ``add_document`` and ``save_annotations``)."""

    def search(self, query: str, *, limit: int = 50, story: int | None = None) -> list[SearchHit]:
        """Sentences matching every word (or "quoted phrase") of ``query``, best first among
        the newest ``rank_candidates`` matches (``data/search.json``; equal ranks: the newer
        first); query syntax characters are taken literally."""
        ...

    def refresh_statistics(self) -> None:
        """After many documents were stored at once: bring up to date what the database plans
        and reads searches by (PostgreSQL: ``VACUUM (ANALYZE)`` of the tables search reads, so
        that the planner counts the new rows and their pages are marked visible; SQLite: nothing,
        its search asks FTS5 within a window of row numbers and needs no statistics)."""
        ...


class BriefingCache(Protocol):
    """The last briefing made of each story at each length."""

    def cached_briefing(self, story: int, words: int, documents_key: str) -> str | None: ...

    def latest_briefing(self, story: int, words: int) -> tuple[str, str] | None:
        """(documents key, JSON) of the story's last briefing at ``words``, current or not."""
        ...

    def save_briefing(
        self, story: int, words: int, documents_key: str, data: str, *, title: str | None = None
    ) -> None: ...


@dataclass(frozen=True)
class DetectionUpdate:
    """What one batch of story detection changed, saved in one transaction (opaque bytes, as
    for sketches). Story keys are story ids, or negative numbers for stories this update
    creates (``new_stories``: key -> title); ``save_detection`` returns the ids they got.

    ``members``: each newly filed document's features; ``assignments``: document id -> story key
    (a document already in a found story leaves it: relocation); ``merged``: story -> the story
    it merged into (its documents follow); ``profiles``: story key -> profile;
    ``vocabulary``: how many more documents hold each key; ``sentences``: the vectors of newly
    filed documents' sentences, kept for their briefings (``sentence_vectors``).
    """

    members: Mapping[str, bytes]
    assignments: Mapping[str, int]
    new_stories: Mapping[int, str]
    merged: Mapping[int, int]
    profiles: Mapping[int, bytes]
    vocabulary: Mapping[str, int]
    sentences: Mapping[str, bytes] = field(default_factory=dict)


class DetectionStore(Protocol):
    """What story detection keeps between runs: each filed document's features, each found
    story's profile and the document frequencies of the vocabulary."""

    def detection_vocabulary(self) -> tuple[int, dict[str, int]]:
        """(documents counted, documents holding each key)."""
        ...

    def found_story_of(self) -> dict[str, int]:
        """Every document in a found story, with its story (merged stories hold none)."""
        ...

    def story_members(self, *, after: str | None = None, stories: Sequence[int] | None = None
                      ) -> Iterator[tuple[str, bytes]]:
        """(document id, features) of filed documents in insertion order: those stored after
        document ``after``, or those of ``stories``."""
        ...

    def story_profiles(self, stories: Sequence[int]) -> dict[int, bytes]: ...

    def sentence_vectors(self, doc_ids: Sequence[str]) -> dict[str, bytes]:
        """The sentence vectors kept when documents were filed (opaque bytes), of those of
        ``doc_ids`` that have them."""
        ...

    def save_detection(self, update: DetectionUpdate) -> dict[int, int]:
        """Apply ``update`` in one transaction; the ids of the stories it created, by key."""
        ...

    def cache_location(self, name: str) -> Path | None:
        """Where a rebuildable cache named ``name`` may live beside the store (None: nowhere;
        the caller then rebuilds it in memory)."""
        ...

    def client_cache(self, name: str) -> Path | None:
        """Where a rebuildable cache named ``name`` of this machine's clients of the store may
        live: beside a SQLite file; for a database server, in this user's cache folder, one
        folder per server and database (None: nowhere; the caller rebuilds it in memory). A
        cache is checked against the store before it is used, so a stale one costs a rebuild."""
        ...

    def detection_lock(self) -> AbstractContextManager[None]:
        """Held by one writer at a time (processes or machines) while it stores a batch and
        files it into found stories: detection decides from what it read of the store, so two
        writers filing at once would each decide on a store the other is changing."""
        ...


class WatchStore(Protocol):
    """What ``storyline watch`` keeps, so that a watch stopped at any point and started again
    fetches nothing twice and loses nothing: the sources it polls (with their validators and
    last poll), and every article seen, with its state. A poll's items and its validators are
    kept in one transaction (a later 304 never hides items that were not kept); a fetched
    page is kept before it is extracted (a restart extracts it again, without fetching)."""

    def add_watch_source(self, url: str, *, kind: str, title: str | None = None,
                         allow_private: bool = False, interval: int | None = None
                         ) -> tuple[WatchSource, bool]:
        """Watch ``url``; (the source, True) when added, (the source already there, False)."""
        ...

    def watch_sources(self) -> list[WatchSource]:
        """Every watched source, in the order they were added."""
        ...

    def remove_watch_source(self, key: int | str) -> bool:
        """Stop watching the source with this id or address; False when there was none. The
        articles it listed stay known (they may be listed elsewhere)."""
        ...

    def mark_due(self, source: int) -> bool:
        """Make a source due now (the web app's "poll now"); False when there is none."""
        ...

    def record_poll(self, source: int, record: PollRecord, items: Sequence[ListedItem]) -> int:
        """Keep a poll's outcome and the items it listed, in one transaction; the number of
        items never seen before (from any source)."""
        ...

    def pending_items(self, limit: int | None = None) -> list[WatchItem]:
        """Items still to fetch (``new``) or to store (``fetched``), oldest first."""
        ...

    def save_item_page(self, key: str, body: bytes, content_type: str, final_url: str) -> None:
        """Keep an item's fetched page: it is ``fetched`` now."""
        ...

    def item_failed(self, key: str, error: str, *, give_up: bool) -> None:
        """Count a failed attempt at an item; ``give_up``: it is ``failed`` now."""
        ...

    def watch_lock(self) -> AbstractContextManager[bool]:
        """The database's watch lock for the block, taken without waiting: True when taken,
        False when another process, on this machine or another, holds it. It dies with its
        holder, so a killed watch never leaves it behind."""
        ...

    def items_stored(self, documents: Mapping[str, str]) -> None:
        """Items (key -> document id) whose documents are stored: their pages are dropped."""
        ...

    def watch_item_counts(self) -> dict[int, dict[str, int]]:
        """Per source id, how many of the items it listed first are in each state."""
        ...

    def add_story_update(self, story: int, made_at: str, title: str, lines: Sequence[str],
                         sources: Sequence[str]) -> StoryUpdate:
        """Keep one update of a story's briefing (see ``StoryUpdate``)."""
        ...

    def story_updates(self, story: int, limit: int = 50) -> list[StoryUpdate]:
        """A story's updates, newest first, at most ``limit``."""
        ...

    def add_alert(self, query: str) -> tuple[Alert, bool]:
        """Save a search; (the alert, True) when new, (the one saved before, False)."""
        ...

    def alerts(self) -> list[Alert]:
        """The saved searches, oldest first."""
        ...

    def remove_alert(self, alert: int) -> bool:
        """Forget a saved search; False when there was none."""
        ...


class Store(DocumentStore, SketchStore, OutletStore, StoryStore, SearchIndex, BriefingCache,
            DetectionStore, WatchStore, Protocol):
    """Where documents live: every concern, one connection, closed when done."""

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
