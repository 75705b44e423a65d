"""The key dates of a story: the T days that matter most, with K cited sentences for each.

This is the briefing's timeline (``storyline.story.timeline``) cut to size for a reader who
asks "what were the main dates?": the same dated events of the annotate stage (a date taken
from the clause it governs, resolved against the publication date), the same content words,
the same preference for sentences that read alone. What it adds is a choice:

* **Which days.** A learned date ranker, much like DATEWISE's (Gholipour Ghalandari & Ifrim
  2020): every day the documents name or were published on is scored from the evidence that it
  mattered (how many documents name it, name it weeks later, name it in their openings, are
  published on it or the day after), with weights a logistic regression learned from
  journalists' timelines (``story/date_ranker.py``), and the best-scored days are taken.
* **Which sentences.** The day's events (sentences whose governing clause is dated to that
  day; forecasts and hedged statements are not events) and the opening sentences of the reports
  published on the day or the day after (a lead tells the day's news without always naming the
  day), readable alone and of reasonable length, ranked by their TF-IDF cosine to the centroid
  of all those candidates (the central telling of the day), lowered for a lead or a scheduled
  event (and raised for a report published within two days by ``fresh``, which the packaged
  constants leave at 0 since the learned date ranker came in); one too similar to a sentence
  already chosen is skipped, and no sentence (nor a copy of it) serves two days. A day with no
  candidate but with documents published on it shows their opening sentences.

Every sentence cites its own span and the spans of the other documents that tell the same
event. Constants: ``data/timeline.json``.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import numpy as np

from storyline.annotate.embeddings import Embedder
from storyline.briefing import Citation, CitedText
from storyline.model import Document, Event
from storyline.story.date_ranker import DateRanker, candidate_days, day_of, day_scores
from storyline.resources import read_data
from storyline.story.timeline import EventItem, content_words, event_items, self_contained, similarity
from storyline.text import is_summary_worthy, sentence_rules

DATA_FILE = "timeline.json"
# A reader's comment under an article ("At 18:26 1st Jun 2010, Dora wrote: ..."): dated, but no
# event of the story.
_COMMENT = re.compile(r"^.{0,60}\b\d{1,2}[:.]\d{2}\b.{0,60}\bwrote:")
# What a copied page puts before a report's first sentence: a dateline with its time ("Thursday,
# May 27, 2010; 4:21 PM") or a photo credit in brackets ("(Jo Ames - AP)"). Skipped, so that
# the sentence cited starts where the report does.
_LEADING_FURNITURE = re.compile(
    r"^(?:(?:[A-Z][a-z]+day,\s+)?[A-Z][a-z]+\.?\s+\d{1,2},\s+\d{4}(?:;\s*\d{1,2}:\d{2}\s*[AP]\.?M\.?)?\s+"
    r"|\([^()]{0,80}\b(?:AP|AFP|Reuters|Getty(?: Images)?|EPA|Bloomberg)\)\s*)+")
_FIRST_SENTENCE = re.compile(r".+?[.!?](?=['\"\u201d\u2019)]*\s|$)|.+", re.DOTALL)


@dataclass(frozen=True)
class SentenceRules:
    min_words: int
    max_words: int
    redundancy: float
    same_event: float
    support_weight: float
    length_target: float
    length_weight: float
    scheduled: float
    embedding: float
    fresh: float
    lead: float
    lead_paragraphs: int


@dataclass(frozen=True)
class KeyDateConstants:
    """Everything tuned about choosing key dates and their sentences (``data/timeline.json``)."""

    dates: DateRanker
    sentences: SentenceRules

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyDateConstants:
        return cls(DateRanker.from_dict(data["dates"]), SentenceRules(**data["sentences"]))

    @classmethod
    def packaged(cls) -> KeyDateConstants:
        return cls.from_dict(read_data(DATA_FILE))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {part.name: {f.name: getattr(getattr(self, part.name), f.name)
                            for f in fields(getattr(self, part.name))} for part in fields(self)}


@dataclass(frozen=True)
class KeyDate:
    """One chosen day: its cited sentences, most central first, and its score."""

    date: str
    sentences: list[CitedText]
    score: float


def key_dates(documents: Sequence[Document], *, dates: int, sentences: int,
              start: str | None = None, end: str | None = None,
              constants: KeyDateConstants | None = None,
              embedder: Embedder | None = None) -> list[KeyDate]:
    """The ``dates`` most important days between ``start`` and ``end`` (ISO days, inclusive;
    None: unbounded), in date order, each with at most ``sentences`` cited sentences. Days with
    nothing to say are passed over, so fewer may come back. Documents need annotations;
    duplicates are skipped (their originals speak for them). ``embedder`` (sentence vectors)
    is used where the constants weigh embedding centrality; without one, TF-IDF alone ranks."""
    constants = constants or KeyDateConstants.packaged()
    originals = [d for d in documents if d.annotations is not None and d.duplicate_of is None]
    scores = day_scores(originals, constants.dates, start=start, end=end)
    items = _items_by_day(documents, set(scores))
    published = {d.id or "": day_of(d.published) for d in originals}
    idf = _idf(item for day_items in items.values() for item in day_items)
    chosen: list[KeyDate] = []
    used: set[tuple[str, int]] = set()
    for day in sorted(scores, key=lambda d: (-scores[d], d)):
        if len(chosen) >= dates:
            break
        fresh = {source for source, when in published.items()
                 if when is not None and 0 <= (when - date.fromisoformat(day)).days <= 2}
        leads = _lead_items(documents, day, constants.sentences, items.get(day, []))
        picked = _sentences(items.get(day, []) + leads, sentences, idf, constants.sentences, used,
                            embedder, fresh, {id(i) for i in leads})
        if not picked:
            picked = _openings(originals, day, sentences, used)
        if picked:
            chosen.append(KeyDate(day, picked, scores[day]))
    return sorted(chosen, key=lambda k: k.date)


def dated_days(documents: Sequence[Document]) -> set[str]:
    """Every day the documents were published on or name (what ``key_dates`` chooses from)."""
    return candidate_days([d for d in documents if d.annotations is not None and d.duplicate_of is None])


def _items_by_day(documents: Sequence[Document], days: set[str]) -> dict[str, list[EventItem]]:
    """The events dated to each of ``days`` (forecasts and expectations left out)."""
    by_day: dict[str, list[EventItem]] = defaultdict(list)
    for item in event_items(list(documents)):
        if item.event.date in days and item.event.status != "expected":
            by_day[item.event.date].append(item)
    return by_day


def _idf(items: Iterable[EventItem]) -> dict[str, float]:
    frequency: Counter[str] = Counter()
    total = 0
    for item in items:
        frequency.update(item.words)
        total += 1
    return {word: math.log((1 + total) / (1 + count)) + 1.0 for word, count in frequency.items()}


def _vector(words: frozenset[str], idf: dict[str, float]) -> dict[str, float]:
    weights = {word: idf.get(word, 1.0) for word in words}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {word: w / norm for word, w in weights.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(word, 0.0) for word, w in a.items())


def _sentences(items: list[EventItem], count: int, idf: dict[str, float], rules: SentenceRules,
               used: set[tuple[str, int]], embedder: Embedder | None,
               fresh: set[str], leads: set[int]) -> list[CitedText]:
    """The day's ``count`` most central events, each with its supporting citations."""
    worthy = _worthiness(rules)
    pool = [i for i in _distinct(items) if is_summary_worthy(i.event.text, worthy)
            and not _COMMENT.match(i.event.text) and not _is_used(i.source, i.event.start, i.event.text, used)]
    if not pool:
        return []
    vectors = [_vector(i.words, idf) for i in items]
    centroid: dict[str, float] = defaultdict(float)
    for vector in vectors:
        for word, weight in vector.items():
            centroid[word] += weight / len(vectors)
    meaning = _embedding_centrality(items, pool, embedder) if rules.embedding and embedder else None
    ranked = []
    for index, item in enumerate(pool):
        vector = _vector(item.words, idf)
        support = _supporters(item, items, rules.same_event)
        words = _words(item.event.text)
        status = rules.scheduled if item.event.status == "scheduled" else 1.0
        if item.source in fresh:
            status *= 1 + rules.fresh  # told within two days: the day's own news
        if id(item) in leads:
            status *= rules.lead
        central = _cosine(vector, centroid)
        if meaning is not None:
            central = (1 - rules.embedding) * central + rules.embedding * meaning[index]
        score = (status * central * (len(support) / 2 + 1) ** rules.support_weight
                 - rules.length_weight * abs(words - rules.length_target) / rules.length_target)
        ranked.append((score, self_contained(item.event.text), item, vector, support))
    ranked.sort(key=lambda r: (-r[0], not r[1], r[2].order, r[2].event.start))
    chosen: list[tuple[EventItem, dict[str, float], list[EventItem]]] = []
    for _score, _alone, item, vector, support in ranked:
        if len(chosen) >= count:
            break
        if any(_cosine(vector, other) > rules.redundancy for _, other, _ in chosen):
            continue
        chosen.append((item, vector, support))
    for item, _, _ in chosen:
        _use(item.source, item.event.start, item.event.text, used)
    return [CitedText(text=item.event.text, citations=_citations(item, support))
            for item, _, support in chosen]


def _lead_items(documents: Sequence[Document], day: str, rules: SentenceRules,
                dated: list[EventItem]) -> list[EventItem]:
    """The opening sentences of the documents published on ``day`` or the day after, as
    candidates for the day: a report's lead tells the day's news without always naming the day.
    A sentence that is an event of some date already is left to that date."""
    if not rules.lead or not rules.lead_paragraphs:
        return []
    target = date.fromisoformat(day)
    taken = {(i.source, i.event.start) for i in dated}
    out: list[EventItem] = []
    for order, document in enumerate(documents):
        published = day_of(document.published)
        if (document.annotations is None or document.duplicate_of is not None or published is None
                or not 0 <= (published - target).days <= 1):
            continue
        source = document.id or f"S{order + 1}"
        events = {e.start for e in document.annotations.events}
        for start, end in _opening_sentences(document.text, rules.lead_paragraphs):
            if (source, start) in taken or start in events:
                continue
            text = document.text[start:end]
            event = Event(date=day, text=text, start=start, end=end, status="happened")
            out.append(EventItem(source, order, event, content_words(text)))
    return out


def _opening_sentences(text: str, paragraphs: int) -> list[tuple[int, int]]:
    """The first sentence of each of the first ``paragraphs`` non-blank lines, as offsets."""
    found: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            furniture = _LEADING_FURNITURE.match(stripped)
            skip = furniture.end() if furniture else 0
            match = _FIRST_SENTENCE.match(stripped, skip)
            if match is not None:
                start = offset + line.index(stripped) + skip
                found.append((start, start + len(match.group().rstrip())))
            if len(found) >= paragraphs:
                break
        offset += len(line) + 1
    return found


def _embedding_centrality(items: list[EventItem], pool: list[EventItem],
                          embedder: Embedder) -> list[float]:
    """Each pooled event's cosine to the mean vector of all the day's events."""
    texts = list(dict.fromkeys(i.event.text for i in items))
    vectors = embedder(texts)
    row = {text: index for index, text in enumerate(texts)}
    centroid = vectors.mean(axis=0)
    centroid = centroid / (float(np.linalg.norm(centroid)) or 1.0)
    return [float(vectors[row[i.event.text]] @ centroid) for i in pool]


def _worthiness(rules: SentenceRules) -> dict[str, Any]:
    """The summary's test of a sentence that reads alone, at this module's word limits."""
    worthy = sentence_rules()
    worthy["sentence"] = {**worthy["sentence"], "min_words": rules.min_words,
                          "max_words": rules.max_words}
    return worthy


def _is_used(source: str, start: int, text: str, used: set[tuple[str, int]]) -> bool:
    """Chosen already, for another day or (a copy of it) from another source."""
    return (source, start) in used or ("", hash(_folded(text))) in used


def _use(source: str, start: int, text: str, used: set[tuple[str, int]]) -> None:
    used.add((source, start))
    used.add(("", hash(_folded(text))))


def _folded(text: str) -> str:
    return " ".join(text.lower().split())


def _distinct(items: list[EventItem]) -> list[EventItem]:
    """One item per sentence (a sentence naming the day twice is one candidate)."""
    seen: set[tuple[str, int]] = set()
    out = []
    for item in items:
        key = (item.source, item.event.start)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _words(text: str) -> int:
    return len(text.split())


def _supporters(item: EventItem, items: list[EventItem], same_event: float) -> list[EventItem]:
    """The events of other documents that tell the same thing (one per document)."""
    found: dict[str, EventItem] = {}
    for other in items:
        if other.source == item.source or other.source in found:
            continue
        score, _shared = similarity(item.words, other.words)
        if score >= same_event:
            found[other.source] = other
    return list(found.values())


def _citations(item: EventItem, support: list[EventItem]) -> list[Citation]:
    cited = [item, *sorted(support, key=lambda s: (s.order, s.event.start))]
    return [Citation(source=i.source, start=i.event.start, end=i.event.end) for i in cited]


def _openings(documents: Sequence[Document], day: str, count: int,
              used: set[tuple[str, int]]) -> list[CitedText]:
    """The opening sentences of the documents published on ``day`` (a day without events)."""
    out: list[CitedText] = []
    for document in documents:
        if len(out) >= count or not document.published or document.published[:10] != day:
            continue
        found = _opening(document)
        source = document.id or ""
        if found is None or not source:
            continue
        start, end = found
        if _is_used(source, start, document.text[start:end], used):
            continue
        _use(source, start, document.text[start:end], used)
        out.append(CitedText(text=document.text[start:end],
                             citations=[Citation(source=source, start=start, end=end)]))
    return out


def _opening(document: Document) -> tuple[int, int] | None:
    """The first sentence of the first line that reads as one, as offsets."""
    offset = 0
    for line in document.text.split("\n"):
        stripped = line.strip()
        if stripped and content_words(stripped):
            match = _FIRST_SENTENCE.match(stripped)
            if match is not None:
                start = offset + line.index(stripped)
                return start, start + len(match.group().rstrip())
        offset += len(line) + 1
    return None
