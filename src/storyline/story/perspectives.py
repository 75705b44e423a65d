"""Perspectives: how each source and each country covers the story's issues, what the sources
agree on, where they contradict each other, and what only one country reports.

Everything here is computed from the issues of ``storyline.story.agenda`` and the annotated original
sources (duplicates are not independent voices and are left out). Constants live in
``data/agenda.json`` (section ``perspectives``).

* **Matrix.** For every issue and every original source: how many of its passages (sentence
  lines) are on the issue, and its *position*: the one or two of them that say most about how
  the source sees it, scored by assessment words ("dangerous", "unlikely", "should"), quotation,
  and the issue's keywords. A source that says nothing on an issue is listed with 0 sentences
  and no position, so the matrix is complete and a silence is visible.
* **Agreed.** Two whole sentences of different sources state the same fact when they share
  enough content words (TF-IDF cosine over the story's passages, and a minimum of shared words
  outside the story's everywhere-words), carry no different numbers or dates, and do not differ
  in negation; or when the summary (which checks paraphrases with embeddings) cites them for the
  same sentence. Each fact is one entry: its clearest statement, citing every source that states
  it, and only sources that also state its dates and numbers. Lexical evidence misses many
  paraphrases; the bar is set so that what is listed is right.
* **Conflicts.** Dated events (``annotations.events``) of different sources that describe the
  same thing (the words around the date overlap) but give incompatible dates of the same
  precision; numbers with the same unit in sentences that otherwise say the same thing. Sides
  are shown with all the sources that take them; a source that also states the other side's
  value is no contradiction. Each conflict is also listed under the issues its passages are on.
  Counts are intervals compared whether written in words or digits ("two boats" / "3 boats",
  "three to five", "at least three", "two of the four"), proportions are fractions compared
  with a tolerance ("a third" / "half" of the country), units are converted
  (``storyline.story.counts``); the counted things are aligned by meaning ("pieces" /
  "fragments"), and the two sentences must report one event (close in words, or near in words
  and close in sentence embeddings). A running total that a later source gives higher is no
  contradiction. Opposite outcomes for one entity (won / lost, approved / rejected:
  ``storyline.story.outcomes``) conflict too. Close sentences that give the same month
  different days are a date conflict even when no event annotation dates them. The rules are
  listed in ``docs/briefing-schema.md`` (Conflict).
* **Invariant.** A fact that any other source contradicts (one of its sentences is on a side
  of a conflict) is never listed as agreed, and no sentence is both agreed and disputed:
  enforced once, at the end (``_consistent``).
* **Countries and blindspots.** Sources grouped by ``country``; an issue covered only by sources
  of one country, when the story has sources from two or more countries, is a blindspot. A
  source of another country counts as silent only if the issue's news had happened by its time
  (published, else the latest past event it reports: ``storyline.story.source_times``).
"""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from itertools import repeat
from typing import Any

from storyline.annotate.embeddings import SentenceVectors
from storyline.briefing import (
    Blindspot,
    Citation,
    CitedText,
    Conflict,
    CountryGroup,
    IssueItem,
    IssueSourceView,
)
from storyline.countries import country_names_by_code
from storyline.model import Document, Event, Mention, Timex
from storyline.read.dates import today_utc
from storyline.story.agenda import Issue, Passage, key_of, passages_of, word_tokens
from storyline.story.agenda import config as agenda_config
from storyline.story.counts import (
    Counted,
    Measure,
    amounts,
    compatible,
    day_dates,
    differing,
    differing_counts,
    measures,
    numbers_in,
    states_either,
)
from storyline.story.outcomes import Outcome, outcomes, sequential
from storyline.story.source_times import SourceTime, first_day, latest_reported, source_times
from storyline.text import is_summary_worthy, stop_words

_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019]*")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(?:\s*(?:-|\u2013)?\s*)(per cent|percent|%|[A-Za-z]+(?:\s[A-Za-z]+)?)")
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|without|n't)\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    data: dict[str, Any] = agenda_config()["perspectives"]
    return data


@dataclass
class Perspectives:
    """What the issues-and-perspectives stage adds to a briefing."""

    issues: list[IssueItem] = field(default_factory=list)
    countries: list[CountryGroup] = field(default_factory=list)
    blindspots: list[Blindspot] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


@dataclass
class _Space:
    """TF-IDF vectors of every passage of the story, for "the same fact" comparisons."""

    vectors: dict[tuple[str, int], dict[str, float]]
    bags: dict[tuple[str, int], dict[str, int]]
    common: frozenset[str]  # words in so many passages that sharing them says nothing
    values: dict[tuple[str, int], set[str]] = field(default_factory=dict)  # dates and numbers
    dates: dict[tuple[str, int], set[str]] = field(default_factory=dict)  # dates alone
    passages: list[Passage] = field(default_factory=list)  # all of the story's, in source order


def perspectives(documents: Sequence[Document], issues: Sequence[Issue],
                 supported: Sequence[Sequence[Citation]] = (),
                 passages: list[Passage] | None = None,
                 vectors: SentenceVectors | None = None) -> Perspectives:
    """The matrix, agreement, conflicts, country groups and blindspots of a story's issues.
    ``documents`` are the original sources (no duplicates), annotated. ``supported``: groups of
    spans of different sources already known to state one fact (the summary's citations,
    checked with embeddings there), used as agreement beside the lexical test. ``passages``: the
    story's passages as the agenda read them (read again when not given). ``vectors``: the
    briefing's sentence vectors (a new ``SentenceVectors`` when not given)."""
    originals = [d for d in documents if not d.duplicate_of]
    ids = sorted((d.id or "" for d in originals), key=_id_order)
    space = _space(passages if passages is not None else passages_of(originals), originals)
    vectors = vectors if vectors is not None else SentenceVectors()
    judge = _Judge(vectors, {s: t.first_day if t else None for s, t in source_times(originals).items()})
    conflicts = date_conflicts(originals, space) + number_conflicts(originals, space, issues, judge)
    conflicts += day_conflicts(space, issues, conflicts)
    conflicts += outcome_conflicts(originals, space, issues, judge, conflicts)
    links = _links(supported, space)
    items = [_issue_item(issue, ids, space, conflicts, originals, links, vectors) for issue in issues]
    _consistent(items, conflicts)
    countries = country_groups(originals, items)
    return Perspectives(issues=items, countries=countries,
                        blindspots=blindspots(originals, issues), conflicts=[c for c, _ in conflicts])


def _id_order(source: str) -> tuple[int, str]:
    digits = source[1:]
    return (int(digits), source) if digits.isdigit() else (1 << 30, source)


# --- lexical space -------------------------------------------------------------------------------

def _bag(text: str) -> dict[str, int]:
    """Content-word keys of a text (the agenda's keys: stemmed, synonyms folded)."""
    stop = stop_words()
    return dict(Counter(key_of(w) for w in word_tokens(text) if w.lower() not in stop))


def _space(passages: list[Passage], documents: Sequence[Document]) -> _Space:
    # The agenda already read each passage's content-word keys; reuse them when it did.
    bags = {(p.source, p.start): dict(Counter(p.keys)) if p.keys else _bag(p.text) for p in passages}
    frequency: Counter[str] = Counter(word for bag in bags.values() for word in bag)
    total = max(1, len(bags))
    idf = {word: math.log((1 + total) / (1 + count)) + 1 for word, count in frequency.items()}
    vectors = {}
    for key, bag in bags.items():
        weights = {word: count * idf[word] for word, count in bag.items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        vectors[key] = {word: v / norm for word, v in weights.items()}
    share = config()["agreed"]["common_share"]
    common = frozenset(w for w, c in frequency.items() if c >= share * total)
    return _Space(vectors=vectors, bags=bags, common=common, values=_values(passages, documents),
                  dates=_dates(passages, documents),
                  passages=sorted(passages, key=lambda p: (_id_order(p.source), p.order)))


def _values(passages: list[Passage], documents: Sequence[Document]) -> dict[tuple[str, int], set[str]]:
    """Per passage: the dates (from its timexes) and numbers it states."""
    dates = _dates(passages, documents)
    return {_key(p): dates[_key(p)] | _numbers(p.text) for p in passages}


def _dates(passages: list[Passage], documents: Sequence[Document]) -> dict[tuple[str, int], set[str]]:
    """Per passage: the calendar dates its timexes give ("2014", "2016-08", "2025-03-01")."""
    timexes = {d.id: d.annotations.timexes for d in documents if d.annotations}
    return {_key(p): {t.value for t in timexes.get(p.source, [])
                      if p.start <= t.start < p.end and t.type == "DATE" and t.value[:1].isdigit()}
            for p in passages}


def _key(passage: Passage) -> tuple[str, int]:
    return (passage.source, passage.start)


def _cosine(space: _Space, a: Passage, b: Passage) -> float:
    va, vb = space.vectors.get(_key(a), {}), space.vectors.get(_key(b), {})
    if len(va) > len(vb):
        va, vb = vb, va
    # The products summed in the same order as a generator over ``va`` would: the same float.
    total: float = sum(map(operator.mul, va.values(), map(vb.get, va, repeat(0.0))))
    return total


def _shared(space: _Space, a: Passage, b: Passage) -> set[str]:
    """Content words both passages use, leaving out the story's everywhere-words."""
    bag_a, bag_b = space.bags.get(_key(a), {}), space.bags.get(_key(b), {})
    return {w for w in bag_a.keys() & bag_b.keys() if w not in space.common}


def _statement(passage: Passage) -> bool:
    """A whole sentence (not a heading or a caption): long enough, ending like a sentence."""
    words = len(passage.text.split())
    return words >= config()["agreed"]["min_words"] and passage.text.rstrip("\"'\u201d\u2019) ")[-1:] in ".!"


def _numbers(text: str) -> set[str]:
    return {m.group(1).replace(",", "") for m in _NUMBER.finditer(text)}


def same_fact(space: _Space, a: Passage, b: Passage) -> float:
    """How surely two passages of different sources state the same fact (0: they do not).
    Lexical evidence only, so the bar is high: most paraphrases are missed (the summary's
    embedding-checked citations add those), few different facts get through."""
    limits = config()["agreed"]
    if a.source == b.source or not (_statement(a) and _statement(b)):
        return 0.0
    cosine = _cosine(space, a, b)
    if cosine < limits["cosine"] or len(_shared(space, a, b)) < limits["min_shared"]:
        return 0.0
    values_a, values_b = space.values.get(_key(a), set()), space.values.get(_key(b), set())
    if values_a and values_b and not values_a & values_b:
        return 0.0  # the same words around different numbers or dates: not one fact
    if bool(_NEGATION.search(a.text)) != bool(_NEGATION.search(b.text)):
        return 0.0
    if _contradict(a, b):
        return 0.0  # "two boats" / "three boats", "March 21" / "March 22": not one fact
    return cosine


def _contradict(a: Passage, b: Passage) -> bool:
    """Different counts of the same thing, or different days of the same month."""
    return bool(differing_counts(amounts(a.text), amounts(b.text))
                or differing(day_dates(a.text), day_dates(b.text)))


# --- the matrix ----------------------------------------------------------------------------------

def _cited(passage: Passage, *others: Passage) -> CitedText:
    return CitedText(text=passage.text, citations=[_citation(p) for p in (passage, *others)])


def _citation(passage: Passage) -> Citation:
    return Citation(source=passage.source, start=passage.start, end=passage.end)


@lru_cache(maxsize=1)
def _evaluative() -> frozenset[str]:
    return frozenset(w.lower() for w in config()["position"]["assessment_words"])


def _quoted(passage: Passage, document: Document | None) -> bool:
    notes = document.annotations if document else None
    if notes is None:
        return False
    return any(q.start < passage.end and q.end > passage.start for q in notes.quotes)


def position_score(passage: Passage, issue: Issue, document: Document | None) -> float:
    """How much a passage says about how its source sees the issue."""
    weights = config()["position"]
    words = [w.lower() for w in _WORD.findall(passage.text)]
    assessing = sum(1 for w in words if w in _evaluative())
    keywords = {k.lower() for k in issue.keywords}
    lowered = passage.text.lower()
    hits = sum(1 for k in keywords if k in lowered)
    score: float = weights["assessment"] * min(assessing, weights["max_assessment"]) + weights["keyword"] * hits
    if _quoted(passage, document):
        score += weights["quote"]
    if is_summary_worthy(passage.text):
        score += weights["worthy"]
    return score


def _position(passages: list[Passage], issue: Issue, document: Document | None) -> list[CitedText]:
    limits = config()["position"]
    ranked = sorted(passages, key=lambda p: (-position_score(p, issue, document), p.order))
    count = 2 if len(passages) >= limits["second_from"] else 1
    chosen = sorted(ranked[:count], key=lambda p: p.order)
    return [_cited(p) for p in chosen]


def _issue_item(issue: Issue, ids: list[str], space: _Space,
                conflicts: list[tuple[Conflict, list[Passage]]], documents: list[Document],
                links: set[frozenset[tuple[str, int]]], vectors: SentenceVectors) -> IssueItem:
    by_document = {d.id: d for d in documents}
    by_source = issue.by_source()
    matrix = {
        source: IssueSourceView(
            sentences=len(by_source.get(source, [])),
            position=_position(by_source[source], issue, by_document.get(source)) if by_source.get(source) else [],
        )
        for source in ids
    }
    groups = agreement_groups(issue.passages, space, links)[: config()["agreed"]["per_issue"]]
    groups = [_widened(group, space, vectors) for group in groups]
    disputed = [side for conflict, passages in conflicts
                if _mostly_in(passages, issue) for side in conflict.sides]
    return IssueItem(
        label=issue.label, keywords=list(issue.keywords),
        summary=_summary(issue, groups, space),
        by_source=matrix,
        agreed=[_cited(group[0], *group[1:]) for group in groups],
        disputed=disputed,
    )


def _mostly_in(passages: list[Passage], issue: Issue) -> bool:
    """At least half of a conflict's passages lie in the issue's passages."""
    spans = [(p.source, p.start, p.end) for p in issue.passages]
    inside = sum(1 for c in passages if any(s == c.source and a <= c.start < b or s == c.source
                                             and c.start <= a < c.end for s, a, b in spans))
    return inside * 2 >= len(passages)


# --- agreement -----------------------------------------------------------------------------------

def _links(supported: Sequence[Sequence[Citation]], space: _Space) -> set[frozenset[tuple[str, int]]]:
    """Pairs of passages (by key) that known-same-fact citation groups connect."""
    starts: dict[str, list[int]] = {}
    for key in space.bags:
        starts.setdefault(key[0], []).append(key[1])
    out: set[frozenset[tuple[str, int]]] = set()
    for group in supported:
        keys = [k for k in (_passage_at(c, starts) for c in group) if k is not None]
        out.update(frozenset((a, b)) for i, a in enumerate(keys) for b in keys[i + 1:] if a[0] != b[0])
    return out


def _passage_at(citation: Citation, starts: dict[str, list[int]]) -> tuple[str, int] | None:
    """The passage a citation points into (the last passage starting at or before it)."""
    before = [s for s in starts.get(citation.source, []) if s <= citation.start]
    return (citation.source, max(before)) if before else None


def agreement_groups(passages: Sequence[Passage], space: _Space,
                     links: Collection[frozenset[tuple[str, int]]] = frozenset()) -> list[list[Passage]]:
    """Facts stated by two or more sources: each group is its clearest statement first, then
    the best-matching passage of every other source that states it. Best supported first."""
    partners: dict[tuple[str, int], dict[str, tuple[float, Passage]]] = {}
    items = sorted(passages, key=lambda p: (p.source, p.order))
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            score = same_fact(space, a, b)
            if frozenset((_key(a), _key(b))) in links:
                score = max(score, 1.0)
            if score <= 0:
                continue
            for x, y in ((a, b), (b, a)):
                best = partners.setdefault(_key(x), {})
                if y.source not in best or score > best[y.source][0]:
                    best[y.source] = (score, y)
    by_key = {_key(p): p for p in items}
    used: set[tuple[str, int]] = set()
    groups = []
    anchors = sorted(partners, key=lambda k: (-len(partners[k]), -_clarity(by_key[k]), k))
    for anchor in anchors:
        if anchor in used:
            continue
        # A partner must state the anchor's dates and numbers too: the entry's text is the
        # anchor's, and a source silent on its date must not be cited as agreeing with it.
        stated = space.values.get(anchor, set())
        others = [p for _, p in sorted(partners[anchor].values(), key=lambda sp: (-sp[0], _key(sp[1])))
                  if _key(p) not in used and stated <= space.values.get(_key(p), set())]
        if not others:
            continue
        group = [by_key[anchor], *sorted(others, key=lambda p: _id_order(p.source))]
        used.update(_key(p) for p in group)
        groups.append(group)
    return sorted(groups, key=lambda g: (-len(g), _id_order(g[0].source), g[0].order))


def _widened(group: list[Passage], space: _Space, vectors: SentenceVectors) -> list[Passage]:
    """An agreed fact, plus each further source that states it in other words: a passage that
    shares at least ``widen.min_shared`` rarer content words with the fact's statement (TF-IDF
    cosine at least ``widen.cosine``), states its dates and numbers, and whose sentence
    embedding is at least ``widen.embedding`` close to it. Two weaker signals together: the
    lexical bar alone misses paraphrases ("on the sidelines of the G20 summit in Hamburg" /
    "Hamburg ... the Group of 20 ... on the sidelines"), embeddings alone are not sure enough."""
    limits = config()["widen"]
    anchor, present = group[0], {p.source for p in group}
    stated = space.values.get(_key(anchor), set())
    best: dict[str, tuple[float, Passage]] = {}
    for passage in space.passages:
        if passage.source in present or not _statement(passage):
            continue
        cosine = _cosine(space, anchor, passage)
        if (cosine < limits["cosine"] or len(_shared(space, anchor, passage)) < limits["min_shared"]
                or not stated <= space.values.get(_key(passage), set())
                or bool(_NEGATION.search(anchor.text)) != bool(_NEGATION.search(passage.text))):
            continue
        if passage.source not in best or cosine > best[passage.source][0]:
            best[passage.source] = (cosine, passage)
    if not best:
        return group
    candidates = [p for _, p in best.values()]
    rows = vectors([anchor.text, *(p.text for p in candidates)])
    close = [p for p, v in zip(candidates, rows[1:]) if float(v @ rows[0]) >= limits["embedding"]]
    return [anchor, *sorted([*group[1:], *close], key=lambda p: _id_order(p.source))]


def _clarity(passage: Passage) -> float:
    """A self-contained, summary-worthy, not too long sentence states a fact best."""
    worthy = is_summary_worthy(passage.text)
    return (1.0 if worthy else 0.0) - len(passage.text.split()) / 200


def _summary(issue: Issue, groups: list[list[Passage]], space: _Space) -> list[CitedText]:
    """Two or three cited sentences: facts several sources state first, then each source's most
    characteristic passage on the issue, never two that say the same thing."""
    wanted = config()["summary"]["sentences"]
    limit = config()["summary"]["redundancy"]
    chosen: list[list[Passage]] = []
    for group in groups:
        if len(chosen) < wanted and is_summary_worthy(group[0].text):
            chosen.append(group)
    keywords = {k.lower() for k in issue.keywords}
    singles = sorted(issue.passages, key=lambda p: (-_keyword_hits(p, keywords), -_clarity(p),
                                                   _id_order(p.source), p.order))
    for passage in singles:
        if len(chosen) >= wanted:
            break
        if not is_summary_worthy(passage.text):
            continue
        if any(_cosine(space, passage, g[0]) > limit or passage.source == g[0].source and len(g) == 1
               for g in chosen):
            continue
        chosen.append([passage])
    return [_cited(g[0], *g[1:]) for g in chosen]


def _keyword_hits(passage: Passage, keywords: set[str]) -> int:
    lowered = passage.text.lower()
    return sum(1 for k in keywords if k in lowered)


# --- conflicts -----------------------------------------------------------------------------------

@dataclass
class _Dated:
    source: str
    event: Event
    date: str
    window: set[str]
    topic: str
    last: str = ""  # the content word just before the date: what happens then ("launch")


def date_conflicts(documents: Sequence[Document], space: _Space) -> list[tuple[Conflict, list[Passage]]]:
    """The same event given incompatible dates by different sources, side by side."""
    dated = [item for d in documents for item in _dated_events(d)]
    limits = config()["conflicts"]
    out: list[tuple[Conflict, list[Passage]]] = []
    seen: set[tuple[str, int]] = set()
    for item in sorted(dated, key=lambda x: (_id_order(x.source), x.event.start)):
        if (item.source, item.event.start) in seen:
            continue
        same = [o for o in dated if o.source != item.source and _same_event(item, o, limits)]
        clashing = [o for o in same if _clash(item.date, o.date)]
        if not clashing:
            continue
        agreeing = [o for o in same if not _clash(item.date, o.date) and o.date == item.date]
        minority_sources = {item.source} | {o.source for o in agreeing}
        if any(o.source in minority_sources for o in clashing):
            continue  # a source that gives both dates is not contradicted
        sides: dict[str, list[_Dated]] = {item.date: [item, *agreeing]}
        for other in clashing:
            sides.setdefault(other.date, []).append(other)
        group = [x for side in sides.values() for x in side]
        seen.update((x.source, x.event.start) for x in group)
        odd_one = min(sides.values(), key=lambda members: (len({x.source for x in members}), members[0].date))
        conflict = Conflict(
            topic=f"When: {odd_one[0].topic}", kind="date",
            sides=[_side(date, members) for date, members in sorted(sides.items(), key=_side_order)],
        )
        out.append((conflict, [_event_passage(x) for x in group]))
    return out


def _side_order(entry: tuple[str, list[_Dated]]) -> tuple[int, str]:
    return (-len({x.source for x in entry[1]}), entry[0])


def _side(date: str, members: list[_Dated]) -> CitedText:
    first = sorted(members, key=lambda x: (_id_order(x.source), x.event.start))
    by_source: dict[str, _Dated] = {}
    for member in first:
        by_source.setdefault(member.source, member)
    # The side's text is its first source's sentence as written (the date is in it); the
    # conflict's topic says what is disputed.
    return CitedText(text=first[0].event.text, citations=[
        Citation(source=m.source, start=m.event.start, end=m.event.end) for m in by_source.values()])


def _event_passage(item: _Dated) -> Passage:
    return Passage(item.source, -1, item.event.start, item.event.end, item.event.text)


def _dated_events(document: Document) -> list[_Dated]:
    notes = document.annotations
    if notes is None:
        return []
    out = []
    for event in notes.events:
        timex = _timex_of(event, notes.timexes)
        if timex is None or "X" in event.date:
            continue
        window, topic, last = _window(document.text, event, timex)
        if window:
            out.append(_Dated(document.id or "", event, event.date, window, topic, last))
    return out


def _timex_of(event: Event, timexes: list[Timex]) -> Timex | None:
    """The date expression inside the event's sentence that gives its date."""
    for timex in timexes:
        if event.start <= timex.start < event.end and _compatible(timex.value[:len(event.date)], event.date):
            return timex
    return None


def _window(text: str, event: Event, timex: Timex) -> tuple[set[str], str, str]:
    """The last content words before the date in its sentence (what happens on that date),
    the clause they are in, as the conflict's topic, and the last of them."""
    limits = config()["conflicts"]
    stop = stop_words() | frozenset(limits["date_words"])
    before = text[event.start:timex.start]
    content = [w.lower() for w in word_tokens(before) if w.lower() not in stop]
    window = {key_of(w) for w in content[-limits["window_words"]:]}
    clause = before
    if len(clause.split()) > limits["max_topic_words"]:
        clause = re.split(r"[,;:—(]", before)[-1]
    topic = re.sub(r"\s+(?:on|in|at|by|from|since|until|for|before|after)\s*$", "", clause.strip())
    topic = topic.strip(" ,;:—(")
    if not 2 <= len(topic.split()) <= limits["max_topic_words"]:
        topic = " ".join(content[-limits["window_words"]:])
    return window, topic, key_of(content[-1]) if content else ""


def _same_event(a: _Dated, b: _Dated, limits: dict[str, Any]) -> bool:
    """The words before the two dates say the same thing: enough shared words, enough of them
    telling words (not "first", "due"), and the word just before either date among them."""
    shared = a.window & b.window
    strong = shared - set(limits["weak_words"])
    smaller = min(len(a.window), len(b.window))
    same: bool = len(strong) >= limits["min_shared"] and len(shared) / max(1, smaller) >= limits["overlap"]
    # "scheduled to launch in July" and "scheduled to end in June" share their words but not
    # what happens on the date: the word just before one date must be in the other window.
    return same and (a.last in b.window or b.last in a.window)


def _compatible(a: str, b: str) -> bool:
    """Dates that can both be true: one is a prefix of the other ("2025-06", "2025-06-01")."""
    n = min(len(a), len(b))
    return all(x == y or "X" in (x, y) for x, y in zip(a[:n], b[:n]))


def _clash(a: str, b: str) -> bool:
    """Two dates of the same precision that cannot both be true."""
    return len(a) == len(b) and not _compatible(a, b)


@dataclass
class _Judge:
    """What deciding whether two passages contradict each other needs beyond their words: the
    sentence vectors (same event, same counted thing by meaning) and each source's time (a
    running total may grow between two reports)."""

    vectors: SentenceVectors | None
    times: dict[str, str | None]


def number_conflicts(documents: Sequence[Document], space: _Space, issues: Sequence[Issue],
                     judge: _Judge | None = None) -> list[tuple[Conflict, list[Passage]]]:
    """Different numbers with the same unit, or counts and proportions of the same thing that
    cannot both be true, in passages of different sources about the same event. A passage
    that counts more than ``counts.max_things`` things is a line of statistics ("25 points,
    16 rebounds and 4 assists"), whose figures' scope (a game, a season) is rarely said: it is
    left out."""
    judge = judge if judge is not None else _Judge(None, {})
    items = [p for p in _story_passages(space, issues) if _states_numbers(p)]
    stated = {_key(p): (measures(p.text), amounts(p.text)) for p in items}
    most = config()["conflicts"]["counts"]["max_things"]
    items = [p for p in items if any(stated[_key(p)]) and len(stated[_key(p)][1]) <= most]
    actors = _actors(items, documents)
    pairs = [(a, b) for i, a in enumerate(items) for b in items[i + 1:]
             if b.source != a.source and _near(space, a, b) and not _other_times(space, a, b)
             and not _other_actors(actors[_key(a)], actors[_key(b)])]
    _embed_at_once(pairs, stated, space, judge)
    out: list[tuple[Conflict, list[Passage]]] = []
    for a, b in pairs:
        (quantities_a, counted_a), (quantities_b, counted_b) = stated[_key(a)], stated[_key(b)]
        report = _same_report(space, a, b, judge)
        found = _unit_conflicts(a, b, quantities_a, quantities_b, judge) if report else []
        if not found:
            found = _count_conflict(a, b, counted_a, counted_b, judge, report)
        out.extend(_new(found, out))
    return out


def _actors(passages: list[Passage], documents: Sequence[Document]) -> dict[tuple[str, int], set[str]]:
    """Per passage: the words of the people and organisations it names (``counts.actor_types``)."""
    kinds = set(config()["conflicts"]["counts"]["actor_types"])
    mentions = {d.id or "": d.annotations.mentions for d in documents if d.annotations}
    stop = stop_words()
    return {_key(p): {w.lower() for m in mentions.get(p.source, []) if m.label in kinds
                      and p.start <= m.start and m.end <= p.end for w in _WORD.findall(m.name)
                      if w.lower() not in stop}
            for p in passages}


def _other_actors(a: set[str], b: set[str]) -> bool:
    """Both passages name people or organisations and none in common ("Clark finished with
    16 rebounds" / "Hansbrough finished with nine"): their numbers are about different actors."""
    return bool(a) and bool(b) and not a & b


def _states_numbers(passage: Passage) -> bool:
    """A cheap first look: a digit, or a word that can start a count or a proportion."""
    if any(map(str.isdigit, passage.text)):
        return True
    return not _count_words().isdisjoint(map(str.lower, _WORD.findall(passage.text)))


@lru_cache(maxsize=1)
def _count_words() -> frozenset[str]:
    limits = config()["conflicts"]["counts"]
    return frozenset([*limits["numbers"], *limits["fractions"], *limits["of_proportions"],
                      *limits["whole_words"], *(w.split("-")[0] for w in limits["numbers"])])


def _embed_at_once(pairs: list[tuple[Passage, Passage]],
                   stated: dict[tuple[str, int], tuple[dict[str, list[Measure]], dict[str, Counted]]],
                   space: _Space, judge: _Judge) -> None:
    """Embed in one batch the sentences and counted words the pairs may need, so that the
    tests pair by pair find them in the briefing's cache (one model call, not one a pair)."""
    if judge.vectors is None:
        return
    low = config()["conflicts"]["number_cosine"]
    texts = {p.text for a, b in pairs if _cosine(space, a, b) < low for p in (a, b)}
    words = {c.word for a, b in pairs for p in (a, b) for c in stated[_key(p)][1].values()}
    if texts or words:
        judge.vectors(sorted(texts | words))


def _new(found: list[tuple[Conflict, list[Passage]]],
         known: list[tuple[Conflict, list[Passage]]]) -> list[tuple[Conflict, list[Passage]]]:
    """The conflicts not already known between the same sources on the same topic (a source
    that states its count twice is one side of one conflict)."""
    def signature(conflict: Conflict) -> tuple[str, frozenset[str]]:
        return conflict.topic, frozenset(c.source for side in conflict.sides for c in side.citations)
    seen = {signature(c) for c, _ in known}
    return [(c, ps) for c, ps in found if signature(c) not in seen]


def _other_times(space: _Space, a: Passage, b: Passage) -> bool:
    """Both passages date what they count, and no date of one fits one of the other ("in
    2014, 121 cases" / "as of August 2016, 50 cases"): counts of different times."""
    dates_a, dates_b = space.dates.get(_key(a), set()), space.dates.get(_key(b), set())
    return bool(dates_a and dates_b) and not any(_compatible(x, y) for x in dates_a for y in dates_b)


def _story_passages(space: _Space, issues: Sequence[Issue]) -> list[Passage]:
    """Every passage of the story, in source order (those of the issues when the space holds
    none): a contradiction matters whether or not the agenda found an issue around it."""
    passages = space.passages or [p for issue in issues for p in issue.passages]
    unique = {_key(p): p for p in passages}
    return sorted(unique.values(), key=lambda p: (_id_order(p.source), p.order))


def _near(space: _Space, a: Passage, b: Passage) -> bool:
    """Close enough in words to be two reports of one event at all: TF-IDF cosine at least
    ``event_cosine`` and ``event_min_shared`` event words in common."""
    limits = config()["conflicts"]
    close: bool = _cosine(space, a, b) >= limits["event_cosine"]
    return close and len(_event_words(space, a, b)) >= limits["event_min_shared"]


def _same_report(space: _Space, a: Passage, b: Passage, judge: _Judge) -> bool:
    """Two passages tell the same event: close in words (TF-IDF cosine at least
    ``number_cosine``), or somewhat close in words, sharing ``event_min_shared`` event words
    (names, verbs, places) and close in meaning (sentence embeddings at least
    ``event_embedding``): other words for the counted thing ("pieces", "fragments") lower
    the lexical cosine of two reports of one event."""
    limits = config()["conflicts"]
    cosine = _cosine(space, a, b)
    if cosine >= limits["number_cosine"]:
        return True
    if judge.vectors is None or not _near(space, a, b):
        return False
    rows = judge.vectors([a.text, b.text])
    return float(rows[0] @ rows[1]) >= float(limits["event_embedding"])


def _unit_conflicts(a: Passage, b: Passage, measures_a: dict[str, list[Measure]],
                    measures_b: dict[str, list[Measure]], judge: _Judge) -> list[tuple[Conflict, list[Passage]]]:
    """Numbers of one dimension (units converted: "7 years, 1 month" is "85 months") that no
    pair of the two passages' values gets within ``unit_tolerance`` of each other."""
    tolerance = float(config()["conflicts"]["unit_tolerance"])
    out = []
    for unit in sorted(measures_a.keys() & measures_b.keys()):
        if any(_close(x.value, y.value, tolerance) for x in measures_a[unit] for y in measures_b[unit]):
            continue
        values_a = {x.value for x in measures_a[unit]}
        values_b = {y.value for y in measures_b[unit]}
        if _grows(a, b, unit, values_a, values_b, judge):
            continue
        topic = (f"{unit}: {', '.join(sorted({x.written for x in measures_a[unit]}))} or "
                 f"{', '.join(sorted({y.written for y in measures_b[unit]}))}")
        out.append((Conflict(topic=topic, kind="number", sides=[_cited(a), _cited(b)]), [a, b]))
    return out


def _close(x: float, y: float, tolerance: float) -> bool:
    return abs(x - y) <= tolerance * max(abs(x), abs(y))


def _count_conflict(a: Passage, b: Passage, counted_a: dict[str, Counted], counted_b: dict[str, Counted],
                    judge: _Judge, report: bool) -> list[tuple[Conflict, list[Passage]]]:
    """Counts or proportions of the same thing (the same word, or words of one meaning:
    ``_same_thing``; not of different wholes, "flybys of Venus" / "flybys of the sun") that
    cannot both be true, reported once per pair of passages. Passages that are not the same
    report as wholes (``report``) are compared only on counts that follow the same word
    ("had found two objects" / "have found four parts"): what happened to the things counted."""
    for key_a, key_b in _aligned(counted_a, counted_b, judge):
        first, second = counted_a[key_a], counted_b[key_b]
        if compatible(first.amounts, second.amounts) or _other_wholes(key_a, first, second):
            continue
        if states_either(first.amounts, numbers_in(b.text)) or states_either(second.amounts, numbers_in(a.text)):
            continue  # "he said 306 votes, when in fact he won 304": the other's count is there too
        if not report and not first.leads & second.leads:
            continue
        highs_a = {x.high for x in first.amounts if not x.share}
        highs_b = {x.high for x in second.amounts if not x.share}
        if _grows(a, b, key_a, highs_a, highs_b, judge) or _grows(a, b, key_b, highs_a, highs_b, judge):
            continue
        thing = first.word if key_a == key_b else f"{first.word} / {second.word}"
        topic = (f"{thing}: {', '.join(sorted(map(str, first.amounts)))} or "
                 f"{', '.join(sorted(map(str, second.amounts)))}")
        return [(Conflict(topic=topic, kind="number", sides=[_cited(a), _cited(b)]), [a, b])]
    return []


def _aligned(counted_a: dict[str, Counted], counted_b: dict[str, Counted], judge: _Judge) -> list[tuple[str, str]]:
    """Pairs of counted things, one from each passage, that are the same thing: the same key
    first, then other words of one meaning."""
    units = _unit_keys()
    same = [(k, k) for k in sorted(counted_a.keys() & counted_b.keys()) if k not in units]
    others = [(x, y) for x in sorted(counted_a) for y in sorted(counted_b)
              if x != y and _same_thing(x, counted_a[x].word, y, counted_b[y].word, judge)]
    return same + others


@lru_cache(maxsize=1)
def _unit_keys() -> frozenset[str]:
    """Units of measure and time: a count of them is a quantity ("three years"), compared
    only as a number with its unit (``_quantities``), never as a count of things."""
    limits = config()["conflicts"]
    return frozenset(key_of(w) for w in [*limits["counts"]["unit_heads"], *limits["date_words"]])


def _other_wholes(key: str, first: Counted, second: Counted) -> bool:
    """Counts of different kinds of one thing: both say which ("two robbery charges", "three
    charges of contempt"; "flybys of Venus", "flybys of the sun") and not alike. Generic
    words ("pieces of wreckage", "fragments of the aircraft") take their meaning from what
    they are parts of, so theirs are not held apart."""
    generic = {key_of(w) for w in config()["conflicts"]["counts"]["generic_heads"]}
    return (key not in generic and bool(first.qualifiers) and bool(second.qualifiers)
            and not first.qualifiers & second.qualifiers)


def _same_thing(key_a: str, word_a: str, key_b: str, word_b: str, judge: _Judge) -> bool:
    """Two words count the same thing: by rule (``head_rule``), else when their embeddings are
    at least ``counts.head_embedding`` close (chosen on hand-labelled pairs for precision:
    ``benchmarks/count_heads.py``)."""
    ruled = head_rule(key_a, key_b)
    if ruled is not None or judge.vectors is None:
        return bool(ruled)
    rows = judge.vectors([word_a, word_b])
    return float(rows[0] @ rows[1]) >= float(config()["conflicts"]["counts"]["head_embedding"])


def head_rule(key_a: str, key_b: str) -> bool | None:
    """Counted words that are one thing or not by rule: the same key, or both generic words
    for parts of something ("pieces", "fragments", "objects", "debris":
    ``counts.generic_heads``), are; a unit of measure or time is only itself. None: the
    rule does not say."""
    if key_a == key_b:
        return True
    generic = {key_of(w) for w in config()["conflicts"]["counts"]["generic_heads"]}
    if key_a in generic and key_b in generic:
        return True
    if key_a in _unit_keys() or key_b in _unit_keys():
        return False
    return None


def _grows(a: Passage, b: Passage, thing: str, values_a: set[float], values_b: set[float],
           judge: _Judge) -> bool:
    """A running total, not a contradiction: a count of what adds up over time (the dead, the
    cases, the arrests: ``counts.cumulative_heads``, as the thing counted or a word of either
    sentence, "killed 12 people"), or any count said to have risen ("rose
    to", "so far": ``counts.cumulative_cues``), that the later source gives higher. When the
    sources cannot be ordered in time, a count said to be rising is never held against another."""
    limits = config()["conflicts"]["counts"]
    cued = any(c in p.text.lower() for p in (a, b) for c in limits["cumulative_cues"])
    heads = {key_of(w) for w in limits["cumulative_heads"]}
    cumulative = key_of(thing.split()[-1]) in heads or any(
        key_of(w) in heads for p in (a, b) for w in word_tokens(p.text))
    if not (cued or cumulative) or not values_a or not values_b:
        return False
    time_a, time_b = judge.times.get(a.source), judge.times.get(b.source)
    if time_a is None or time_b is None or time_a == time_b:
        return cued
    later, earlier = (values_a, values_b) if time_a > time_b else (values_b, values_a)
    return max(later) >= max(earlier)


def day_conflicts(space: _Space, issues: Sequence[Issue],
                  found: Sequence[tuple[Conflict, list[Passage]]]) -> list[tuple[Conflict, list[Passage]]]:
    """Sentences of different sources about the same event (close enough, sharing event
    words) that give the same month different days. A backstop for ``date_conflicts``, which
    needs both dates annotated as events with matching windows; pairs it found are skipped."""
    limits = config()["conflicts"]["counts"]
    unique = {_key(p): p for issue in issues for p in issue.passages}
    items = sorted(unique.values(), key=lambda p: (_id_order(p.source), p.order))
    out: list[tuple[Conflict, list[Passage]]] = []
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if b.source == a.source or _cosine(space, a, b) < limits["date_cosine"]:
                continue
            words = _event_words(space, a, b)
            if len(words) < limits["date_min_shared"] or _covered(a, b, found):
                continue
            if differing(day_dates(a.text), day_dates(b.text)):
                topic = "When: " + " ".join(words[:limits["date_min_shared"] + 2])
                out.append((Conflict(topic=topic, kind="date", sides=[_cited(a), _cited(b)]), [a, b]))
    return out


def outcome_conflicts(documents: Sequence[Document], space: _Space, issues: Sequence[Issue], judge: _Judge,
                      found: Sequence[tuple[Conflict, list[Passage]]]) -> list[tuple[Conflict, list[Passage]]]:
    """Passages of different sources about the same event that give the same entity opposite
    outcomes (won / lost, approved / rejected, died / survived, convicted / acquitted, held /
    released: ``storyline.story.outcomes``). The entity is the name nearest before the phrase
    (else the first after it); a passage that states both sides contradicts nobody; sides
    that can follow each other (held, then released) are no conflict between reports of
    different times or when either passage tells a sequence ("later", "after")."""
    mentions = {d.id or "": d.annotations.mentions for d in documents if d.annotations}
    items = _story_passages(space, issues)
    stated = {_key(p): _entity_outcomes(p, mentions.get(p.source, [])) for p in items}
    out: list[tuple[Conflict, list[Passage]]] = []
    for i, a in enumerate(items):
        if not stated[_key(a)]:
            continue
        for b in items[i + 1:]:
            if b.source == a.source or not stated[_key(b)] or _covered(a, b, [*found, *out]):
                continue
            clash = _opposed(stated[_key(a)], stated[_key(b)])
            if clash is None or not _same_report(space, a, b, judge) or _in_sequence(a, b, clash[1].kind, judge):
                continue
            entity, first, second = clash
            topic = f"Outcome: {entity}: {first.phrase} or {second.phrase}"
            out.append((Conflict(topic=topic, kind="outcome", sides=[_cited(a), _cited(b)]), [a, b]))
    return out


def _entity_outcomes(passage: Passage, mentions: Sequence[Mention]) -> list[tuple[str, Outcome]]:
    """Each outcome of a passage with the entity it is about (outcomes about no name are left out)."""
    inside = [m for m in mentions if passage.start <= m.start and m.end <= passage.end]
    out = []
    for outcome in outcomes(passage.text):
        at = passage.start + outcome.start
        before = [m for m in inside if m.end <= at]
        after = [m for m in inside if m.start >= passage.start + outcome.end]
        mention = before[-1] if before else after[0] if after else None
        if mention is not None:
            out.append((mention.name, outcome))
    return out


def _opposed(a: list[tuple[str, Outcome]], b: list[tuple[str, Outcome]]) -> tuple[str, Outcome, Outcome] | None:
    """The first entity and kind of outcome the two give opposite sides of, neither stating both."""
    for entity, first in a:
        for other, second in b:
            if first.kind != second.kind or first.side == second.side or not _same_name(entity, other):
                continue
            sides_a = {o.side for e, o in a if o.kind == first.kind and _same_name(e, entity)}
            sides_b = {o.side for e, o in b if o.kind == first.kind and _same_name(e, entity)}
            if len(sides_a) == 1 and len(sides_b) == 1:
                return entity, first, second
    return None


def _same_name(a: str, b: str) -> bool:
    """One entity named alike: the same last word ("Ilse Varga", "Varga")."""
    return a.split()[-1].lower() == b.split()[-1].lower() if a.split() and b.split() else False


def _in_sequence(a: Passage, b: Passage, kind: str, judge: _Judge) -> bool:
    if not sequential(kind):
        return False
    time_a, time_b = judge.times.get(a.source), judge.times.get(b.source)
    cues = config()["conflicts"]["outcomes"]["sequence_cues"]
    told = any(re.search(r"\b%s\b" % re.escape(c), p.text, re.IGNORECASE) for p in (a, b) for c in cues)
    return told or time_a != time_b


def _event_words(space: _Space, a: Passage, b: Passage) -> list[str]:
    """Content words both passages use, date words out. Unlike ``_shared`` the story's
    everywhere-words stay: in a story of a few sources every word of its event is one."""
    dates = {key_of(w) for w in config()["conflicts"]["date_words"]}
    bag_a, bag_b = space.bags.get(_key(a), {}), space.bags.get(_key(b), {})
    return sorted(w for w in bag_a.keys() & bag_b.keys() if w not in dates and not w[:1].isdigit())


def _covered(a: Passage, b: Passage, found: Sequence[tuple[Conflict, list[Passage]]]) -> bool:
    """Whether a conflict already found sets these two passages against each other."""
    return any(any(_overlap(a, p) for p in ps) and any(_overlap(b, p) for p in ps) for _, ps in found)


def _overlap(passage: Passage, other: Passage) -> bool:
    return passage.source == other.source and passage.start < other.end and other.start < passage.end


# --- consistency --------------------------------------------------------------------------------

def _consistent(items: Sequence[IssueItem], conflicts: Sequence[tuple[Conflict, list[Passage]]]) -> None:
    """The one place that keeps agreement and conflict apart: a fact is not agreed when any
    of the sentences it cites is on a side of a conflict (another source contradicts it), and
    no sentence is both agreed and disputed in an issue. Each test upstream is lexical and
    local; only here are all of them seen together."""
    contested = [p for _, passages in conflicts for p in passages]
    for item in items:
        against = contested + [_span(c) for side in item.disputed for c in side.citations]
        item.agreed = [entry for entry in item.agreed
                       if not any(_overlap(_span(c), p) for c in entry.citations for p in against)]


def _span(citation: Citation) -> Passage:
    return Passage(citation.source, -1, citation.start, citation.end, "")


# --- countries and blindspots --------------------------------------------------------------------

def country_groups(documents: Sequence[Document], items: Sequence[IssueItem]) -> list[CountryGroup]:
    """The sources grouped by their outlet's country (unknown last), with how much each group
    says on every issue."""
    groups: dict[str | None, list[Document]] = {}
    for document in documents:
        groups.setdefault(document.country, []).append(document)
    out = []
    for country, members in groups.items():
        ids = sorted((d.id or "" for d in members), key=_id_order)
        outlets = sorted({d.outlet for d in members if d.outlet})
        coverage = {item.label: sum(item.by_source[s].sentences for s in ids if s in item.by_source)
                    for item in items}
        out.append(CountryGroup(country=country, sources=ids, outlets=outlets, issues=coverage))
    return sorted(out, key=lambda g: (g.country is None, -len(g.sources), g.country or ""))


def blindspots(documents: Sequence[Document], issues: Sequence[Issue],
               times: dict[str, SourceTime | None] | None = None) -> list[Blindspot]:
    """Issues only one country's sources cover, when the story has two or more countries.

    A silent source is expected to cover an issue only if the issue's news had happened by its
    time (``storyline.story.source_times``: published, else inferred from what it reports):
    one written before it (``_news_time``) could not have covered it and makes no blindspot.
    ``times``: each source's time (computed here when not given)."""
    countries = {d.id or "": d.country for d in documents}
    if len({c for c in countries.values() if c}) < 2:
        return []
    times = times if times is not None else source_times(documents)
    by_id = {d.id or "": d for d in documents}
    min_sources = config()["blindspots"]["min_sources"]
    out = []
    for issue in issues:
        on_issue = issue.by_source()
        covering = sorted(on_issue, key=_id_order)
        found = {countries.get(s) for s in covering}
        if len(covering) < min_sources or len(found) != 1 or None in found:
            continue
        country = str(next(iter(found)))
        news = _news_time(on_issue, by_id, times)
        other = [s for s, c in countries.items() if c and c != country and s not in on_issue]
        earlier = [s for s in other if _before(times.get(s), news)]
        silent = [s for s in other if s not in earlier]
        if not silent:
            continue
        out.append(Blindspot(issue=issue.label, country=country, sources=covering,
                             note=_blindspot_note(issue.label, country, covering, silent, earlier, countries)))
    return out


def _news_time(on_issue: dict[str, list[Passage]], documents: dict[str, Document],
               times: dict[str, SourceTime | None]) -> str | None:
    """The day by which the issue's news had happened: for each covering source, the latest
    date of a past event it reports in its passages on the issue, else its publication date
    less ``blindspots.max_days_before`` days (the news came some time before the report); the
    earliest of these over the covering sources. An inferred time says nothing here: it bounds
    a source's date from below, not the news it reports. None when nothing places the news."""
    margin = timedelta(days=config()["blindspots"]["max_days_before"])
    bounds: list[str] = []
    for source, passages in on_issue.items():
        document = documents.get(source)
        events = [e for e in (document.annotations.events if document and document.annotations else [])
                  if any(p.start <= e.start < p.end for p in passages)]
        reported = latest_reported(events, today_utc())
        if reported:
            bounds.append(first_day(reported))
        elif (time := times.get(source)) is not None and not time.inferred:
            bounds.append((date.fromisoformat(time.first_day) - margin).isoformat())
    return min(bounds) if bounds else None


def _before(time: SourceTime | None, news: str | None) -> bool:
    """Whether a source's time is before the issue's news (unknown either way: not before)."""
    return time is not None and news is not None and time.first_day < news


def _blindspot_note(label: str, country: str, covering: list[str], silent: list[str],
                    earlier: list[str], countries: dict[str, str | None]) -> str:
    others = sorted({str(countries[s]) for s in silent})
    sources = "source" if len(silent) == 1 else f"{len(silent)} sources"
    verb = "does" if len(silent) == 1 else "do"
    note = (f"Only sources from {_country_name(country)} ({', '.join(covering)}) cover "
            f"{label}; the {sources} from {_joined([_country_name(c) for c in others])} "
            f"({', '.join(sorted(silent, key=_id_order))}) {verb} not mention it.")
    if earlier:
        were = "was" if len(earlier) == 1 else "were"
        note += (f" Not counted: {', '.join(sorted(earlier, key=_id_order))}, which {were} "
                 "written before it happened.")
    return note


def _country_name(country: str) -> str:
    """An ISO code as the country's usual English name; a name as it is."""
    name = country_names_by_code().get(country.upper(), (country,))[0] if len(country) == 2 else country
    return f"the {name}" if name.startswith(("United ", "Netherlands")) else name


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
