"""The story flow wired to its inputs: brief what was just read, or a story kept in the store.

``brief(inputs)`` is the library API behind ``storyline.brief``; ``brief_inputs`` adds the
command line's input options and an optional database; ``brief_story`` briefs a stored story
(annotating only what was stored without annotations) and is used by both ``storyline brief
--db DB --story NAME`` and the web app, with the briefing cache of the store
(``stored_briefing``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from storyline.briefing import Briefing
from storyline.errors import UsageError
from storyline.model import Document, InputError, Mode
from storyline.outlets import Registry, packaged_registry
from storyline.pipeline.documents import extract, ingest, numbered
from storyline.pipeline.registry import registry_of
from storyline.read.fetch import Fetcher
from storyline.store import Store, StoryInfo, open_store
from storyline.story.agenda import named_issues
from storyline.story.brief import DEFAULT_WORDS, brief_documents

Errors = Callable[[InputError], None]


def brief(
    inputs: Iterable[str] | Sequence[Document],
    *,
    words: int = DEFAULT_WORDS,
    on_error: Errors | None = None,
    registry: Registry | None = None,
    issues: Sequence[str] = (),
) -> Briefing:
    """A cited briefing of everything given, treated as one story.

    ``inputs`` are input strings (files, folders, URLs ... as for ``extract``) or ``Document``s.
    Inputs that fail are passed to ``on_error`` (if given) and left out. ``registry``: the
    outlet registry that names sources' outlets, countries and ownership (default: packaged),
    in the metadata of input strings and in the briefing's sources.
    ``issues``: issues the user names, ``"Label: keyword, keyword"``, always reported.
    """
    documents = _documents(inputs, on_error, registry)
    return brief_documents(documents, words=words, registry=registry, issues=issues)


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
) -> Briefing:
    """``brief`` for the command line: input options, and optionally through a database, where
    the inputs are ingested (annotated once, kept) and the briefing covers the stored copies.
    With ``story`` (a name or id, database only) the inputs go into that story, created if new,
    and the briefing covers the whole story."""
    inputs = list(inputs)
    named_issues(issues)  # a malformed --issue fails before any reading
    if db_url is None:
        if story is not None:
            raise UsageError("a stored story needs a database (--db)")
        registry = packaged_registry()
        return brief(_read(inputs, on_error, registry, mode=mode, fetcher=fetcher), words=words,
                     registry=registry, issues=issues)
    with open_store(db_url) as store:
        ids: list[str] = []
        if inputs:
            report = ingest(inputs, store, mode=mode, fetcher=fetcher)
            for error in report.failed:
                if on_error is not None:
                    on_error(error)
            ids = report.new + report.duplicates + report.already_stored
        if story is not None:
            return brief_story(store, _story_for(store, story, ids), words=words, issues=issues)
        documents = store.get_many(sorted(set(ids), key=_id_number), with_annotations=True)
        return brief_documents(annotated(documents), words=words, registry=registry_of(store),
                               issues=issues)


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


def brief_story(store: Store, story: StoryInfo | int, *, words: int = DEFAULT_WORDS,
                issues: Sequence[str] = ()) -> Briefing:
    """The briefing of a stored story, from the stored annotations: only documents stored
    without them (``ingest --no-annotate``) are parsed, and their annotations are kept, so each
    document is parsed once. Served from the store's briefing cache while the story's documents
    are unchanged (a briefing with user-named ``issues`` is made afresh and not cached)."""
    story_id = story if isinstance(story, int) else story.id
    if not issues:
        made = stored_briefing(store, story_id, words)
        if made is None:
            raise UsageError(f"story {story_id} has no documents yet")
        return made[1]
    documents = store.story_documents(story_id, with_annotations=True)
    if not documents:
        raise UsageError(f"story {story_id} has no documents yet")
    return brief_documents(annotated(documents, keep_in=store), words=words,
                           registry=registry_of(store), issues=issues)


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
                               registry=registry_of(store))
    key = store.story_documents_key(story)
    data = json.dumps(briefing.to_dict(), ensure_ascii=False)
    store.save_briefing(story, words, key, data, title=briefing.title)
    return key, briefing


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
    """The annotated documents of ``inputs`` (input strings, or documents already read)."""
    items = list(inputs)
    if all(isinstance(item, Document) for item in items):
        documents = [item for item in items if isinstance(item, Document)]
        taken = {d.id for d in documents if d.id}
        # Documents handed in keep their ids and duplicate marks (a store's, say).
        documents = [d for d in numbered(documents, taken=taken, mark_duplicates=False)
                     if isinstance(d, Document)]
    else:
        documents = _read([str(item) for item in items], on_error, registry)
    return annotated(documents)


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
