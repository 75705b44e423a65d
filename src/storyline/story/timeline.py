"""The story's timeline: the documents' dated events, one entry per event however many sources
tell it, each entry citing every sentence that supports it.

Merging. Events are taken most precise date first; each joins the existing entry with a
compatible date and the most similar content, or starts a new entry. Dates are compatible when
one is a prefix of the other ("2017-07" and "2017-07-09"). Content similarity is the overlap
coefficient of content words, |A & B| / min(|A|, |B|), over lower-cased words without stopwords,
dates or hyphens, lightly stemmed and folded through a small synonym table ("truce" ->
"ceasefire"): the overlap coefficient rather than Jaccard because the sentences of different
outlets differ mostly in length, not in what they share. Thresholds (``MIN_OVERLAP``) rise as the
shared date gets coarser, since many unrelated things share a year but few share a day: same day
0.25 with one shared word (two sentences dated to the same day and sharing a content word are
nearly always the same event in one story), same month 0.34 with two, same year 0.5 with two.
Embeddings replace the word overlap in a later issue.

Year-less dates ("XXXX-07-09", from a document without a publication date) never start an entry:
they only join an entry already dated to that month and day by another source, so the timeline
never invents a year.

The entry's text is the clearest member sentence: from the most precise date, self-contained
(not opening with a pronoun or connective), then the shortest. Status: happened > scheduled >
expected (a later source that reports the event as done outranks an earlier announcement).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from storyline.annotate.events import vocab
from storyline.briefing import Citation, TimelineItem
from storyline.model import Document, Event
from storyline.read.furniture import is_furniture_sentence

WORD = re.compile(r"[^\W\d_][\w'\u2019-]*")
# (overlap coefficient, shared words) needed, by the precision of the coarser date.
MIN_OVERLAP: dict[int, tuple[float, int]] = {10: (0.25, 1), 7: (0.34, 2), 4: (0.5, 2)}
STATUS_RANK: dict[str, int] = {"happened": 0, "scheduled": 1, "expected": 2}


@dataclass
class EventItem:
    """One dated event of one source, with the content words it is compared by."""

    source: str
    order: int
    event: Event
    words: frozenset[str]


@dataclass
class _Cluster:
    date: str
    items: list[EventItem] = field(default_factory=list)


def build_timeline(documents: list[Document]) -> list[TimelineItem]:
    """The merged, dated timeline of annotated documents (duplicates and unannotated skipped)."""
    clusters: list[_Cluster] = []
    for item in sorted(event_items(documents), key=_precision_order):
        best = _best_cluster(clusters, item)
        if best is not None:
            best.items.append(item)
        elif not _yearless(item.event.date):
            clusters.append(_Cluster(item.event.date, [item]))
    entries = [_entry(cluster) for cluster in clusters]
    return sorted(entries, key=lambda e: (e.date, _citation_key(e.citations[0])))


def event_items(documents: list[Document]) -> list[EventItem]:
    """Every dated event of the annotated originals, in document order (captions and teasers
    left out); an event inside a forecast counts as expected."""
    items = []
    for order, document in enumerate(documents):
        if document.annotations is None or document.duplicate_of is not None:
            continue  # a duplicate repeats its original, which is cited already
        source = document.id or f"S{order + 1}"
        forecasts = [(f.start, f.end) for f in document.annotations.forecasts]
        for event in document.annotations.events:
            if is_furniture_sentence(event.text):
                continue  # a picture's caption dates the picture, not an event of the story
            if event.status != "expected" and _inside_forecast(event, forecasts):
                # "My guess is it will not be settled this year": a prediction, whatever tense
                # the date cue suggested; the forecasts ledger holds who made it.
                event = replace(event, status="expected")
            items.append(EventItem(source, order, event, content_words(event.text)))
    return items


def _inside_forecast(event: Event, forecasts: list[tuple[int, int]]) -> bool:
    return any(start < event.end and event.start < end for start, end in forecasts)


def _precision_order(item: EventItem) -> tuple[int, int, int, int]:
    return (-_precision(item.event.date), _yearless(item.event.date), item.order, item.event.start)


def _precision(date: str) -> int:
    """10 day, 7 month, 4 year; a year-less day ranks between month and day."""
    return 8 if _yearless(date) else len(date)


def _yearless(date: str) -> bool:
    return date.startswith("XXXX")


def content_words(text: str) -> frozenset[str]:
    """The words two tellings of one event are expected to share."""
    words = vocab()
    stop = set(words["stopwords"])
    synonyms: dict[str, str] = words["synonyms"]
    out = set()
    for match in WORD.finditer(text):
        word = match.group().lower().replace("\u2019", "'").replace("-", "")
        word = word.removesuffix("'s").strip("'")
        if len(word) < 3 or word in stop:
            continue
        word = synonyms.get(word, word)
        out.add(_stem(word))
    return frozenset(out)


def _stem(word: str) -> str:
    """Fold plain plurals ("strikes" / "strike") without a stemmer's surprises."""
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def compatible(entry_date: str, date: str) -> bool:
    """Same day/month/year at the precision both give; a year-less day needs the full day."""
    if _yearless(date):
        return len(entry_date) == 10 and entry_date[4:] == date[4:]
    return entry_date.startswith(date) or date.startswith(entry_date)


def similarity(a: frozenset[str], b: frozenset[str]) -> tuple[float, int]:
    """Overlap coefficient and the number of shared words."""
    if not a or not b:
        return 0.0, 0
    shared = len(a & b)
    return shared / min(len(a), len(b)), shared


def _best_cluster(clusters: list[_Cluster], item: EventItem) -> _Cluster | None:
    best, best_score = None, 0.0
    for cluster in clusters:
        if not compatible(cluster.date, item.event.date):
            continue
        needed, needed_shared = MIN_OVERLAP[_coarser(cluster.date, item.event.date)]
        for member in cluster.items:
            score, shared = similarity(member.words, item.words)
            if score >= needed and shared >= needed_shared and score > best_score:
                best, best_score = cluster, score
    return best


def _coarser(a: str, b: str) -> int:
    return min(len(a), len(b))  # year-less "XXXX-MM-DD" is day-length: compared day to day


def _entry(cluster: _Cluster) -> TimelineItem:
    items = cluster.items
    chosen = min(items, key=_clarity)
    status = min((i.event.status for i in items), key=lambda s: STATUS_RANK[s])
    citations = sorted({(i.source, i.event.start, i.event.end): i for i in items}.values(),
                       key=lambda i: (i.order, i.event.start))
    return TimelineItem(
        date=cluster.date,
        text=chosen.event.text,
        status=status,
        citations=[Citation(source=i.source, start=i.event.start, end=i.event.end) for i in citations],
    )


def _clarity(item: EventItem) -> tuple[int, bool, int, int, int]:
    text = item.event.text
    return (-_precision(item.event.date), not self_contained(text), len(text), item.order,
            item.event.start)


def self_contained(text: str) -> bool:
    """Readable alone: starts like a sentence, not with a pronoun or connective."""
    stripped = text.lstrip("\"'\u201c\u2018*( ")
    if not stripped or not (stripped[0].isupper() or stripped[0].isdigit()):
        return False
    first = WORD.match(stripped)
    return first is None or first.group().lower() not in vocab()["dependent_starts"]


def _citation_key(citation: Citation) -> tuple[int, str, int]:
    number = re.fullmatch(r"S(\d+)", citation.source)
    return (int(number.group(1)) if number else 1 << 30, citation.source, citation.start)
