"""Storylines: stories that continue one thread (the same actors and issues, later dates).

Story detection keeps documents more than a few weeks apart in different stories: a summit and
the next summit a year later are two stories. A storyline links such stories. Two stories are
alike by the same three views as two documents (``storyline.story.detect``: content words,
names, the meaning of openings), weighed for threads rather than events (a thread keeps its
actors and issues while its events change), averaged over their document pairs, and discounted
by the time between them (``decay_per_year``); stories further apart than ``max_gap_days`` never
link. A thread is a group of stories whose average reaches ``link``: average link over stories,
where each story counts as many times as it has documents.

A pile is linked exactly (``link_stories``). A stream is linked online (``StorylineLinker``):
each story a batch touched that is in no storyline joins the storyline it is most like, or forms
one with the unlinked story it is most like, when that reaches ``link``; then nearby storylines
that now average ``link`` with its storyline merge into it. After each batch, every storyline
holding a story the batch changed is summed again and merged the same way: storylines grow by
their stories' growth too, not only by stories joining them. A linked story that, grown, no
longer averages ``link`` with the rest of its storyline leaves it and is linked afresh (a story
is linked when new, often on one document). A long storyline is weighed by its most recently
started stories: a new story continues a thread's recent part. Candidates come from the stories near it (the
caller's nearest-neighbour index), so the cost does not grow with the store. Two parts whose
names share too little (``names_floor``) are never one thread: a thread keeps its actors, and
two stories of one kind (two earthquakes) share words but not names. The floor is asked only of
parts of ``names_floor_documents`` documents or more: one document's names are a small, noisy
sample of its story's (a video caption on the oil spill names nobody in its text, a column on
it names its own people), and a story linked on one document is checked again, floor
included, once it grows (the check of a linked story above).

The weights, ``link`` and the decay are data (``data/storylines.json``), chosen on the
Timeline17 development topics as one stream, leaving one topic out (``benchmarks/storylines.py``).
"""

from __future__ import annotations

import math

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections import Counter
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from storyline.resources import data_config
from storyline.story.detect import (
    StoryProfile,
    ThreeViews,
    average_link,
    creation_order,
    node_views,
    sparse_dot,
)

DATA_FILE = "storylines.json"
# Calls of ``StorylineLinker.link`` (batches) a storyline's summed profile is kept before it is
# summed again from its stories' current profiles (stories grow between batches).
TOTALS_KEPT_FOR = 8
# A long storyline is summed over its most recently started stories only.
RECENT_STORIES = 16
# Storylines considered for a story: those of its nearest stories, in order of nearness.
LINES_CONSIDERED = 8
# A storyline with fewer other stories than this is summed afresh to ask whether a story still
# fits it (where one story's growth would weigh most on a kept sum).
SUMMED_FROM = 8
ProfileLoader = Callable[[Sequence[int]], Mapping[int, StoryProfile]]
Nearby = Callable[[int, StoryProfile], Sequence[int]]
T = TypeVar("T")


@dataclass(frozen=True)
class StorylineConfig(ThreeViews):
    """How alike stories of one thread are, and how time wears the likeness down."""

    words: float
    names: float
    meaning: float
    link: float  # the average document-pair similarity at which stories form one storyline
    decay_per_year: float  # the likeness is multiplied by exp(-decay * years between stories)
    max_gap_days: int  # stories further apart than this never link
    names_floor: float  # the least average document-pair cosine of names two linked parts share
    names_floor_documents: int  # the floor is asked of two parts that both have this many documents
    candidates: int  # nearest documents whose stories (and their storylines) a story may join

    @classmethod
    def packaged(cls) -> StorylineConfig:
        return data_config(cls, DATA_FILE)


def thread_affinities(config: StorylineConfig, nodes: Sequence[StoryProfile]) -> NDArray[np.float64]:
    """How alike every two nodes (stories, or storylines as the sum of their stories) are as
    parts of one thread: the average document-pair similarity, worn down by the time between
    them; 0 beyond ``max_gap_days`` and where two parts held to the floor share too few names
    (``names_floor``)."""
    views = node_views(nodes)
    words, names, meaning = config.weights()
    total = words * views.words + names * views.names + meaning * views.meaning
    held = np.array([_held_to_floor(config, node) for node in nodes])
    total[(views.names < config.names_floor) & np.outer(held, held)] = 0.0
    with np.errstate(invalid="ignore"):
        known = ~np.isnan(views.gap)
        years = np.where(known, views.gap, 0.0) / 365.25
        total *= np.exp(-config.decay_per_year * years)
        total[known & (views.gap > config.max_gap_days)] = 0.0
    return total


def thread_affinities_to(config: StorylineConfig, node: StoryProfile,
                         others: Sequence[StoryProfile]) -> NDArray[np.float64]:
    """``thread_affinities`` of one node to each of ``others`` (without the whole matrix)."""
    words, names, meaning = config.weights()
    scores = np.zeros(len(others))
    node_held = _held_to_floor(config, node)
    for k, other in enumerate(others):
        pairs = node.size * other.size
        shared_names = sparse_dot(node.names, other.names) / pairs
        if shared_names < config.names_floor and node_held and _held_to_floor(config, other):
            continue
        total = words * sparse_dot(node.words, other.words) / pairs + names * shared_names
        if node.meaning is not None and other.meaning is not None:
            total += meaning * float(node.meaning @ other.meaning) / pairs
        scores[k] = total * _wear(config, node, other)
    return scores


def _held_to_floor(config: StorylineConfig, part: StoryProfile) -> bool:
    """Whether ``part`` has documents enough for its names to be asked to reach the floor."""
    return part.size >= config.names_floor_documents


def _wear(config: StorylineConfig, a: StoryProfile, b: StoryProfile) -> float:
    """What time leaves of the likeness of ``a`` and ``b`` (1 when either is undated)."""
    if a.first_day is None or a.last_day is None or b.first_day is None or b.last_day is None:
        return 1.0
    gap = max(b.first_day - a.last_day, a.first_day - b.last_day, 0)
    return 0.0 if gap > config.max_gap_days else math.exp(-config.decay_per_year * gap / 365.25)


def link_stories(profiles: Sequence[StoryProfile], config: StorylineConfig | None = None) -> list[int]:
    """The storyline of each story (0, 1, ... by first appearance; a storyline of one story is
    a story of no thread yet): average link over the stories, cut at ``link``."""
    config = config or StorylineConfig.packaged()
    usable = [k for k, profile in enumerate(profiles) if profile.size > 0 and profile.meaning is not None]
    labels = list(range(len(profiles)))
    if len(usable) < 2:
        return _renumbered(labels)
    found = average_link(thread_affinities(config, [profiles[k] for k in usable]), config.link,
                         [profiles[k].size for k in usable])
    for position, k in enumerate(usable):
        labels[k] = len(profiles) + found[position]
    return _renumbered(labels)


def pile_storylines(profiles: Mapping[int, StoryProfile], config: StorylineConfig | None = None
                    ) -> dict[int, int | None]:
    """The storyline (1, 2, ... by first story) of each story of a pile, by its key; None for a
    story that continues no other."""
    keys = list(profiles)
    labels = link_stories([profiles[key] for key in keys], config)
    sizes = Counter(labels)
    numbers: dict[int, int] = {}
    return {key: numbers.setdefault(label, len(numbers) + 1) if sizes[label] > 1 else None
            for key, label in zip(keys, labels)}


def _renumbered(labels: Sequence[int]) -> list[int]:
    first: dict[int, int] = {}
    return [first.setdefault(label, len(first)) for label in labels]


class StorylineLinker:
    """Online linking (see the module docstring). ``line_of`` maps each linked story to its
    storyline; new storylines get keys -1, -2, ... until the caller gives them ids (``saved``).
    ``load`` fetches story profiles by id; ``nearby`` names stories near a story."""

    def __init__(self, config: StorylineConfig | None = None, *, line_of: Mapping[int, int] | None = None,
                 load: ProfileLoader, nearby: Nearby) -> None:
        self.config = config or StorylineConfig.packaged()
        self.line_of: dict[int, int] = {}
        self._members: dict[int, set[int]] = {}  # storyline -> its stories
        # storyline -> its most recently started stories (``_recent``), kept until its stories
        # change: sorting a long storyline's stories at every call would grow with it.
        self._recent_of: dict[int, list[int]] = {}
        for story, line in (line_of or {}).items():
            self._place(story, line)
        self._load = load
        self._nearby = nearby
        self._next_key = -1
        self.linked: dict[int, int | None] = {}  # story -> storyline (None: unlinked) since ``saved``
        self._totals: dict[int, StoryProfile] = {}  # storyline -> the sum of its stories
        self._made_at: dict[int, int] = {}  # storyline -> the call of ``link`` that summed it
        self._calls = 0

    def link(self, stories: Sequence[int]) -> dict[int, int]:
        """Link each of ``stories`` that is in no storyline yet, in the order given; the links
        made (story -> storyline key), also kept in ``linked``."""
        self._calls += 1
        for stale in [line for line, call in self._made_at.items()
                      if self._calls - call >= TOTALS_KEPT_FOR]:
            self._drop_total(stale)
        made: dict[int, int] = {}
        for story in stories:
            if story in self.line_of:
                if self._still_fits(story):
                    continue
                self._unlink(story)
            joined = self._link_one(story)
            if joined is not None:
                made[story] = joined
        self._regroup(stories)
        return made

    def _regroup(self, stories: Sequence[int]) -> None:
        """Merge each storyline that holds one of ``stories`` with the nearby storylines it now
        averages ``link`` with. Why: storylines grow by their stories' growth too, not only by
        stories joining them, and two parts of one thread told apart while small may meet as
        they grow (a storyline is otherwise merged only when a story joins it)."""
        given = set(stories)
        for line in dict.fromkeys(self.line_of[s] for s in stories if s in self.line_of):
            if line not in self._members:  # merged into an older one earlier in this loop
                continue
            self._drop_total(line)  # summed again: its stories grew since it was kept
            near: list[int] = []
            changed = sorted(self._members[line] & given)
            profiles = self._load(changed)  # one load for the line's changed stories
            for story in changed:
                profile = profiles.get(story)
                if profile is not None and _usable(profile):
                    near.extend(self.line_of[s] for s in self._nearby(story, profile) if s in self.line_of)
            others = [other for other in dict.fromkeys(near) if other != line][:LINES_CONSIDERED]
            if others:
                self._merge_lines(line, sorted(others, key=creation_order))

    def absorb(self, keep: int, other: int) -> None:
        """Story ``other`` was merged into ``keep``: ``keep`` takes its storyline if it has none."""
        for story in (keep, other):
            if story in self.line_of:
                self._drop_total(self.line_of[story])
        line = self.line_of.pop(other, None)
        self.linked.pop(other, None)
        if line is not None:
            self._leave(other, line)
        if line is not None and keep not in self.line_of:
            self._join(keep, line)

    def saved(self, new_ids: Mapping[int, int]) -> None:
        """The caller kept ``linked``; the storylines it created got ids ``new_ids`` (by key)."""
        # Only the new storylines are renamed: going over every storyline would make each
        # batch cost grow with the stored storylines.
        for key, line in new_ids.items():
            _rename(self._members, key, line)
            _rename(self._recent_of, key, line)
            _rename(self._totals, key, line)
            _rename(self._made_at, key, line)
            for story in self._members.get(line, ()):
                self.line_of[story] = line
        self.linked = {}

    def _link_one(self, story: int) -> int | None:
        profile = self._load([story]).get(story)
        if not _usable(profile):
            return None
        assert profile is not None
        near = [s for s in self._nearby(story, profile) if s != story]
        # The storylines of the nearest stories only: each one considered costs its sum.
        nearest = list(dict.fromkeys(self.line_of[s] for s in near if s in self.line_of))
        lines = sorted(nearest[:LINES_CONSIDERED], key=creation_order)
        alone = self._load([s for s in near if s not in self.line_of])
        options = {("line", line): self._total(line) for line in lines}
        options.update({("story", s): p for s, p in alone.items()})
        usable = [key for key, option in options.items() if _usable(option)]
        if not usable:
            return None
        scores = thread_affinities_to(self.config, profile, [options[k] for k in usable])
        best = int(np.argmax(scores))  # ties: the first, lines before stories, oldest first
        if scores[best] < self.config.link:
            return None
        kind, target = usable[best]
        if kind == "line":
            line = target
        else:
            line = self._join(target, self._new_line())
            self._keep_total(line, options[usable[best]].copy())
        self._join(story, line)
        self._totals[line].absorb(profile)
        return self._merge_lines(line, [other for other in lines if other != line])

    def _merge_lines(self, line: int, others: Sequence[int]) -> int:
        """Merge into ``line`` the nearby storylines that now average ``link`` with it, closest
        first; the older line keeps the stories. Why: a story between two threads told apart
        may show they are one (as the merge pass of detection does for stories)."""
        others = [o for o in others if o in self._members and _usable(self._total(o))]
        while others and _usable(self._total(line)):
            scores = thread_affinities_to(self.config, self._total(line), [self._total(g) for g in others])
            best = int(np.argmax(scores))
            if scores[best] < self.config.link:
                break
            keep, gone = sorted((line, others[best]), key=creation_order)
            self._recent_of.pop(gone, None)
            for moved in sorted(self._members.pop(gone, set())):
                self._join(moved, keep)
            merged = _sum([self._total(keep), self._total(gone)])
            self._drop_total(gone)
            self._keep_total(keep, merged)
            line, others = keep, [o for o in others if o not in (keep, gone)]
        return line

    def _total(self, line: int) -> StoryProfile:
        """A storyline as the sum of its stories' profiles. Kept for ``TOTALS_KEPT_FOR`` calls
        of ``link`` and updated as stories join and leave: summing a long storyline's stories
        every time would make linking cost grow with the storyline."""
        if line not in self._totals:
            self._keep_total(line, _sum(self._load(self._recent(line)).values()))
        return self._totals[line]

    def _recent(self, line: int) -> list[int]:
        """The storyline's most recently started stories (``RECENT_STORIES``): what a new story
        continues, and a bound on what summing a long storyline costs."""
        if line not in self._recent_of:
            self._recent_of[line] = sorted(self._members.get(line, ()), key=creation_order)[-RECENT_STORIES:]
        return self._recent_of[line]

    def _keep_total(self, line: int, total: StoryProfile) -> None:
        self._totals[line] = total
        self._made_at[line] = self._calls

    def _drop_total(self, line: int) -> None:
        self._totals.pop(line, None)
        self._made_at.pop(line, None)

    def _still_fits(self, story: int) -> bool:
        """Whether a linked story, as it is now, still averages ``link`` with the rest of its
        storyline. Why ask: a story is linked when it is new, often one document; grown, it
        may turn out to belong elsewhere, or nowhere."""
        profile = self._load([story]).get(story)
        line = self.line_of[story]
        members = self._members.get(line, set())
        if len(members) - (story in members) < SUMMED_FROM:  # exact: the others as they are now
            rest = _sum(self._load(sorted(members - {story})).values())
        elif story in self._recent(line):  # the kept sum less this story (as it is now)
            rest = _without(self._total(line), profile)
        else:
            rest = self._total(line)
        if profile is None or not _usable(profile) or not _usable(rest):
            return False
        return bool(thread_affinities_to(self.config, profile, [rest])[0] >= self.config.link)

    def _unlink(self, story: int) -> None:
        """Take ``story`` out of its storyline; a storyline left with one story is none."""
        line = self.line_of.pop(story)
        self._leave(story, line)
        members = self._members.get(line, set())
        self.linked[story] = None
        self._drop_total(line)
        if len(members) == 1:
            self._unlink(next(iter(members)))

    def _new_line(self) -> int:
        key = self._next_key
        self._next_key -= 1
        return key

    def _join(self, story: int, line: int) -> int:
        self._place(story, line)
        self.linked[story] = line
        return line

    def _place(self, story: int, line: int) -> None:
        if story in self.line_of:
            self._leave(story, self.line_of[story])
        self.line_of[story] = line
        self._members.setdefault(line, set()).add(story)
        self._recent_of.pop(line, None)

    def _leave(self, story: int, line: int) -> None:
        """Take ``story`` out of ``line``'s members (``line_of`` is the caller's)."""
        self._members.get(line, set()).discard(story)
        self._recent_of.pop(line, None)


def _rename(table: dict[int, T], key: int, new: int) -> None:
    if key in table:
        table[new] = table.pop(key)


def _without(total: StoryProfile, part: StoryProfile | None) -> StoryProfile:
    """``total`` less ``part`` (its span stays that of the total)."""
    rest = total.copy()
    if part is not None:
        rest.absorb(part, -1)
    return rest


def _usable(profile: StoryProfile | None) -> bool:
    return profile is not None and profile.size > 0 and profile.meaning is not None


def _sum(profiles: Iterable[StoryProfile]) -> StoryProfile:
    """The sum of ``profiles``, from a copy of the first (what adding it to an empty profile
    gives, 0.0 + w being w, without a loop over its words)."""
    parts = iter(profiles)
    first = next(parts, None)
    total = StoryProfile() if first is None else first.copy()
    for profile in parts:
        total.absorb(profile)
    return total
