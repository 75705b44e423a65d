"""Story detection wired to its inputs: the stories found in a pile of inputs.

``find_stories`` reads inputs (files, folders, URLs ..., as ``extract`` does), keeps the
originals (near duplicates go with their original's story), and clusters them with
``storyline.story.detect``; ``storyline stories INPUT...`` prints what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from storyline.model import Document, InputError, Mode
from storyline.outlets import Registry
from storyline.pipeline.documents import extract
from storyline.read.fetch import Fetcher
from storyline.story.detect import (
    DetectConfig,
    FoundStory,
    cluster_features,
    features_of,
    found_stories,
    story_profiles,
)
from storyline.story.storylines import pile_storylines

Errors = Callable[[InputError], None]


@dataclass(frozen=True)
class PileStories:
    """The stories of a pile, largest first, and every document read, in input order, with
    the number of its story."""

    stories: list[FoundStory]
    documents: list[tuple[Document, int]]


def find_stories(inputs: Iterable[str], *, mode: Mode | None = None, fetcher: Fetcher | None = None,
                 registry: Registry | None = None, on_error: Errors | None = None) -> PileStories:
    """The stories in ``inputs``; inputs that fail go to ``on_error`` and are left out."""
    documents: list[Document] = []
    for result in extract(inputs, mode=mode, fetcher=fetcher, registry=registry):
        if isinstance(result, Document):
            documents.append(result)
        elif on_error is not None:
            on_error(result)
    return stories_of(documents)


def stories_of(documents: list[Document]) -> PileStories:
    """``find_stories`` on documents already read: originals are clustered, and a near
    duplicate joins its original's story; stories of one thread are linked into storylines."""
    originals = [d for d in documents if not d.duplicate_of]
    config = DetectConfig.packaged()
    features = features_of(originals, config=config)
    labels = cluster_features(features, config)
    storylines = pile_storylines(story_profiles(features, labels))
    stories = found_stories(originals, labels, storylines=storylines)
    story_of_id = {id(d): story.number for story in stories for d in story.documents}
    by_doc_id = {d.id: story_of_id[id(d)] for d in originals if d.id}
    numbered = [(d, story_of_id.get(id(d)) or by_doc_id.get(d.duplicate_of or "", 0))
                for d in documents]
    return PileStories(stories, numbered)
