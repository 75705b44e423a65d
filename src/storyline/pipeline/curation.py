"""Stories curated by hand: move documents between stories, merge two stories, split one,
remove a source from a story; and a source's outlet, date or title corrected.

The command line (``storyline merge|split|move``, ``storyline sources remove|correct``) and the
web app (forms and ``/api/stories/...``, ``/api/sources/...``) call these, never the store's
operations directly, so that whatever story detection keeps of a story (its profile) follows
the curation: each operation is one store transaction, then ``after_curation`` is told which
stories changed. A correction is checked whole before anything is written; the document's
annotations are then made again when what they were made with changed (relative dates are
resolved against the publication date, an interview's questions given to its outlet), so the
next briefing of every story holding it places and cites it as corrected.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from storyline.errors import InvalidValue
from storyline.model import Document
from storyline.outlets import Registry
from storyline.pipeline.assign import after_detection_changes
from storyline.pipeline.registry import registry_of
from storyline.store import SourceCorrection, Store, StoryInfo

# Longest title and outlet name a correction may set: a sentence-long headline fits, a pasted
# article does not (engineering bounds, not tuned).
MAX_TITLE_CHARS = 500
MAX_OUTLET_CHARS = 200
# What the annotations of a document were made with: correcting one of these annotates again.
ANNOTATED_WITH = frozenset({"published", "outlet"})


def move(store: Store, doc_ids: Sequence[str], from_story: int, to_story: int) -> int:
    """Documents of ``from_story`` leave it and join ``to_story``; returns how many joined."""
    joined = store.move_documents(doc_ids, from_story, to_story)
    after_curation(store, [from_story, to_story])
    return joined


def merge(store: Store, keep: int, other: int) -> StoryInfo:
    """``other`` merged into ``keep`` (its documents join ``keep``); returns ``keep`` as now."""
    kept = store.merge_stories(keep, other)
    after_curation(store, [keep, other])
    return kept


def split(store: Store, story: int, doc_ids: Sequence[str], name: str) -> StoryInfo:
    """A new story named ``name`` made of ``doc_ids``, which leave ``story``; returns it."""
    new = store.split_story(story, doc_ids, name)
    after_curation(store, [story, new.id])
    return new


def remove(store: Store, story: int, doc_ids: Sequence[str]) -> int:
    """``doc_ids`` leave ``story`` (they stay stored, and in other stories); returns how many
    left. ``InvalidValue`` when they are all of its sources."""
    removed = store.remove_documents(story, doc_ids)
    after_curation(store, [story])
    return removed


def correct(store: Store, doc_id: str, *, title: str | None = None, outlet: str | None = None,
            published: str | None = None, registry: Registry | None = None) -> Document:
    """Correct a stored source's ``title``, ``outlet`` or ``published`` date (``YYYY-MM-DD``;
    None: left as it is); returns the document as corrected. An outlet the registry knows is
    named as the registry names it. ``KeyError``: no such document; ``InvalidValue``: nothing
    to correct, an empty or overlong value, a date that is no day; nothing changes then."""
    correction = checked_correction(title=title, outlet=outlet, published=published,
                                    registry=registry or registry_of(store))
    corrected = store.correct_document(doc_id, correction)
    if ANNOTATED_WITH & correction.fields().keys():
        _annotate_again(store, corrected)
    return corrected


def checked_correction(*, title: str | None, outlet: str | None, published: str | None,
                       registry: Registry) -> SourceCorrection:
    """The correction the user asked for, cleaned (spaces collapsed, a known outlet's own
    name); ``InvalidValue`` for one that cannot be made."""
    if title is None and outlet is None and published is None:
        raise InvalidValue("nothing to correct: give the outlet, the date or the title")
    clean_title = _text_value(title, "title", MAX_TITLE_CHARS)
    clean_outlet = _text_value(outlet, "outlet", MAX_OUTLET_CHARS)
    if clean_outlet is not None:
        known = registry.find(clean_outlet)
        clean_outlet = known.name if known is not None else clean_outlet
    return SourceCorrection(title=clean_title, outlet=clean_outlet, published=_day(published))


def _text_value(value: str | None, what: str, longest: int) -> str | None:
    if value is None:
        return None
    clean = " ".join(value.split())
    if not clean:
        raise InvalidValue(f"the {what} cannot be empty")
    if len(clean) > longest:
        raise InvalidValue(f"the {what} is {len(clean)} characters long: at most {longest}")
    return clean


def _day(value: str | None) -> str | None:
    """``value`` as a day ``YYYY-MM-DD`` (None: none given); ``InvalidValue`` otherwise."""
    if value is None:
        return None
    clean = value.strip()
    try:
        if len(clean) != len("YYYY-MM-DD"):
            raise ValueError(clean)
        return date.fromisoformat(clean).isoformat()
    except ValueError:
        raise InvalidValue(f"{value.strip()[:40]!r} is not a date: give the day as YYYY-MM-DD, "
                           "such as 2026-03-04") from None


def _annotate_again(store: Store, document: Document) -> None:
    """The document's annotations made anew from its corrected metadata, and kept."""
    from storyline.pipeline.stories import annotated  # loads the language model on first use

    document.annotations = None
    annotated([document], keep_in=store)


def after_curation(store: Store, story_ids: Sequence[int]) -> None:
    """The hook run after each curation with the stories it changed (a merged story included).

    Cached briefings are keyed by a story's documents, so they go stale by themselves; the
    profiles story detection keeps of found stories (what new documents are compared with)
    are remade here from the stories' documents, so that later documents follow the user's
    decision.
    """
    after_detection_changes(store, story_ids)
