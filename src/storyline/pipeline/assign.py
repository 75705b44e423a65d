"""Story detection wired to a store: each original an ingest stores is filed into a found story.

``StoryAssigner`` is made once per ingest. It reads what detection kept (the vocabulary's
document frequencies, which document is in which found story) and the nearest-neighbour index
of document vectors (a cache file beside the store, caught up from the stored features when it
lags, rebuilt when it is missing or unreadable); story profiles are loaded only for candidate
stories. ``file`` takes a batch of stored documents: their features (as an ingest's workers
made them, ``storyline.pipeline.annotation.Made``, else made here: ``filing_features``, the
opening embedded, and the sentences a briefing would embed, whose vectors are kept with the
document so that the briefing of a stored story embeds few sentences of its own), the online
pass, the window re-clustering and merge pass, then one store transaction with
everything that changed (``DetectionUpdate``); the index file is written every few thousand
documents and when the caller is done (``save_index``). A run killed at any point
leaves the store consistent: a batch is filed whole or not at all, and the index catches up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain
from dataclasses import replace

import numpy as np

from storyline.annotate.embeddings import Embedder, embed, pack_vectors
from storyline.model import Document
from storyline.store import DetectionUpdate, Store
from storyline.story.detect import (
    DetectConfig,
    Features,
    Member,
    StoryDetector,
    StoryProfile,
    Vocabulary,
    features_of,
)
from storyline.story.neighbours import VectorIndex
from storyline.story.summary import candidate_texts
from storyline.story.storylines import StorylineConfig, StorylineLinker

INDEX_CACHE = "stories.usearch"
INDEX_SAVE_EVERY = 2000  # documents filed between writes of the index file (at least a tenth of it)


def filing_features(documents: Sequence[Document], config: DetectConfig,
                    embedder: Embedder | None = None) -> list[Features]:
    """What filing takes of each document: its detection features and, for an annotated one,
    the vectors of its summary candidates (``Features.sentences``), all embedded in one call
    for the batch. The same wherever it is made: in the writer, or on an ingest's workers."""
    found = features_of(documents, config=config, embedder=embedder)
    texts = [candidate_texts(d) if d.annotations is not None else [] for d in documents]
    flat = [text for each in texts for text in each]
    rows = (embedder or embed)(flat) if flat else np.zeros((0, 0), dtype=np.float32)
    out, start = [], 0
    for item, each in zip(found, texts):
        kept = pack_vectors(each, rows[start:start + len(each)]) if each else b""
        out.append(replace(item, sentences=kept))
        start += len(each)
    return out


class StoryAssigner:
    """Files stored documents into the store's found stories (see the module docstring)."""

    def __init__(self, store: Store, *, config: DetectConfig | None = None,
                 embedder: Embedder | None = None) -> None:
        self.store = store
        self.config = config or DetectConfig.packaged()
        self._embedder = embedder
        self._sentences: dict[int, bytes] = {}  # document number -> its sentence vectors, to save
        self._index_path = store.client_cache(INDEX_CACHE)
        self.detector: StoryDetector
        self._unsaved = 0  # documents filed since the index file was written
        self._load(index_file=True)

    def _load(self, *, index_file: bool) -> None:
        """Read what detection keeps; ``index_file=False``: another writer changed the store
        since this one read it, and the index held in memory takes the filed documents it
        lacks (they may have numbers lower than its newest). Why not rebuild it from the store,
        as this did before: building the graph took 3.4 s of CPU for 19,000 filed documents
        and 82 s for 100,000 random vectors, and concurrent writers reload after each other's
        every batch."""
        store = self.store
        documents, frequency = store.detection_vocabulary()
        story_of = {_number(doc_id): story for doc_id, story in store.found_story_of().items()}
        held = None if index_file else self.detector.index
        if held is None:
            index = self._load_index(from_file=index_file)
        else:
            filed = set(story_of).difference(self.detector.story_of)
            index = self._caught_up(held, filed, story_of)
            self._unsaved += len(filed)  # the index file lacks them too
        self.detector = StoryDetector(self.config, vocabulary=Vocabulary(documents, frequency),
                                      index=index, story_of=story_of, load=self._profiles,
                                      first_key=-1)
        self.linker = StorylineLinker(
            StorylineConfig.packaged(), load=self._current_profiles, nearby=self._nearby_stories,
            line_of={s.id: s.storyline for s in store.stories()
                     if s.kind == "found" and s.storyline is not None})
        self._seen = store.change_token()  # the store as detection last read or left it

    @contextmanager
    def filing(self) -> Iterator[None]:
        """Hold the store's detection lock while a batch is stored and filed, having first read
        detection's state again if another writer changed the store since this one last did:
        several ingests may write one store at once, and each files its batches on the store
        as the others left it (no document filed into a story merged meanwhile, a near copy
        always finds its original's story)."""
        with self.store.detection_lock():
            if self.store.change_token() != self._seen:
                self._load(index_file=False)
            yield
            self._seen = self.store.change_token()

    def features(self, documents: Sequence[Document]) -> list[Features]:
        """The documents' features (what ``file`` takes), made outside the lock."""
        return filing_features(documents, self.config, self._embedder)

    def file(self, documents: Sequence[Document], features: Sequence[Features] | None = None
             ) -> dict[str, int]:
        """File stored originals (``id`` set, not yet filed) into found stories, and near
        duplicates into their original's; the story id of each document filed. ``features``:
        the documents' features when made already (one per document, in order)."""
        made = dict(zip((id(d) for d in documents), features)) if features is not None else {}
        originals = [d for d in documents if d.id and not d.duplicate_of
                     and _number(d.id) not in self.detector.story_of]
        if originals:
            missing = [d for d in originals if id(d) not in made]
            made.update(zip((id(d) for d in missing), self.features(missing)))
            for document, item in ((d, made[id(d)]) for d in originals):
                # Detection holds features in memory; the sentence vectors only wait to be saved.
                self.detector.add(_number(document.id or ""), replace(item, sentences=b""))
                if item.sentences:
                    self._sentences[_number(document.id or "")] = item.sentences
            self.detector.settle()
            titles: dict[int, str] = {}
            for document in originals:  # a new story is titled by its first titled document for now
                story = self.detector.alive(self.detector.story_of[_number(document.id or "")])
                if document.title:
                    titles.setdefault(story, document.title)
            merged, changed = self._save(titles)
            self._link_storylines(changed, merged)
        story_of, alive = self.detector.story_of, self.detector.alive
        copies = {d.id: alive(story_of[_number(d.duplicate_of)]) for d in documents
                  if d.id and d.duplicate_of and _number(d.duplicate_of) in story_of}
        self._file_copies(copies)
        return {d.id: alive(story_of[_number(d.id)]) for d in documents
                if d.id and _number(d.id) in story_of}

    # -- keeping

    def _save(self, titles: dict[int, str]) -> tuple[dict[int, int], list[int]]:
        """Keep what the batch changed; the stories merged away (-> the story kept) and the
        stories whose documents changed, under their kept ids."""
        detector = self.detector
        alive = set(detector.profiles)
        new_stories = {key: titles.get(key) or self._earliest_title(key) for key in alive if key < 0}
        update = DetectionUpdate(
            members={_doc_id(n): detector.members[n].to_bytes() for n in sorted(detector.dirty)},
            assignments={_doc_id(n): detector.alive(detector.story_of[n]) for n in sorted(detector.dirty)},
            new_stories=new_stories,
            # Only this batch's merges: a store applies a merge to what merged into it earlier.
            merged={other: detector.alive(other) for other in sorted(detector.merged_since)
                    if other > 0},
            profiles={key: detector.profiles[key].pruned(self.config.profile_keys).to_bytes()
                      for key in sorted(detector.changed & alive)},
            vocabulary=dict(detector.new_frequency),
            sentences={_doc_id(n): self._sentences.pop(n) for n in sorted(detector.dirty)
                       if n in self._sentences},
        )
        new_ids = self.store.save_detection(update)
        detector.saved(new_ids)
        self._unsaved += len(update.members)
        if self._unsaved >= max(INDEX_SAVE_EVERY, len(detector.index or ()) // 10):
            self.save_index()
        merged = {other: new_ids.get(keep, keep) for other, keep in update.merged.items()}
        return merged, sorted({new_ids.get(key, key) for key in update.profiles})

    def _earliest_title(self, story: int) -> str:
        """The title of a new story's earliest titled document. Why: settling may give older
        documents a story of their own, with no document of this batch to title it."""
        numbers = sorted(n for n in self.detector.dirty
                         if self.detector.alive(self.detector.story_of[n]) == story)
        for document in self.store.get_many([_doc_id(n) for n in numbers]):
            if document.title:
                return document.title
        return ""

    def _link_storylines(self, changed: Sequence[int], merged: dict[int, int]) -> None:
        """Link the stories this batch changed into storylines (``storyline.story.storylines``),
        then keep the links. Changed, not only those the batch's documents joined: settling
        may move older documents into a story of their own, which must be linked too. A run
        killed in between leaves the links of the batches before, never a link to a story
        that is not kept."""
        for other, keep in merged.items():
            self.linker.absorb(keep, other)
        self.linker.link(changed)
        new_ids: dict[int, int] = {}
        for story, line in sorted(self.linker.linked.items()):
            if line is not None and line < 0 and line not in new_ids:
                new_ids[line] = self.store.create_storyline(None)
            self.store.set_storyline(story, None if line is None else new_ids.get(line, line))
        self.linker.saved(new_ids)

    def save_index(self) -> None:
        """Write the index file if anything was added since it was last written. Why not after
        every batch: the file grows with the store, so writing it each time would make filing
        cost grow with the store; a run stopped before it catches up from the store instead."""
        index = self.detector.index
        if self._unsaved and self._index_path is not None and index is not None:
            index.save(self._index_path)
        self._unsaved = 0

    def _file_copies(self, copies: dict[str, int]) -> None:
        if copies:
            self.store.save_detection(DetectionUpdate({}, copies, {}, {}, {}, {}))

    # -- loading

    def _profiles(self, stories: Sequence[int]) -> dict[int, StoryProfile]:
        stored = self.store.story_profiles([s for s in stories if s > 0])
        return {story: StoryProfile.from_bytes(data) for story, data in stored.items()}

    def _current_profiles(self, stories: Sequence[int]) -> dict[int, StoryProfile]:
        """Profiles as detection holds them now (those it has not loaded, from the store)."""
        held = {s: self.detector.profiles[s] for s in stories if s in self.detector.profiles}
        return {**self._profiles([s for s in stories if s not in held]), **held}

    def _nearby_stories(self, story: int, profile: StoryProfile) -> list[int]:
        return self.detector.stories_near(profile.mean_vector(), self.linker.config.candidates)

    def _load_index(self, *, from_file: bool = True) -> VectorIndex | None:
        """The saved index caught up with the store; None while nothing is filed."""
        index = None
        if self._index_path is not None and from_file:
            index = VectorIndex.load(self._index_path, _dimensions(self.store))
        if index is not None and not self._index_matches_store(index):
            index = None  # a file left by another database of the same name: rebuild
        after = _doc_id(index.newest) if index is not None and index.newest > 0 else None
        return _indexed(index, self.store.story_members(after=after))

    def _caught_up(self, index: VectorIndex, filed: set[int], story_of: Mapping[int, int]
                   ) -> VectorIndex:
        """``index`` with the vectors of the documents other writers ``filed`` since this one
        last read the store (``story_of``: every filed document's story): those after its
        newest read in order, any before it from their stories' members. A near copy, filed
        with its original's story, has no vector and is not found (nor looked for again)."""
        missing = filed.difference(index.keys())
        if not missing:
            return index
        rows = self.store.story_members(after=_doc_id(index.newest) if index.newest > 0 else None)
        earlier = {n for n in missing if n <= index.newest}
        if earlier:
            stories = sorted({story_of[n] for n in earlier})
            rows = chain(self.store.story_members(stories=stories), rows)
        return _indexed(index, rows, missing) or index

    def _index_matches_store(self, index: VectorIndex) -> bool:
        """Whether the index's newest entry is the store's document of that number, with the
        same vector. Why check: the file outlives a database deleted and made again under its
        name, and a stale index would answer with another corpus's documents."""
        if index.newest <= 0:
            return len(index) == 0
        kept = index.vector(index.newest)
        for doc_id, data in self.store.story_members(after=f"S{index.newest - 1}"):
            if _number(doc_id) != index.newest or kept is None:
                return False
            stored = Member.from_bytes(data).vector
            return bool(np.allclose(kept, stored, atol=1e-2))
        return False


def file_into_found_stories(store: Store, documents: Iterable[Document], *,
                            embedder: Embedder | None = None) -> dict[str, int]:
    """``StoryAssigner(store).file(documents)`` for one batch."""
    assigner = StoryAssigner(store, embedder=embedder)
    filed = assigner.file(list(documents))
    assigner.save_index()
    return filed


def after_detection_changes(store: Store, story_ids: Sequence[int]) -> None:
    """Remake the profiles of found stories whose documents were changed by hand (moved,
    merged, split), from their documents' kept features."""
    found = [s for s in story_ids if (info := store.story(s)) is not None and info.kind == "found"
             and info.merged_into is None]
    if not found:
        return
    profiles = {story: StoryProfile() for story in found}
    story_of = store.found_story_of()
    for doc_id, data in store.story_members(stories=found):
        story = story_of.get(doc_id)
        if story in profiles:
            profiles[story].add(Member.from_bytes(data))
    config = DetectConfig.packaged()
    store.save_detection(DetectionUpdate({}, {}, {}, {}, {
        story: profile.pruned(config.profile_keys).to_bytes() for story, profile in profiles.items()
    }, {}))


def _indexed(index: VectorIndex | None, rows: Iterable[tuple[str, bytes]],
             wanted: set[int] | None = None) -> VectorIndex | None:
    """``index`` (None: a new one, when ``rows`` hold any) with the vectors of ``rows`` (stored
    members), only those of the ``wanted`` document numbers when given, each once."""
    batch: list[tuple[int, np.ndarray]] = []
    for doc_id, data in rows:
        number = _number(doc_id)
        if wanted is not None:
            if number not in wanted:
                continue
            wanted.discard(number)
        batch.append((number, Member.from_bytes(data).vector))
        if len(batch) >= 1000:
            index = _added(index, batch)
    return _added(index, batch) if batch else index


def _added(index: VectorIndex | None, batch: list[tuple[int, np.ndarray]]) -> VectorIndex:
    vectors = np.stack([vector for _, vector in batch])
    index = index or VectorIndex(vectors.shape[1])
    index.add([number for number, _ in batch], vectors)
    batch.clear()
    return index


def _dimensions(store: Store) -> int:
    """The vector size of what is filed (the packaged model's 384 when nothing is)."""
    for _, data in store.story_members():
        return len(Member.from_bytes(data).vector)
    return 384


def _number(doc_id: str) -> int:
    return int(doc_id[1:])


def _doc_id(number: int) -> str:
    return f"S{number}"

