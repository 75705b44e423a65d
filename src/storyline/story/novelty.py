"""What is new: what a story's sources after a cut say that its sources before it did not.

``new_since`` takes the story's documents split at a cut (``split_at``: a date, or the time of
the last briefing or visit) and returns the briefing's ``NewSince`` section, every item cited:

* **facts**: summary-worthy sentences of the later sources (``storyline.text.is_summary_worthy``,
  trimmed as the summary trims them) that no earlier sentence or headline states. Two sentences
  state the same fact by the summary's own test (a close embedding and shared content words),
  unless the later one gives a number the earlier one does not: "the toll rose to twelve" after
  "five died" is news. Ranked as the summary ranks (the lead prior plus agreement among the
  later sources); a fact several later sources state is one item citing each of them;
* **quotes** and **forecasts**: the briefing's items that only later sources carry, and whose
  words no earlier sentence already gives;
* **bearing**: earlier forecasts that a later sentence (not itself a forecast) speaks to, the
  forecast cited in the earlier source and the sentence in the later one.

Constants live in ``data/novelty.json`` (its ``_doc`` says how they were chosen). The result
depends only on the documents, the cut and the briefing's items: ties go to the earlier source
and the earlier sentence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from storyline.annotate.embeddings import SentenceVectors
from storyline.briefing import (
    Bearing,
    Citation,
    CitedText,
    ForecastItem,
    NewSince,
    QuoteItem,
)
from storyline.errors import UsageError
from storyline.model import Document
from storyline.resources import read_data
from storyline.story.summary import (
    Candidate,
    agreement,
    canonical_order,
    content_bag,
    load_config,
    overlap,
    worthy_spans,
)
from storyline.text import split_lines, stop_words

Basis = Literal["date", "last briefing", "last visit"]
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
Matrix = NDArray[np.float32]


@lru_cache(maxsize=1)
def load_novelty_config() -> dict[str, Any]:
    config: dict[str, Any] = read_data("novelty.json")
    return config


# --- the cut -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cut:
    """Where "new" starts: ``at`` (aware, UTC), shown as ``since``; ``basis`` says what is
    compared with it: a source's publication date (``date``; an undated source: when it was
    stored), or when the source was filed into the story (since the last briefing or visit)."""

    at: datetime
    since: str
    basis: Basis = "date"


def parse_cut(value: str, basis: Basis = "date") -> Cut:
    """A cut from ``YYYY-MM-DD`` (the start of that day, UTC) or an ISO 8601 time (UTC unless
    it names its offset). ``UsageError`` for anything else."""
    text = value.strip()
    when = instant(text)
    if when is None:
        raise UsageError(f"--since {value!r}: give a date (YYYY-MM-DD), a time (ISO 8601, "
                         "e.g. 2024-03-01T09:30) or 'last'")
    return Cut(when, text, basis)


def instant(value: str | None) -> datetime | None:
    """``value`` as an aware UTC time (a bare date: its start), or None when it is not one."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _published_span(value: str | None) -> tuple[datetime, datetime] | None:
    """The times a publication date covers: a full time is an instant; a day, month or year
    runs from its start to the next one's."""
    if not value:
        return None
    text = value.strip()
    if _DAY.match(text):
        start = instant(text)
        return (start, start + timedelta(days=1)) if start else None
    parts = text.split("-")
    if len(parts) in (1, 2) and all(p.isdigit() for p in parts) and len(parts[0]) == 4:
        year, month = int(parts[0]), int(parts[1]) if len(parts) == 2 else 0
        if month and not 1 <= month <= 12:
            return None
        first = datetime(year, month or 1, 1, tzinfo=timezone.utc)
        following = (datetime(year + month // 12, month % 12 + 1, 1, tzinfo=timezone.utc) if month
                     else datetime(year + 1, 1, 1, tzinfo=timezone.utc))
        return first, following
    when = instant(text)
    return (when, when) if when else None


def is_later(document: Document, cut: Cut, arrived: str | None) -> bool:
    """Is the document after the cut? With a date cut, by its publication date when the date
    settles it (a day that starts at or after the cut is after it; one that ends by the cut is
    before it), else by ``arrived`` (when it was stored). Otherwise by ``arrived`` (when it was
    filed into the story). A document whose time is unknown counts as new: better shown twice
    than missed."""
    if cut.basis == "date":
        span = _published_span(document.published)
        if span is not None and span[0] >= cut.at:
            return True
        if span is not None and span[1] <= cut.at and span[0] < cut.at:
            return False
    when = instant(arrived)
    return when is None or when > cut.at


def split_at(documents: Sequence[Document], cut: Cut, arrived: Mapping[str, str]
             ) -> tuple[list[Document], list[Document]]:
    """(earlier, later) documents, each in the order given; ``arrived``: per document id, when it
    was stored (date cut) or filed into the story (the other bases)."""
    earlier: list[Document] = []
    later: list[Document] = []
    for document in documents:
        (later if is_later(document, cut, arrived.get(document.id or "")) else earlier).append(document)
    return earlier, later


# --- same fact -----------------------------------------------------------------------------------

def _numbers(text: str) -> frozenset[str]:
    return frozenset(n.replace(",", "") for n in _NUMBER.findall(text))


def coverage(new: dict[str, int], old: dict[str, int]) -> float:
    """The share of ``new``'s content words that ``old`` has: how much of it was said there.
    (The summary's overlap divides by the smaller sentence, so a short headline would cover a
    long sentence that merely shares its two names.)"""
    return len(new.keys() & old.keys()) / len(new) if new else 0.0


class _Space:
    """TF-IDF over content-word bags (IDF from the bags it is made of); rows normalised, so a
    dot product is the cosine."""

    def __init__(self, bags: Sequence[dict[str, int]]) -> None:
        self.vocabulary: dict[str, int] = {}
        for bag in bags:
            for word in bag:
                self.vocabulary.setdefault(word, len(self.vocabulary))
        counts = np.zeros(max(1, len(self.vocabulary)), dtype=np.float32)
        for bag in bags:
            for word in bag:
                counts[self.vocabulary[word]] += 1
        self.idf = np.log((1 + len(bags)) / (1 + counts)) + 1

    def rows(self, bags: Sequence[dict[str, int]]) -> Matrix:
        matrix = np.zeros((len(bags), len(self.idf)), dtype=np.float32)
        for row, bag in enumerate(bags):
            for word, count in bag.items():
                column = self.vocabulary.get(word)
                if column is not None:
                    matrix[row, column] = count
        matrix *= self.idf
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return np.asarray(matrix / np.where(norms == 0, 1, norms), dtype=np.float32)


@dataclass
class _Sentence:
    """A sentence of a source: ``text == document.text[start:end]``."""

    source: str
    start: int
    end: int
    text: str
    bag: dict[str, int]
    forecast: bool = False  # it lies on a forecast: it says what may happen, not what did

    def citation(self) -> Citation:
        return Citation(source=self.source, start=self.start, end=self.end)


class _FactTest:
    """Whether two sentences state the same fact (``data/novelty.json`` ``same_fact``)."""

    def __init__(self, vectors: SentenceVectors, config: dict[str, Any]) -> None:
        self.vectors = vectors
        self.limits = config["same_fact"]

    def same(self, a: _Sentence, b: _Sentence, lexical: float) -> float | None:
        """The embedding cosine when ``a`` states what ``b`` states, else None. A number in ``a``
        that ``b`` lacks makes it news; a forecast ``b`` never states the fact ``a`` reports
        (the quay "is expected to reopen" does not say that it reopened)."""
        if lexical < self.limits["prefilter"] or _numbers(a.text) - _numbers(b.text):
            return None
        if b.forecast and not a.forecast:
            return None
        pair = self.vectors([a.text, b.text])
        cosine = float(pair[0] @ pair[1])
        if cosine >= self.limits["embedding_alone"] or (
                cosine >= self.limits["embedding"] and coverage(a.bag, b.bag) >= self.limits["lexical"]):
            return cosine
        return None

    def partners(self, row: Matrix, keep: int | None = None) -> list[int]:
        """The columns of a row of lexical cosines worth embedding: the best few over the prefilter."""
        order = np.argsort(-row, kind="stable")[: keep or self.limits["per_sentence"]]
        return [int(j) for j in order if row[j] >= self.limits["prefilter"]]


# --- the stage -----------------------------------------------------------------------------------

def new_since(earlier: Sequence[Document], later: Sequence[Document], cut: Cut, *,
              quotes: Sequence[QuoteItem] = (), forecasts: Sequence[ForecastItem] = (),
              vectors: SentenceVectors | None = None, config: dict[str, Any] | None = None
              ) -> NewSince:
    """The ``NewSince`` section of a story split at ``cut`` (see the module docstring).
    ``quotes`` and ``forecasts``: the briefing's items (speakers already canonical), citing
    sources among ``earlier`` and ``later``; ``vectors``: the briefing's sentence vectors."""
    settings = {**load_novelty_config(), **(config or {})}
    vectors = vectors if vectors is not None else SentenceVectors()
    test = _FactTest(vectors, settings)
    originals = canonical_order([d for d in later if not d.duplicate_of and d.text.strip()])
    later_ids = {d.id for d in later if d.id}
    shown = sorted(later_ids, key=_source_number)
    if not originals:
        return NewSince(since=cut.since, basis=cut.basis, sources=shown, note=_nothing(cut, later))
    stop = stop_words()
    known = _earlier_sentences(earlier, stop)
    candidates = _candidates(originals, stop, settings)
    space = _Space([s.bag for s in known] + [s.bag for _, s in candidates])
    past = space.rows([s.bag for s in known])
    limits = settings["limits"]
    forecast_items = _new_items(forecasts, later_ids, known, past, space, test, stop)[: limits["forecasts"]]
    quote_items = _new_items(quotes, later_ids, known, past, space, test, stop)
    # Each sentence is shown once: a new forecast or a direct quote in its own part, a reported
    # claim ("..., the company said") as a fact.
    apart = [c for item in [*forecast_items, *(q for q in quote_items if q.direct)]
             for c in item.citations]
    candidates = [(c, s) for c, s in candidates if not _on(s, apart)]
    facts = _facts(candidates, past, known, space, test, settings)[: limits["summary"]]
    stated = [Citation(source=c.source, start=c.start, end=c.end) for f in facts for c in f.citations]
    quote_items = [q for q in quote_items if q.direct or not _on(q.citations[0], stated)]
    quote_items = quote_items[: limits["quotes"]]
    bearing = _bearing(forecasts, later_ids, originals, stop, vectors, settings)[: limits["bearing"]]
    section = NewSince(since=cut.since, basis=cut.basis, sources=shown, summary=facts,
                       quotes=quote_items, forecasts=forecast_items, bearing=bearing)
    if section.empty:
        section.note = "The sources after the cut add nothing the earlier ones did not say."
    return section


def _on(span: _Sentence | Citation, citations: Sequence[Citation]) -> bool:
    """Does the span overlap one of the cited spans?"""
    return any(c.source == span.source and c.start < span.end and span.start < c.end
               for c in citations)


def _nothing(cut: Cut, later: Sequence[Document]) -> str:
    if later:
        return "The only sources after the cut are copies of earlier ones."
    if cut.basis == "date":
        return f"No source was published or stored after {cut.since}."
    return f"No source was added to the story since the {cut.basis} ({cut.since})."


def _source_number(source: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", source)
    return (int(digits) if digits else 10**9, source)


def _earlier_sentences(earlier: Sequence[Document], stop: frozenset[str]) -> list[_Sentence]:
    """Every sentence (split at line breaks) and headline of the earlier sources: what was said."""
    said: list[_Sentence] = []
    for document in earlier:
        if document.title:
            said.append(_Sentence(document.id or "", 0, 0, document.title,
                                  content_bag(document.title, stop)))
        ahead = _forecast_spans(document)
        for start, end in _sentence_spans(document):
            text = document.text[start:end]
            said.append(_Sentence(document.id or "", start, end, text, content_bag(text, stop),
                                  _overlaps(start, end, ahead)))
    return [s for s in said if s.bag]


def _forecast_spans(document: Document) -> list[tuple[int, int]]:
    return [(f.start, f.end) for f in document.annotations.forecasts] if document.annotations else []


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def _sentence_spans(document: Document) -> list[tuple[int, int]]:
    notes = document.annotations
    if notes is not None and notes.sentences:
        spans = [(s.start, s.end) for s in notes.sentences]
    else:
        spans = [(0, len(document.text))]  # unannotated: its lines stand in for sentences
    return [line for start, end in spans for line in split_lines(document.text, start, end)]


def _candidates(documents: list[Document], stop: frozenset[str], config: dict[str, Any]
                ) -> list[tuple[Candidate, _Sentence]]:
    """The first summary-worthy sentences of each later source, as the summary finds them."""
    rules = load_config()
    found: list[tuple[Candidate, _Sentence]] = []
    for index, document in enumerate(documents):
        spans = [span for span in worthy_spans(document, rules) if span is not None]
        ahead = _forecast_spans(document)
        for position, (start, end) in enumerate(spans[: config["candidates_per_source"]]):
            text = document.text[start:end]
            bag = content_bag(text, stop)
            if bag:
                candidate = Candidate(index, position, start, end, text, document.published or "")
                found.append((candidate, _Sentence(document.id or "", start, end, text, bag,
                                                   _overlaps(start, end, ahead))))
    return found


def _facts(candidates: list[tuple[Candidate, _Sentence]], past: Matrix, known: list[_Sentence],
           space: _Space, test: _FactTest, config: dict[str, Any]) -> list[CitedText]:
    """The later sentences no earlier one states, best first, each with its supporters."""
    if not candidates:
        return []
    rows = space.rows([s.bag for _, s in candidates])
    lexical = np.asarray(rows @ rows.T, dtype=np.float32)
    to_past = np.asarray(rows @ past.T, dtype=np.float32) if known else None
    salience = _salience([c for c, _ in candidates], lexical, config)
    order = sorted(range(len(candidates)), key=lambda i: (-salience[i], candidates[i][0].source,
                                                          candidates[i][0].position))
    head = order[: config["checked"]]
    # One embedding batch for the sentences the loop will most likely compare.
    test.vectors([candidates[i][1].text for i in head] + (
        [known[j].text for i in head for j in test.partners(to_past[i])] if to_past is not None else []))
    chosen: list[int] = []
    for i in head:
        if len(chosen) >= config["limits"]["summary"]:
            break
        sentence = candidates[i][1]
        if any(test.same(sentence, candidates[j][1], float(lexical[i, j])) is not None for j in chosen):
            continue  # a fact already picked from another later source
        if to_past is not None and any(test.same(sentence, known[j], float(to_past[i, j])) is not None
                                       for j in test.partners(to_past[i])):
            continue  # said before the cut
        chosen.append(i)
    return [CitedText(text=candidates[i][1].text,
                      citations=[s.citation() for s in _supporters(i, candidates, lexical, test)])
            for i in chosen]


def _salience(candidates: list[Candidate], lexical: Matrix, config: dict[str, Any]) -> list[float]:
    """The summary's salience: the lead prior plus agreement among the later sources."""
    agreed = agreement(lexical, candidates)
    weights = config["weights"]
    return [weights["position"] * math.exp(-c.position / config["position_tau"])
            + weights["agreement"] * float(agreed[i]) for i, c in enumerate(candidates)]


def _supporters(index: int, candidates: list[tuple[Candidate, _Sentence]], lexical: Matrix,
                test: _FactTest) -> list[_Sentence]:
    """The fact's own sentence, then per other later source its best sentence stating it."""
    own = candidates[index]
    best: dict[int, tuple[float, int]] = {}
    for j in test.partners(lexical[index], keep=len(candidates)):
        other = candidates[j]
        if other[0].source == own[0].source:
            continue
        cosine = test.same(own[1], other[1], float(lexical[index, j]))
        if cosine is not None and (other[0].source not in best or cosine > best[other[0].source][0]):
            best[other[0].source] = (cosine, j)
    return [own[1], *(candidates[j][1] for _, (_, j) in sorted(best.items()))]


Item = QuoteItem | ForecastItem


def _new_items(items: Sequence[Item], later_ids: set[str], known: list[_Sentence], past: Matrix,
               space: _Space, test: _FactTest, stop: frozenset[str]) -> list[Any]:
    """The items only later sources carry, whose words no earlier sentence gives; the most
    widely carried first, then direct quotes, then in source order."""
    fresh = [item for item in items
             if item.citations and all(c.source in later_ids for c in item.citations)]
    kept = []
    for item in fresh:
        first = item.citations[0]
        sentence = _Sentence(first.source, first.start, first.end, item.text,
                             content_bag(item.text, stop), isinstance(item, ForecastItem))
        row = (space.rows([sentence.bag]) @ past.T)[0] if known else None
        if row is not None and any(test.same(sentence, known[j], float(row[j])) is not None
                                   for j in test.partners(row)):
            continue
        kept.append(item)

    def rank(item: Item) -> tuple[int, bool, tuple[int, str], int]:
        first = item.citations[0]
        direct = isinstance(item, QuoteItem) and item.direct
        return (-len({c.source for c in item.citations}), not direct, _source_number(first.source),
                first.start)

    return sorted(kept, key=rank)


def _bearing(forecasts: Sequence[ForecastItem], later_ids: set[str], later: list[Document],
             stop: frozenset[str], vectors: SentenceVectors, config: dict[str, Any]) -> list[Bearing]:
    """Earlier forecasts with the later sentence closest to each, when close enough."""
    past = [(item, [c for c in item.citations if c.source not in later_ids]) for item in forecasts]
    past = [(item, cited) for item, cited in past if cited]
    sentences = _later_statements(later, stop)
    if not past or not sentences:
        return []
    limits = config["bearing"]
    bags = [content_bag(item.text, stop) for item, _ in past]
    space = _Space(bags + [s.bag for s in sentences])
    lexical = np.asarray(space.rows(bags) @ space.rows([s.bag for s in sentences]).T, dtype=np.float32)
    found: list[tuple[float, int, Bearing]] = []
    for k, (item, cited) in enumerate(past):
        order = np.argsort(-lexical[k], kind="stable")[: limits["per_forecast"]]
        near = [int(j) for j in order if lexical[k, j] >= limits["prefilter"]
                and overlap(bags[k], sentences[int(j)].bag) >= limits["lexical"]]
        if not near:
            continue
        rows = vectors([item.text, *(sentences[j].text for j in near)])
        cosines = rows[1:] @ rows[0]
        best = int(np.argmax(cosines))
        if float(cosines[best]) >= limits["embedding"]:
            later_sentence = sentences[near[best]]
            found.append((float(cosines[best]), k, Bearing(
                forecast=CitedText(text=item.text, citations=cited),
                later=CitedText(text=later_sentence.text, citations=[later_sentence.citation()]))))
    found.sort(key=lambda entry: (-round(entry[0], 6), entry[1]))
    return [bearing for _, _, bearing in found]


def _later_statements(documents: list[Document], stop: frozenset[str]) -> list[_Sentence]:
    """The later sources' summary-worthy sentences that are not forecasts themselves: a
    forecast repeated is not news of how it turned out."""
    rules = load_config()
    found: list[_Sentence] = []
    for document in documents:
        ahead = _forecast_spans(document)
        for span in worthy_spans(document, rules):
            if span is None or _overlaps(*span, ahead):
                continue
            text = document.text[span[0]:span[1]]
            bag = content_bag(text, stop)
            if bag:
                found.append(_Sentence(document.id or "", span[0], span[1], text, bag))
    return found
