"""Stories curated by hand: move documents between stories, merge two stories, split one.

The command line (``storyline merge|split|move``) and the web app (forms and ``/api/stories/...``)
call these, never the store's operations directly, so that whatever story detection keeps of a
story (its profile) follows the curation: each operation is one store transaction, then
``after_curation`` is told which stories changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from storyline.pipeline.assign import after_detection_changes
from storyline.store import Store, StoryInfo


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


def after_curation(store: Store, story_ids: Sequence[int]) -> None:
    """The hook run after each curation with the stories it changed (a merged story included).

    Cached briefings are keyed by a story's documents, so they go stale by themselves; the
    profiles story detection keeps of found stories (what new documents are compared with)
    are remade here from the stories' documents, so that later documents follow the user's
    decision.
    """
    after_detection_changes(store, story_ids)
