"""The story flow wired to its inputs: brief what was just read, or a story kept in the store.

``brief(inputs)`` is the library API behind ``storyline.brief``; ``brief_inputs`` adds the
command line's input options and an optional database; ``brief_story`` briefs a stored story
(annotating only what was stored without annotations) and is used by both ``storyline brief
--db DB --story NAME`` and the web app, with the briefing cache of the store
(``stored_briefing``).

What is new (``storyline.story.novelty``): ``brief_story(..., since=...)`` adds the briefing's
``new_since`` section, cut at a date or at the story's last briefing (``since="last"``,
``stories.briefed_at``, set by ``mark_briefed`` after each briefing the command line prints);
``new_since_visit`` makes the web page's section, cut at the visitor's last visit. The section
is never cached: the briefing under it comes from the cache, the section is made each time.
Nor is the story's place in its storyline (``storyline``, ``pipeline.catalogue``), which moves
when other stories are linked.

A pile may hold several stories. ``split_pile`` finds them (``storyline.story.detect``);
``brief(..., stories="main")`` briefs the largest and names the others in the briefing's
``other_stories``, and ``brief_stories`` (``brief --each-story``) briefs each. Only the
documents that are briefed are annotated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from storyline.annotate.embeddings import SentenceVectors, Vector, unpack_vectors
from storyline.briefing import Briefing, NewSince, OtherStory
from storyline.errors import UsageError
from storyline.model import Document, InputError, Mode
from storyline.outlets import Registry, packaged_registry
from storyline.pipeline.catalogue import storyline_place
from storyline.pipeline.detection import stories_of
from storyline.pipeline.documents import extract, ingest, numbered
from storyline.pipeline.registry import registry_of
from storyline.read.fetch import Fetcher
from storyline.store import DocumentTimes, Store, StoryInfo, open_store
from storyline.story.agenda import named_issues
from storyline.story.brief import DEFAULT_WORDS, brief_documents, untitled_headline
from storyline.story.detect import kept_openings
from storyline.story.novelty import Cut, instant, new_since, parse_cut, split_at

Notes = Callable[[str], None]
# Called with (story id, the time its documents were read) once a stored story is briefed.
Briefed = Callable[[int, str], None]
LAST = "last"  # --since last: since the story's last briefing
Errors = Callable[[InputError], None]
Stories = Literal["one", "main"]
"""How ``brief`` treats a pile: ``one``, everything as one story (the library's default);
``main``, the largest story found, the others named in ``other_stories`` (the CLI's default)."""

NOTHING_TO_BRIEF = "nothing to brief: no input could be read"


@dataclass(frozen=True)
class PileStory:
    """One story of a pile: its documents in the pile's order (duplicates beside their
    originals), its originals most typical first, and its title."""

    title: str
    documents: list[Document]
    typical: list[Document]

    def other(self) -> OtherStory:
        return OtherStory(title=self.title, documents=[d.origin for d in self.documents])


def split_pile(documents: Sequence[Document]) -> list[PileStory]:
    """The stories of a pile, the largest first (ties: the one whose first document comes
    first). Detection reads the originals in the pile's order; a duplicate goes with the
    document it copies (with the main story when that document is not in the pile). A pile of
    fewer than two originals is one story, and no model is loaded for it."""
    originals = [d for d in documents if not d.duplicate_of]
    if len(originals) < 2:
        return [PileStory(_pile_title(originals or list(documents)), list(documents), originals)]
    pile = stories_of(list(documents))
    members: dict[int, list[Document]] = {story.number: [] for story in pile.stories}
    for document, number in pile.documents:
        # A duplicate of a document outside the pile (a stored one) goes with the main story.
        members.get(number, members[pile.stories[0].number]).append(document)
    return [PileStory(story.title, members[story.number], list(story.core))
            for story in pile.stories]


def _pile_title(documents: Sequence[Document]) -> str:
    return next((d.title for d in documents if d.title), None) or untitled_headline(documents)


def brief(
    inputs: Iterable[str] | Sequence[Document],
    *,
    words: int = DEFAULT_WORDS,
    on_error: Errors | None = None,
    registry: Registry | None = None,
    issues: Sequence[str] = (),
    stories: Stories = "one",
) -> Briefing:
    """A cited briefing of everything given.

    ``inputs`` are input strings (files, folders, URLs ... as for ``extract``) or ``Document``s.
    Inputs that fail are passed to ``on_error`` (if given) and left out. ``registry``: the
    outlet registry that names sources' outlets, countries and ownership (default: packaged),
    in the metadata of input strings and in the briefing's sources.
    ``issues``: issues the user names, ``"Label: keyword, keyword"``, always reported.
    ``stories``: ``"one"`` (default) briefs everything as one story; ``"main"`` finds the
    stories of the pile, briefs the largest and lists the others, with their documents'
    origins, in the briefing's ``other_stories`` (``brief_stories`` briefs each).
    Raises ``UsageError`` when no document is left to brief.
    """
    documents = _documents(inputs, on_error, registry)
    return _brief_pile(documents, stories, words=words, registry=registry, issues=issues)


def brief_stories(
    inputs: Iterable[str] | Sequence[Document],
    *,
    words: int = DEFAULT_WORDS,
    on_error: Errors | None = None,
    registry: Registry | None = None,
    issues: Sequence[str] = (),
) -> list[Briefing]:
    """One briefing per story found in ``inputs`` (arguments as for ``brief``), the largest
    story first. Raises ``UsageError`` when no document is left to brief."""
    documents = _documents(inputs, on_error, registry)
    return _brief_each(documents, words=words, registry=registry, issues=issues)


def _brief_pile(documents: list[Document], stories: Stories, *, words: int,
                registry: Registry | None, issues: Sequence[str]) -> Briefing:
    """``documents`` briefed as one story, or as their main story with the others named."""
    if not documents:
        raise UsageError(NOTHING_TO_BRIEF)
    if stories == "one":
        return brief_documents(annotated(documents), words=words, registry=registry, issues=issues)
    main, *others = split_pile(documents)
    briefing = brief_documents(annotated(main.documents), words=words, registry=registry,
                               issues=issues, typical=main.typical)
    briefing.other_stories = [story.other() for story in others]
    return briefing


def _brief_each(documents: list[Document], *, words: int, registry: Registry | None,
                issues: Sequence[str]) -> list[Briefing]:
    if not documents:
        raise UsageError(NOTHING_TO_BRIEF)
    return [brief_documents(annotated(story.documents), words=words, registry=registry,
                            issues=issues, typical=story.typical)
            for story in split_pile(documents)]


def brief_inputs(
    inputs: Iterable[str],
    *,
    words: int = DEFAULT_WORDS,
    mode: Mode | None = None,
    fetcher: Fetcher | None = None,
    db_url: str | None = None,
    story: str | None = None,
    on_error: Errors | None = None,
    issues: Sequence[str] = (),
    since: str | None = None,
    on_note: Notes | None = None,
    on_briefed: Briefed | None = None,
    stories: Stories = "main",
) -> Briefing:
    """``brief`` for the command line: input options, and optionally through a database, where
    the inputs are ingested (annotated once, kept) and the briefing covers the stored copies.
    With ``story`` (a name or id, database only) the inputs go into that story, created if new,
    and the briefing covers the whole story; ``since``, ``on_note`` and ``on_briefed`` are
    ``brief_story``'s (``since`` needs a stored story). Otherwise the pile is split into
    stories and the main one briefed (``stories="one"``: all as one story)."""
    inputs = list(inputs)
    named_issues(issues)  # a malformed --issue fails before any reading
    if since is not None:
        if story is None or db_url is None:
            raise UsageError("--since tells what is new in a stored story: give --db and --story")
        check_since(since)
    if db_url is None:
        if story is not None:
            raise UsageError("a stored story needs a database (--db)")
        registry = packaged_registry()
        return _brief_pile(_read(inputs, on_error, registry, mode=mode, fetcher=fetcher), stories,
                           words=words, registry=registry, issues=issues)
    with open_store(db_url) as store:
        ids = _ingested(store, inputs, mode, fetcher, on_error)
        if story is not None:
            return brief_story(store, _story_for(store, story, ids), words=words, issues=issues,
                               since=since, on_note=on_note, on_briefed=on_briefed)
        # Detection runs on the ingested documents as on a pile, and what it finds is not
        # stored: filing found stories at ingest is the ingest's own work (issue 12, part 1).
        return _brief_pile(_stored(store, ids), stories, words=words, registry=registry_of(store),
                           issues=issues)


def brief_inputs_each(
    inputs: Iterable[str],
    *,
    words: int = DEFAULT_WORDS,
    mode: Mode | None = None,
    fetcher: Fetcher | None = None,
    db_url: str | None = None,
    on_error: Errors | None = None,
    issues: Sequence[str] = (),
) -> list[Briefing]:
    """``brief_inputs`` for ``--each-story``: one briefing per story found in the inputs, the
    largest first; with ``db_url`` the inputs are ingested first and the stored copies briefed."""
    inputs = list(inputs)
    named_issues(issues)
    if db_url is None:
        registry = packaged_registry()
        return _brief_each(_read(inputs, on_error, registry, mode=mode, fetcher=fetcher),
                           words=words, registry=registry, issues=issues)
    with open_store(db_url) as store:
        ids = _ingested(store, inputs, mode, fetcher, on_error)
        # As in brief_inputs: the stories are found among the ingested documents, not stored.
        return _brief_each(_stored(store, ids), words=words, registry=registry_of(store),
                           issues=issues)


def _ingested(store: Store, inputs: list[str], mode: Mode | None, fetcher: Fetcher | None,
              on_error: Errors | None) -> list[str]:
    """The stored ids of ``inputs`` once ingested (new, duplicates and those already there)."""
    if not inputs:
        return []
    report = ingest(inputs, store, mode=mode, fetcher=fetcher)
    for error in report.failed:
        if on_error is not None:
            on_error(error)
    return report.new + report.duplicates + report.already_stored


def _stored(store: Store, ids: list[str]) -> list[Document]:
    """The stored documents of ``ids`` in insertion order, with their stored annotations."""
    return store.get_many(sorted(set(ids), key=_id_number), with_annotations=True)


def _id_number(doc_id: str) -> int:
    """``S12`` -> 12: stored ids sort in insertion order by their number."""
    return int(doc_id[1:])


def _story_for(store: Store, key: str, ids: list[str]) -> StoryInfo:
    """The story ``key`` with ``ids`` added: created when documents go into a new name; without
    documents it must exist already."""
    found = store.story(key)
    if found is None and not ids:
        raise UsageError(f"no story {key!r} in the database (`storyline stories` lists them)")
    info = found or store.create_story(key)
    if ids:
        store.add_to_story(info.id, ids)
    return info


def check_since(since: str) -> None:
    """``UsageError`` unless ``since`` is ``last``, a date or an ISO 8601 time."""
    if since != LAST:
        parse_cut(since)


def brief_story(store: Store, story: StoryInfo | int, *, words: int = DEFAULT_WORDS,
                issues: Sequence[str] = (), since: str | None = None, on_note: Notes | None = None,
                on_briefed: Briefed | None = None) -> Briefing:
    """The briefing of a stored story, from the stored annotations: only documents stored
    without them (``ingest --no-annotate``) are parsed, and their annotations are kept, so each
    document is parsed once. Served from the store's briefing cache while the story's documents
    are unchanged (a briefing with user-named ``issues`` is made afresh and not cached).

    ``since``: a date, an ISO 8601 time or ``last`` (the story's last briefing): the briefing
    gains its ``new_since`` section, made afresh over the cached briefing. With ``last`` and no
    earlier briefing there is no section, and ``on_note`` is told why. ``on_briefed`` gets the
    story's id and the time its documents were read (where the next ``last`` starts).
    The briefing carries the story's place in its storyline (``storyline``), read afresh like
    the ``new_since`` section: the cache holds the briefing of the documents alone."""
    story_id = story if isinstance(story, int) else story.id
    read_at = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    cut = _cut(store, story_id, since, on_note) if since is not None else None
    if not issues and cut is None:
        made = stored_briefing(store, story_id, words)
        if made is None:
            raise UsageError(f"story {story_id} has no documents yet")
        briefing = made[1]
    else:
        documents = store.story_documents(story_id, with_annotations=True)
        if not documents:
            raise UsageError(f"story {story_id} has no documents yet")
        documents = annotated(documents, keep_in=store)
        vectors = briefing_vectors(store, story_id, documents)
        if issues:
            briefing = brief_documents(documents, words=words, registry=registry_of(store),
                                       issues=issues, vectors=vectors)
        else:
            briefing = _cached_or_made(store, story_id, words, documents, vectors)
        if cut is not None:
            briefing = briefing.with_new_since(
                story_news(store, story_id, cut, documents, briefing, vectors))
    briefing = briefing.with_storyline(storyline_place(store, story_id))
    if on_briefed is not None:
        on_briefed(story_id, read_at)
    return briefing


def _cut(store: Store, story: int, since: str, on_note: Notes | None) -> Cut | None:
    """The cut ``since`` names; None (and a note) for ``last`` when the story was never briefed."""
    if since != LAST:
        return parse_cut(since)
    info = store.story(story)
    when = instant(info.briefed_at) if info is not None else None
    if info is None or info.briefed_at is None or when is None:
        if on_note is not None:
            on_note(f"story {story} has not been briefed before, so there is nothing to compare "
                    "with: no 'new since' section this time (the next --since last starts now)")
        return None
    return Cut(when, info.briefed_at, "last briefing")


def _cached_or_made(store: Store, story: int, words: int, documents: list[Document],
                    vectors: SentenceVectors) -> Briefing:
    """The cached briefing of the story's current documents, else one made of ``documents``
    (and cached): the same briefing ``stored_briefing`` gives, from documents already read."""
    key = store.story_documents_key(story)
    found = cached_briefing(store, story, words, documents_key=key)
    if found is not None:
        return found[1]
    briefing = brief_documents(documents, words=words, registry=registry_of(store), vectors=vectors)
    store.save_briefing(story, words, key, json.dumps(briefing.to_dict(), ensure_ascii=False),
                        title=briefing.title)
    return briefing


def story_news(store: Store, story: int, cut: Cut, documents: list[Document], briefing: Briefing,
               vectors: SentenceVectors | None = None,
               times: dict[str, DocumentTimes] | None = None) -> NewSince:
    """The ``new_since`` section of a stored story's ``briefing`` (made of ``documents``, the
    story's annotated documents): a date cut places an undated document by when it was stored,
    the other cuts place every document by when it was filed into the story."""
    times = times if times is not None else store.story_document_times(story)
    arrived = {doc_id: t.stored_at if cut.basis == "date" else t.filed_at
               for doc_id, t in times.items()}
    earlier, later = split_at(documents, cut, arrived)
    return new_since(earlier, later, cut, quotes=briefing.quotes, forecasts=briefing.forecasts,
                     vectors=vectors)


def new_since_visit(store: Store, story: int, briefing: Briefing, visited: datetime
                    ) -> NewSince | None:
    """The section of what was filed into the story after ``visited`` (the web page's "new
    since your last visit"); None, without reading the documents, when nothing was."""
    times = store.story_document_times(story)
    if not _filed_after(times, visited):
        return None
    documents = annotated(store.story_documents(story, with_annotations=True), keep_in=store)
    cut = Cut(visited, visited.isoformat(timespec="seconds"), "last visit")
    return story_news(store, story, cut, documents, briefing, times=times)


def filed_since(store: Store, story: int, when: datetime) -> bool:
    """Was any document filed into the story after ``when``? (One small query.)"""
    return _filed_after(store.story_document_times(story), when)


def _filed_after(times: dict[str, DocumentTimes], when: datetime) -> bool:
    return any((instant(t.filed_at) or when) > when for t in times.values())


def mark_briefed(db_url: str | None, story: int, at: str) -> None:
    """Record that the story was briefed (for ``--since last``), once the briefing is out."""
    with open_store(db_url) as store:
        store.mark_briefed(story, at)


def cached_briefing(store: Store, story: int, words: int, *, documents_key: str | None = None
                    ) -> tuple[str, Briefing] | None:
    """(documents key, briefing) when the store holds a briefing of the story's current
    documents at ``words``; None, without computing anything, when it does not.
    ``documents_key``: the story's ``story_documents_key`` when the caller has it already."""
    key = documents_key if documents_key is not None else store.story_documents_key(story)
    data = store.cached_briefing(story, words, key)
    return None if data is None else (key, Briefing.model_validate_json(data))


def stored_briefing(store: Store, story: int, words: int) -> tuple[str, Briefing] | None:
    """(documents key, briefing) of a stored story: the cached one while current, else made
    from the stored documents and cached. None when the story has no documents."""
    found = cached_briefing(store, story, words)
    if found is not None:
        return found
    documents = store.story_documents(story, with_annotations=True)
    if not documents:
        return None
    briefing = brief_documents(annotated(documents, keep_in=store), words=words,
                               registry=registry_of(store),
                               vectors=briefing_vectors(store, story, documents))
    key = store.story_documents_key(story)
    data = json.dumps(briefing.to_dict(), ensure_ascii=False)
    store.save_briefing(story, words, key, data, title=briefing.title)
    return key, briefing


def briefing_vectors(store: Store, story: int, documents: Sequence[Document]) -> SentenceVectors:
    """A stored story's briefing vectors, holding at the start what filing kept: the opening
    vectors of story detection (the story core would embed those openings again: the longest
    texts a briefing embeds) and the vectors of each document's summary candidates (the
    sentences the summary, and most of those the perspectives, embed). Only what a briefing
    embeds anew is embedded; a sentence or opening whose text changed since filing (a title
    corrected, a rule of the summary's candidates changed) is embedded afresh."""
    vectors = SentenceVectors()
    members = dict(store.story_members(stories=[story]))
    texts, rows = kept_openings(documents, members)
    vectors.remember(texts, rows)
    kept: dict[str, Vector] = {}
    for data in store.sentence_vectors([d.id for d in documents if d.id]).values():
        kept.update(unpack_vectors(data))
    vectors.keep(kept)
    return vectors


def annotated(documents: list[Document], *, keep_in: Store | None = None) -> list[Document]:
    """``documents`` with annotations: those that have none are annotated together here, and,
    with ``keep_in``, stored, so that they are parsed once and found by search."""
    missing = [d for d in documents if d.annotations is None]
    if missing:
        from storyline.annotate.annotator import annotate  # spaCy loads only when needed

        annotate(missing)
    if keep_in is not None:
        for document in missing:
            if document.id and document.annotations is not None:
                keep_in.save_annotations(document.id, document.annotations)
    return documents


def _documents(inputs: Iterable[str] | Sequence[Document], on_error: Errors | None,
               registry: Registry | None = None) -> list[Document]:
    """The documents of ``inputs`` (input strings, or documents already read), numbered, not
    yet annotated (only the stories briefed are)."""
    items = list(inputs)
    if all(isinstance(item, Document) for item in items):
        documents = [item for item in items if isinstance(item, Document)]
        taken = {d.id for d in documents if d.id}
        # Documents handed in keep their ids and duplicate marks (a store's, say).
        documents = [d for d in numbered(documents, taken=taken, mark_duplicates=False)
                     if isinstance(d, Document)]
    else:
        documents = _read([str(item) for item in items], on_error, registry)
    return documents


def _read(inputs: list[str], on_error: Errors | None, registry: Registry | None, *,
          mode: Mode | None = None, fetcher: Fetcher | None = None) -> list[Document]:
    """The documents of ``inputs``; each failure goes to ``on_error`` and is left out."""
    documents = []
    for result in extract(inputs, mode=mode, fetcher=fetcher, registry=registry):
        if isinstance(result, Document):
            documents.append(result)
        elif on_error is not None:
            on_error(result)
    return documents
