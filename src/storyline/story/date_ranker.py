"""Which days of a story matter: per-day evidence and the learned score of ``key_dates``.

Much like DATEWISE's supervised date ranker (Gholipour Ghalandari & Ifrim 2020): every day the
documents name or were published on is a candidate, described by counts of the evidence that it
mattered, each taken as ``log(1 + count)``:

* how many documents name it (``references``), how many times (``mentions``), in their first
  paragraphs (``in_opening``), in a clause that says something happened on it (``happened``),
  with a month or a number rather than a weekday (``explicit``);
* who names it when: documents published a week or a month later (``later``, ``later_long``:
  a day still named later was a turning point), that count less the log of how many documents
  were published that late at all (``later_share``: a day near the end of the coverage has had
  little time to be named later, and should not lose for it), documents published before it
  (``earlier``: announced ahead), within two days after it (``fresh``), and how many distinct
  later days named it (``naming_days``);
* how much was published on it, the day after, and within a few days either side (``published``,
  ``published_next``, ``local``, ``local_wide``);
* how on-topic the documents naming it are (``on_topic``: the sum of their TF-IDF cosines to the
  centroid of all the documents, times ``TOPIC_SCALE`` before the log): the pools a timeline is
  made from hold articles that only touch the story, and a day named by them says less.

A day's score is the weighted sum of its features, the weights a logistic regression learned
from which days journalists' timelines chose (``benchmarks/timeline_dates.py --write``: trained
on the Timeline17 development topics, each timeline weighed alike; leave-one-topic-out figures
in ``docs/benchmarks.md``). Only the order of the scores matters, so the intercept is not kept.
A day named by documents counts once per document; references are every calendar-day date a
document names (not only events: a date named in passing still says the day mattered).
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from storyline.annotate.events import anchored_date
from storyline.model import Document
from storyline.story.timeline import content_words

ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A naming that states the day ("May 5", "5/5"), not a weekday or "yesterday".
_EXPLICIT = re.compile(r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\d")
FEATURES = ("references", "mentions", "later", "later_long", "later_share", "earlier", "fresh",
            "in_opening", "explicit", "happened", "naming_days", "published", "published_next",
            "local", "local_wide", "on_topic")
# on_topic is log(1 + TOPIC_SCALE * a sum of cosines): a cosine to the centroid is well under 1,
# so for a day one document names a bare log(1 + x) would barely move.
TOPIC_SCALE = 10.0


@dataclass(frozen=True)
class DateRanker:
    """The day score's windows (in days, paragraphs) and its learned weights per feature."""

    later_days: int
    later_long_days: int
    fresh_days: int
    opening_paragraphs: int
    local_days: int
    local_wide_days: int
    weights: dict[str, float]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DateRanker:
        unknown = set(data["weights"]) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown day features in the date weights: {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class _Naming:
    """One date expression naming a day in a document."""

    paragraph: int
    explicit: bool
    in_event: bool


def day_scores(documents: Sequence[Document], ranker: DateRanker, *, start: str | None = None,
               end: str | None = None) -> dict[str, float]:
    """The score of every candidate day inside the window (originals with annotations only)."""
    return {day: sum(ranker.weights.get(name, 0.0) * value for name, value in features.items())
            for day, features in day_features(documents, ranker, start=start, end=end).items()}


def day_features(documents: Sequence[Document], ranker: DateRanker, *, start: str | None = None,
                 end: str | None = None) -> dict[str, dict[str, float]]:
    """Every candidate day inside the window (ISO day) with its features (``FEATURES``)."""
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    naming_days: dict[date, set[date]] = defaultdict(set)
    published_on: Counter[date] = Counter()
    on_topic: dict[date, float] = defaultdict(float)
    for document, topicality in zip(documents, topicalities(documents)):
        published = day_of(document.published)
        if published is not None:
            published_on[published] += 1
        for day, namings in namings_by_day(document).items():
            _count(counts[day], namings, published, day, ranker)
            on_topic[day] += topicality
            if published is not None and published > day:
                naming_days[day].add(published)
    publication_days = sorted(published_on.elements())
    candidates = {d for d, c in counts.items() if c["references"]} | set(published_on)
    return {day.isoformat(): _features(day, counts[day], len(naming_days[day]), published_on,
                                       publication_days, ranker) | {
                "on_topic": math.log1p(TOPIC_SCALE * on_topic[day])}
            for day in sorted(candidates) if _within(day.isoformat(), start, end)}


def topicalities(documents: Sequence[Document]) -> list[float]:
    """Each document's TF-IDF cosine to the centroid of all of them (content words, each counted
    once a document; a word in one document only is left out: it cannot tell what they share)."""
    bags = [content_words(document.text) for document in documents]
    frequency = Counter(word for bag in bags for word in bag)
    total = len(bags)
    idf = {word: math.log((1 + total) / (1 + count)) + 1.0 for word, count in frequency.items() if count > 1}
    vectors = [_unit({word: idf[word] for word in bag if word in idf}) for bag in bags]
    centroid: dict[str, float] = defaultdict(float)
    for vector in vectors:
        for word, weight in vector.items():
            centroid[word] += weight
    unit_centroid = _unit(centroid)
    return [sum(weight * unit_centroid.get(word, 0.0) for word, weight in vector.items())
            for vector in vectors]


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
    return {word: value / norm for word, value in vector.items()}


def candidate_days(documents: Sequence[Document]) -> set[str]:
    """Every day the documents were published on or name (what ``key_dates`` chooses from)."""
    found = {d.isoformat() for document in documents for d in namings_by_day(document)}
    return found | {d.isoformat() for d in (day_of(doc.published) for doc in documents) if d}


def day_of(value: str | None) -> date | None:
    if value is None or not ISO_DAY.match(value[:10]):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def namings_by_day(document: Document) -> dict[date, list[_Naming]]:
    """The calendar days the document's text names, anchored as events are, with each naming."""
    assert document.annotations is not None
    happened = [(e.start, e.end, e.date) for e in document.annotations.events if e.status == "happened"]
    found: dict[date, list[_Naming]] = defaultdict(list)
    for timex in document.annotations.timexes:
        value = anchored_date(timex, document.published)
        day = day_of(value) if value and len(value) == 10 else None
        if day is None:
            continue
        in_event = any(s <= timex.start < e and when == value for s, e, when in happened)
        found[day].append(_Naming(paragraph=document.text.count("\n\n", 0, timex.start),
                                  explicit=bool(_EXPLICIT.search(timex.text)), in_event=in_event))
    return found


def _within(day: str, start: str | None, end: str | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _count(counts: Counter[str], namings: list[_Naming], published: date | None, day: date,
           ranker: DateRanker) -> None:
    """One document's namings of ``day`` added to the day's counts (once per document)."""
    counts["references"] += 1
    counts["mentions"] += len(namings)
    counts["in_opening"] += any(n.paragraph < ranker.opening_paragraphs for n in namings)
    counts["explicit"] += any(n.explicit for n in namings)
    counts["happened"] += any(n.in_event for n in namings)
    if published is None:
        return
    gap = (published - day).days
    counts["later"] += gap >= ranker.later_days
    counts["later_long"] += gap >= ranker.later_long_days
    counts["earlier"] += gap < 0
    counts["fresh"] += 0 <= gap <= ranker.fresh_days


def _features(day: date, counts: Counter[str], naming_days: int, published_on: Counter[date],
              publication_days: list[date], ranker: DateRanker) -> dict[str, float]:
    def near(width: int) -> int:
        return sum(published_on[day + timedelta(days=o)] for o in range(-width, width + 1))

    raw = {name: counts[name] for name in ("references", "mentions", "later", "later_long",
                                           "earlier", "fresh", "in_opening", "explicit", "happened")}
    raw.update(naming_days=naming_days, published=published_on[day],
               published_next=published_on[day + timedelta(days=1)],
               local=near(ranker.local_days), local_wide=near(ranker.local_wide_days))
    features = {name: math.log1p(value) for name, value in raw.items()}
    # Documents that could have named the day late at all: those published later_days after it.
    late = len(publication_days) - bisect.bisect_left(publication_days,
                                                       day + timedelta(days=ranker.later_days))
    features["later_share"] = features["later"] - math.log1p(late)
    return {name: features[name] for name in FEATURES if name in features}
