"""The stored stories as the faces list them: each with its documents' origins, countries and
storyline, and grouped by storyline (``storyline stories --db``, the web app's home page,
``GET /api/stories``); and a story's place in its storyline, which a stored story's briefing
carries (``storyline_place``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from storyline.briefing import Period, StorylineNeighbour, StorylinePlace
from storyline.outlets import Registry, enrich
from storyline.pipeline.registry import registry_of
from storyline.store import Store, StoryInfo, StorylineInfo


@dataclass(frozen=True)
class StoryEntry:
    """A story with what a listing shows of it. ``countries``: its documents' countries as the
    outlet registry knows them now, the most frequent first."""

    story: StoryInfo
    origins: tuple[str, ...]
    countries: tuple[str, ...]
    storyline: StorylineInfo | None

    @property
    def title(self) -> str:
        """The story's title as the JSON gives it: its briefing's, else its name."""
        return self.story.title or self.story.name

    @property
    def label(self) -> str:
        """What a listing heads the story with (``label``)."""
        return label(self.story)

    @property
    def subtitle(self) -> str | None:
        """What a listing shows under the label: a named story's generated title, when it
        says something its name does not."""
        story = self.story
        return story.title if story.kind == "named" and story.title not in {None, story.name} else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``storyline stories --format json``."""
        line = self.storyline
        return {
            "id": self.story.id, "title": self.title, "name": self.story.name, "kind": self.story.kind,
            "documents": list(self.origins),
            "period": {"start": self.story.period_start, "end": self.story.period_end},
            "countries": list(self.countries),
            "storyline": storyline_ref(line),
            "updated_at": self.story.updated_at,
        }


@dataclass(frozen=True)
class StorylineGroup:
    """Stories of one storyline, in its order (``storyline`` None: the stories of none)."""

    storyline: StorylineInfo | None
    stories: tuple[StoryEntry, ...]


def storyline_ref(line: StorylineInfo | None) -> dict[str, Any] | None:
    """A storyline as the JSON names it: ``{"id", "title"}``, or None."""
    return None if line is None else {"id": line.id, "title": line.title}


def story_entries(store: Store, registry: Registry | None = None) -> list[StoryEntry]:
    """Every story not merged into another, the most recently changed first."""
    registry = registry or registry_of(store)
    stories = store.stories()
    titles = {story.id: label(story) for story in stories}
    lines = {line.id: _titled(line, titles.get) for line in store.storylines() if line.stories}
    entries = []
    for story in stories:
        documents = store.story_documents(story.id, with_text=False)
        enrich(documents, registry)  # outlets added since the ingest count too
        counts = Counter(doc.country for doc in documents if doc.country)
        countries = sorted(counts, key=lambda country: (-counts[country], country))
        line = lines.get(story.storyline) if story.storyline is not None else None
        entries.append(StoryEntry(story, tuple(doc.origin for doc in documents), tuple(countries), line))
    return entries


def by_storyline(entries: Sequence[StoryEntry]) -> list[StorylineGroup]:
    """The entries grouped by storyline: storylines whose latest change is most recent first,
    each with its stories in the storyline's order (by period); then the stories of none."""
    groups: dict[int, list[StoryEntry]] = {}
    alone: list[StoryEntry] = []
    lines: dict[int, StorylineInfo] = {}
    for entry in entries:  # most recently changed first: so are the storylines
        if entry.storyline is None:
            alone.append(entry)
        else:
            lines[entry.storyline.id] = entry.storyline
            groups.setdefault(entry.storyline.id, []).append(entry)
    found = []
    for line_id, members in groups.items():
        order = {story: place for place, story in enumerate(lines[line_id].stories)}
        members.sort(key=lambda entry: order.get(entry.story.id, len(order)))
        found.append(StorylineGroup(lines[line_id], tuple(members)))
    if alone:
        found.append(StorylineGroup(None, tuple(alone)))
    return found


def storyline_place(store: Store, story: int) -> StorylinePlace | None:
    """Where ``story`` stands in its storyline, with the stories just before and after it;
    None when it belongs to none. Read afresh on every call: linking another story into the
    storyline moves this one without changing its documents, so it is never cached with a
    briefing."""
    info = store.story(story)
    if info is None or info.storyline is None:
        return None
    line = next((line for line in store.storylines() if line.id == info.storyline), None)
    if line is None or story not in line.stories:
        return None  # a merged story is listed in no storyline
    index = line.stories.index(story)
    line = _titled(line, lambda first: _story_title(store, first))
    return StorylinePlace(
        id=line.id, title=line.title or "", place=index + 1,
        stories=len(line.stories), previous=_neighbour(store, line, index - 1),
        next=_neighbour(store, line, index + 1))


def _neighbour(store: Store, line: StorylineInfo, index: int) -> StorylineNeighbour | None:
    if not 0 <= index < len(line.stories):
        return None
    info = store.story(line.stories[index])
    if info is None:
        return None
    return StorylineNeighbour(id=info.id, title=label(info),
                              period=Period(start=info.period_start, end=info.period_end))


def _story_title(store: Store, story: int) -> str:
    """A story's title as the listings give it (``label``)."""
    info = store.story(story)
    return label(info) if info is not None else f"Story {story}"


def label(story: StoryInfo) -> str:
    """A story as the listings head it: the name its user gave it (a named story: the user
    chose it, and knows the story by it), else the title its briefing gave it (a found story's
    name is only ``found-ID``), else its name."""
    if story.kind == "named":
        return story.name
    return story.title or story.name


def _titled(line: StorylineInfo, title_of: Callable[[int], str | None]) -> StorylineInfo:
    """A storyline linked by detection has no title of its own: it is its earliest story's."""
    return replace(line, title=line.title or title_of(line.stories[0]))
