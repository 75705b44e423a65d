"""The summary that never invents: sentences selected from the sources, each one cited.

How a summary is made (every constant lives in ``data/summarize.json``, except the shared text
rules of ``storyline.text``: stop words and what makes a sentence summary-worthy, in
``data/text.json``):

1. **Candidates.** Each source's sentences (``annotations.sentences``, else a spaCy parse),
   split at line breaks (a sentence never spans two paragraphs). A candidate may lose a leading
   dateline ("PARIS (AP) —") or a leading connective ("However,", "But") when what remains
   still starts like a sentence; it is never otherwise changed. A trailing attribution
   (", he said.") is NOT trimmed: without it a claim would read as a fact. Questions, fragments,
   captions, bylines, headlines and boilerplate are not candidates. Two neighbouring sentences
   built in parallel (the same frame of words, different names: "... a failure in Washington.
   ... a success in Moscow.") are one candidate: either half alone tells one side of a contrast,
   and the redundancy rule would never let the second join the first. Page furniture is no
   candidate either: a line the cleaners' rules call a caption, credit, teaser or poll
   (``storyline.read.furniture``, applied again to each document's lines), or a sentence that
   reads as a caption or a teaser inside a paragraph (``furniture``: a photo credit, ", left,",
   "The most telling detail ... was not in the statement.").
2. **Salience** = ``position * exp(-position / position_tau) + agreement * agreement``
   (+ ``closing * exp(-rank_from_end / closing_tau)`` in an opinion or analysis piece, which
   states its thesis at the end as well as at the top):
   * the *lead prior*: news puts the facts that matter first, in every source (position counts
     candidates, so a junk line above the lead does not push the lead down);
   * *cross-source agreement*: per sentence, the mean over the OTHER sources of its best cosine
     with that source's sentences. A fact many outlets state is a main fact of the story; a
     detail only one outlet has is not (0 for a story of one source; syndicated copies, marked
     ``duplicate_of``, are not other voices). The cosine is TF-IDF over content words by default
     (``agreement_space: lexical``); MiniLM embeddings (``embedding``) scored +0.1 R-2 on dev
     but need every sentence embedded, seconds per story on a 2-core CPU.
   Tried on the dev data and dropped for adding nothing (or losing ROUGE) on top of these two:
   embedding-centroid centrality (each source's centroid counted once), concept (unigram and
   bigram, DF x position weighted) coverage as a submodular gain, an MMR novelty penalty, a new-source bonus, a bonus for
   the story's key names not yet covered, longer position decay for long articles, dropping
   pronoun-initial sentences (figures in the benchmark notes of benchmarks/summarization.py).
3. **Selection.** Best salience first (ties: earlier position, earlier source); a candidate too
   close to a chosen sentence (content-word cosine > ``redundancy.lexical`` or embedding cosine
   >= ``redundancy.embedding``) is skipped, so each fact appears once. Because leads come first
   in every source, a story's sources are all represented before any one goes deep.
   Embeddings are computed lazily: only for pairs that share content words (TF-IDF cosine >=
   ``redundancy.prefilter``), and for each chosen sentence's likeliest supporter per source
   (a few dozen of a story's hundreds of sentences: embedding is the slow step on a CPU).
3b. **Multi-event stories** (sources published more than ``multi_event.min_span_days`` apart:
   a developing story, e.g. two summits a year apart). Lead prior + agreement favour the event
   every lead states and never reach one named only mid-article, so selection becomes a
   budgeted greedy on ``(salience + name_credit * new names - penalties) / words**length_power``:
   * *names* (capitalised words, not stop words or ``not_names``) that >= ``min_sources``
     independent sources mention, weighted by log(sentences mentioning it) (1 for the most
     mentioned), plus each annotated dated event (``annotations.events``, ``event_weight``),
     earn credit the first time they are covered (submodular: a second sentence gains nothing);
   * a sentence opening with a pronoun (``pronouns``) loses ``pronoun_penalty`` unless the
     sentence just before it in its source is chosen (the text is never rewritten);
   * a fragment (< ``fragment_words`` words) loses ``fragment_penalty``;
   * each agenda issue of the story (``topics``, from ``storyline.story.agenda``) earns
     ``topic_weight`` the first time a sentence about it is chosen, so the summary names the
     story's issues (Syria, sanctions, arms control ...) and not only its best-covered event.
   Single-event stories (Multi-News has no dates) keep the plain ranking: there the penalties
   cost ROUGE (pronoun 0.2 alone: -0.12 R-1 / -0.11 R-2; pronoun 0.5 + fragment 0.6:
   -0.27 / -0.16, both below the acceptance margins).
4. **Length rule.** Sentences are added while the summary is shorter than ``words``: it stops
   at the budget and exceeds it by at most one sentence (the last one added).
5. **Lead and order.** A briefing names its story's core sources (``lead_sources``): the first
   sentence is the lead, chosen from them (``choose_lead``: salience plus credit for stating
   who, when and where, less for an opinion, analysis or interview sentence or a quotation;
   constants ``lead``), selected first when the plain selection missed it, so an off-topic
   article filed with the story never opens the summary. The others follow in time
   (``in_story_order``): the date of the annotated event a sentence states (a year unknown
   says nothing), else its source's date (an undated source: the story's earliest publication
   date, or the latest past event it reports when later), then position, then source.
   **Anaphora** (``anaphora``): a sentence that opens with a pronoun ("It was last used in
   1998.") is placed right after the sentence before it in its source: when the greedy picks
   it first, that sentence comes with it, just before it (``stand_in``); when that sentence is
   redundant the pronoun sentence is dropped, and when it is no candidate (a question, a
   fragment) the pronoun sentence stays where it stands (dropping it cost 0.1 R-2 on
   Multi-News dev; docs/benchmarks.md lists the variants tried). Single-event stories too:
   the old measure (dropping every pronoun-initial sentence, -0.7 R-1) is not this rule.
6. **Citations.** Each sentence cites its own span, then, per other source, the best-matching
   sentence when it states the same fact: of its sentences sharing most content words with the
   chosen one (TF-IDF cosine >= ``support.prefilter``, overlap >= ``support.lexical``), the
   best with embedding cosine >= ``support.embedding``.
7. **Attribution.** An opinion or assessment is never stated as fact: a sentence of an opinion
   or analysis piece, or an evaluative sentence of another, is quoted with who argues it
   (``storyline.story.attribution``: "Harbour Gazette commentator Mara Lund argues: “...”"),
   its citation unchanged; the words added count towards the length rule.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from storyline.annotate.embeddings import Embedder, SentenceVectors
from storyline.briefing import Citation, CitedText
from storyline.model import Document
from storyline.read.dates import days_between
from storyline.read.furniture import furniture_indexes, is_furniture_sentence
from storyline.resources import DATA_DIR
from storyline.story.attribution import (
    attributed_text,
    attribution,
    attribution_rules,
    needs_attribution,
)
from storyline.story.source_times import source_time
from storyline.text import (
    STARTS_LIKE_SENTENCE,
    is_summary_worthy,
    sentence_rules,
    split_lines,
    stem,
    stop_words,
)

CONFIG_PATH = DATA_DIR / "summarize.json"
_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")
# "WASHINGTON (AP) — ", "(CNN) — ", "LONDON — ", "Paris, France (Reuters) - ": a dateline prefix
# (a place in capitals of 3+ letters, so "EU - China talks" keeps its first word).
_DATELINE = re.compile(
    r"^(?:(?=[A-Z][A-Z.]{2})[A-Z][A-Z.'\-/ ]{1,40}(?:,\s*[A-Z][A-Za-z.]+(?:\s[A-Z0-9][A-Za-z0-9.]*)?)*\s*)?"
    r"(?:\([A-Za-z0-9 .&/]{2,30}\)\s*)?[\u2014\u2013-]{1,2}\s+"
)
_NAME = re.compile(r"\b[A-Z][A-Za-z]+")
_COMPOUND_AFTER = re.compile(r"[-\u2010\u2011]\w")

Matrix = NDArray[np.float32]
Span = tuple[str, int, int]  # (source id, start, end)


@dataclass
class Candidate:
    """A selectable sentence: ``text == document.text[start:end]`` (already trimmed)."""

    source: int  # index into the canonical document order
    position: int  # rank among the source's candidates (the lead prior)
    start: int
    end: int
    text: str
    date: str
    copy: bool = False  # from a syndicated copy: cited, never selected, not an independent voice
    previous: int = -1  # index of the candidate just before it in its source (-1: not a candidate)
    event: str = ""  # the date of the annotated event it states ("" when none)
    from_end: int = -1  # rank from the end in an argued piece (opinion, analysis); -1 otherwise
    frame: int = 0  # words of a parallel pair's second half that repeat the first's frame
    leans: bool = False  # opens with a pronoun: reads only after the sentence before it
    # Words the summary adds around it (who argues it): the first time its source is named, after.
    added: tuple[int, int] = (0, 0)
    bag: dict[str, int] = field(default_factory=dict)
    names: frozenset[str] = frozenset()

    @property
    def words(self) -> int:
        return len(self.text.split())


# --- configuration -------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def load_config() -> dict[str, Any]:
    """``data/summarize.json`` with the shared sentence rules of ``data/text.json`` (``sentence``,
    ``boilerplate``), so that a tuning override can change those too."""
    config: dict[str, Any] = {**sentence_rules(), **json.loads(CONFIG_PATH.read_text("utf-8"))}
    return config


def _config(override: dict[str, Any] | None) -> dict[str, Any]:
    config = dict(load_config())
    config.update(override or {})
    return config


# --- candidates ----------------------------------------------------------------------------------

def _sentence_spans(document: Document) -> list[tuple[int, int]]:
    if document.annotations is not None and document.annotations.sentences:
        sentences = [(s.start, s.end) for s in document.annotations.sentences]
    else:
        from storyline.annotate.nlp import parse

        sentences = [(s.start_char, s.end_char) for s in parse(document.text).sents]
    return [span for s, e in sentences for span in split_lines(document.text, s, e)]


def trim_start(text: str, start: int, config: dict[str, Any]) -> int:
    """Offset after a leading dateline and/or connective, when what remains starts a sentence."""
    dateline = _DATELINE.match(text[start:])
    if dateline and STARTS_LIKE_SENTENCE.match(text[start + dateline.end():]):
        start += dateline.end()
    lowered = text[start:start + 20].lower()
    for connective in config["connectives"]:
        if lowered.startswith(connective) and len(lowered) > len(connective):
            rest = start + len(connective)
            after = text[rest:].lstrip(", ")
            # "But Trump said" -> "Trump said"; "However, the" stays whole (no rewriting of case).
            if text[rest] in ", " and STARTS_LIKE_SENTENCE.match(after):
                return len(text) - len(after)
    return start


def _event_dates(document: Document) -> list[tuple[int, int, str]]:
    if document.annotations is None:
        return []
    return [(e.start, e.end, e.date) for e in document.annotations.events]


def _date_of(start: int, end: int, events: list[tuple[int, int, str]], fallback: str) -> str:
    for s, e, date in events:
        if s < end and e > start:
            return date
    return fallback


def build_candidates(documents: list[Document], config: dict[str, Any]) -> list[Candidate]:
    published = sorted(d.published[:10] for d in documents if d.published)
    default_date = published[0] if published else ""
    ids = {d.id for d in documents}
    candidates: list[Candidate] = []
    for index, document in enumerate(documents):
        copy = document.duplicate_of is not None and document.duplicate_of in ids
        events = _event_dates(document)
        first, position, previous = len(candidates), 0, -1
        time = _source_date(document, default_date)
        for unit in worthy_units(document, config):
            if unit is None:
                previous = -1
                continue
            start, end, frame = unit
            event = _date_of(start, end, events, "")
            # An event of unknown year ("XXXX-07-09") says nothing of the order.
            date = event if event[:1].isdigit() else time
            candidates.append(Candidate(index, position, start, end, document.text[start:end], date,
                                        copy, previous, event, frame=frame))
            previous = len(candidates) - 1
            position += 1
        if document.kind in ARGUED_KINDS:
            mark_from_end(candidates[first:])
    return candidates


def _source_date(document: Document, default: str) -> str:
    """The date a source's sentences are ordered by when they report no dated event: its
    publication date; for an undated source, the story's earliest publication date, or later
    when the latest past event it reports says so (``storyline.story.source_times``: a lower
    bound, so never earlier than the story's start)."""
    time = source_time(document)
    if time is None:
        return default
    return time.date if not time.inferred else max(time.date, default)


def candidate_texts(document: Document) -> list[str]:
    """The texts of the document's summary candidates, as a summary of any story holding it
    would embed them (the packaged constants): what filing keeps the vectors of, so that a
    stored story's briefing embeds few sentences of its own."""
    config = _config(None)
    return [document.text[unit[0]:unit[1]] for unit in worthy_units(document, config) if unit]


def worthy_spans(document: Document, config: dict[str, Any]) -> Iterator[tuple[int, int] | None]:
    """Each sentence of the document in order: its span once trimmed of a dateline or connective,
    or None where the sentence is not summary-worthy. Two sentences built in parallel ("... in
    Washington. ... in Moscow.") are one span: each half alone tells only one side."""
    for unit in worthy_units(document, config):
        yield unit[:2] if unit else None


def worthy_units(document: Document, config: dict[str, Any]) -> Iterator[tuple[int, int, int] | None]:
    """``worthy_spans`` with, per span, how many words of it repeat the frame of a parallel pair
    (0 for a single sentence)."""
    spans: list[tuple[int, int] | None] = []
    furniture = furniture_lines(document.text)
    for start, end in _sentence_spans(document):
        start = trim_start(document.text, start, config)
        text = document.text[start:end]
        worthy = is_summary_worthy(text, config) and not is_furniture_sentence(text)
        spans.append((start, end) if worthy and not _overlaps(start, end, furniture) else None)
    index = 0
    while index < len(spans):
        first = spans[index]
        second = spans[index + 1] if index + 1 < len(spans) else None
        frame = parallel_frame(document.text, first, second, config) if first and second else 0
        if first and second and frame:
            yield first[0], second[1], frame
            index += 2
        else:
            yield (*first, 0) if first else None
            index += 1


def furniture_lines(text: str) -> list[tuple[int, int]]:
    """The spans of the lines that are page furniture (captions, credits, teasers, polls), by
    the cleaners' own rules (``storyline.read.furniture``): a line they let through, a text
    handed in as it is, or a document stored before a rule was added."""
    lines = text.split("\n")
    dropped = furniture_indexes(lines)
    spans, offset = [], 0
    for index, line in enumerate(lines):
        if index in dropped:
            spans.append((offset, offset + len(line)))
        offset += len(line) + 1
    return spans


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def parallel_frame(text: str, first: tuple[int, int], second: tuple[int, int],
                   config: dict[str, Any]) -> int:
    """The words two neighbouring sentences share in order when they are built in parallel, else
    0. Parallel: short, in one paragraph, the same frame of words, and names that differ on both
    sides: a contrast ("Anything but X will be a failure in Washington. Anything but Y will be a
    success in Moscow.") whose halves are redundant alone but not together."""
    limits = config["parallel"]
    if "\n" in text[first[1]:second[0]]:
        return 0
    a, b = _WORD.findall(text[first[0]:first[1]]), _WORD.findall(text[second[0]:second[1]])
    if not a or not b or max(len(a), len(b)) > limits["max_words"]:
        return 0
    matcher = difflib.SequenceMatcher(None, [w.lower() for w in a], [w.lower() for w in b],
                                      autojunk=False)
    if matcher.ratio() < limits["min_shared"]:
        return 0
    not_names = set(config["multi_event"]["not_names"])

    def named(words: list[str]) -> bool:  # a place, party or person; not a weekday or title
        return any(w[0].isupper() and w.lower() not in not_names for w in words)

    changed = [(a[i1:i2], b[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]
    names_differ = any(named(left) and named(right) for left, right in changed)
    return sum(block.size for block in matcher.get_matching_blocks()) if names_differ else 0


# An opinion or analysis piece states its thesis at the end as well as at the top ("In sum, ...").
ARGUED_KINDS = frozenset({"opinion", "analysis"})


def mark_from_end(own: list[Candidate]) -> None:
    for rank, candidate in enumerate(reversed(own)):
        candidate.from_end = rank


# --- lexical features ----------------------------------------------------------------------------

def content_bag(text: str, stop: frozenset[str]) -> dict[str, int]:
    """The sentence's content words (stemmed, stop words out) with their counts."""
    bag: dict[str, int] = {}
    for token in _WORD.findall(text):
        word = token.lower()
        if word not in stop:
            key = stem(word)
            bag[key] = bag.get(key, 0) + 1
    return bag


def cosine_bags(a: dict[str, int], b: dict[str, int]) -> float:
    dot = sum(count * b.get(word, 0) for word, count in a.items())
    if not dot:
        return 0.0
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norm


def overlap(a: dict[str, int], b: dict[str, int]) -> float:
    """Shared content words over the smaller sentence's content words."""
    if not a or not b:
        return 0.0
    return len(a.keys() & b.keys()) / min(len(a), len(b))


def lexical_similarity(candidates: list[Candidate]) -> Matrix:
    """Pairwise TF-IDF cosine of the candidates' content-word bags (IDF over the candidates)."""
    vocabulary: dict[str, int] = {}
    for candidate in candidates:
        for word in candidate.bag:
            vocabulary.setdefault(word, len(vocabulary))
    matrix = np.zeros((len(candidates), max(1, len(vocabulary))), dtype=np.float32)
    for row, candidate in enumerate(candidates):
        for word, count in candidate.bag.items():
            matrix[row, vocabulary[word]] = count
    idf = np.log((1 + len(candidates)) / (1 + (matrix > 0).sum(axis=0))) + 1
    matrix *= idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms == 0, 1, norms)
    return np.asarray(matrix @ matrix.T, dtype=np.float32)


# --- multi-event stories: named things, anaphora, fragments -------------------------------------

def span_days(documents: Sequence[Document]) -> int:
    """Days between the earliest and the latest publication date of the story's sources."""
    known = sorted(d.published[:10] for d in documents if d.published and len(d.published) >= 10)
    return (days_between(known[0], known[-1]) or 0) if known else 0


def names_of(text: str, stop: frozenset[str], config: dict[str, Any]) -> frozenset[str]:
    """Capitalised words (named people, places, events), stemmed and lower-cased; stop words and
    ``multi_event.not_names`` (months, days, titles: capitalised but naming nothing) are not names."""
    skip = stop | frozenset(config["multi_event"]["not_names"])
    return frozenset(stem(t) for t in (w.lower() for w in _NAME.findall(text)) if t not in skip)


def shared_names(candidates: list[Candidate], config: dict[str, Any]) -> dict[str, float]:
    """Names that at least ``multi_event.min_sources`` independent sources mention, each weighted
    by how many sentences mention it (log-scaled, 1.0 for the most mentioned): a place the
    sources keep returning to is a main fact of the story even when no lead names it."""
    sources: dict[str, set[int]] = {}
    mentions: dict[str, int] = {}
    for candidate in candidates:
        if not candidate.copy:
            for name in candidate.names:
                sources.setdefault(name, set()).add(candidate.source)
                mentions[name] = mentions.get(name, 0) + 1
    shared = {n: mentions[n] for n, s in sources.items() if len(s) >= config["multi_event"]["min_sources"]}
    top = math.log1p(max(shared.values(), default=1))
    weights = {n: math.log1p(count) / top for n, count in shared.items()}
    # A dated event of the story (annotations.events) is a main fact of its own.
    weights.update({"@" + c.event[:10]: config["multi_event"]["event_weight"] for c in candidates if c.event})
    return weights


def mark_topics(candidates: list[Candidate], documents: list[Document],
                topics: Sequence[Sequence[Span]], config: dict[str, Any]) -> dict[str, float]:
    """Add ``#k`` to the names of each candidate that lies on a span of topic ``k``: covering an
    agenda issue of the story (Syria, sanctions ...) earns credit once, like a shared name."""
    ids = [d.id for d in documents]
    weights: dict[str, float] = {}
    for k, spans in enumerate(topics):
        by_source: dict[str, list[tuple[int, int]]] = {}
        for source, start, end in spans:
            by_source.setdefault(source, []).append((start, end))
        for candidate in candidates:
            found = by_source.get(ids[candidate.source] or "", [])
            if any(start < candidate.end and candidate.start < end for start, end in found):
                candidate.names = candidate.names | {f"#{k}"}
                weights[f"#{k}"] = config["multi_event"]["topic_weight"]
    return weights


def dangling(candidate: Candidate, chosen: set[int], config: dict[str, Any]) -> bool:
    """Starts with a pronoun whose antecedent (the sentence before it) is not in the summary."""
    first = _WORD.match(candidate.text.lstrip("\"'\u201c\u2018("))
    return (first is not None and first.group().lower() in config["multi_event"]["pronouns"]
            and candidate.previous not in chosen)


def opens_with_pronoun(text: str, config: dict[str, Any]) -> bool:
    """The sentence leans on the one before it: its first word (after a kept connective such
    as "But") is a pronoun of ``anaphora.pronouns`` ("It was last used in 1998.") or "the" before
    one of ``anaphora.definites`` ("The two were covering ...")."""
    rules = config["anaphora"]
    words = [w.lower() for w in _WORD.findall(text[:80])[:3]]
    if words and words[0] in rules["connectives"]:
        words = words[1:]
    if len(words) > 1 and words[0] == "the" and words[1] in rules["definites"]:
        # "The two were covering ...": the two named in the sentence before ("The two-day
        # strike" is a compound, not a reference).
        return _COMPOUND_AFTER.match(text, text.lower().find(words[1]) + len(words[1])) is None
    if not words or words[0] not in rules["pronouns"]:
        return False
    # "This week ..." and "It is unclear whether ..." point at nothing before them.
    if len(words) > 1 and words[0] in ("this", "that") and words[1] in rules["time_words"]:
        return False
    rest = text[text.lower().find(words[0]):]
    return _expletive(rules["expletive"]).match(rest) is None


@lru_cache(maxsize=2)
def _expletive(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def stand_in(index: int, candidates: list[Candidate], chosen: Collection[int],
             config: dict[str, Any]) -> int | None:
    """What the summary takes for ``index``: itself when it reads alone (no opening pronoun, or
    the sentence before it in its source is chosen), else that sentence before it, which names
    what the pronoun points at (climbing while it opens with a pronoun too); None when no
    sentence before it can stand in (the pronoun's antecedent is not a candidate)."""
    for _ in range(config["anaphora"]["max_climb"] + 1):
        candidate = candidates[index]
        if candidate.previous in chosen or not candidate.leans:
            return index
        index = candidate.previous
        if index < 0 or candidates[index].copy:
            return None
    return None


# --- embeddings ----------------------------------------------------------------------------------

def opening_vectors(documents: Sequence[Document], vectors: SentenceVectors, sentences: int = 3
                    ) -> Matrix:
    """Per document, the normalised mean embedding of its first ``sentences`` summary candidates:
    what it is about. Always the same sentences, whatever the summary chose (an earlier version
    preferred the openings the summary had embedded, so a change of selection could make a
    source stand apart); most are embedded already, since the lead prior makes the summary
    embed them. A document with no candidate falls back to its first 400 characters."""
    config = _config(None)
    rows = []
    for document in documents:
        spans = itertools.islice(filter(None, worthy_spans(document, config)), sentences)
        texts = [document.text[start:end] for start, end in spans]
        texts = texts or [f"{document.title or ''}. {document.text[:400]}"]
        mean = vectors(texts).mean(axis=0)
        rows.append(mean / (np.linalg.norm(mean) or 1.0))
    return np.stack(rows).astype(np.float32)


class LazyVectors:
    """Sentence embeddings computed only when needed, in batches: selection looks at a few dozen
    of a story's hundreds of sentences, and embedding is the expensive step on a CPU."""

    def __init__(self, texts: list[str], embedder: Embedder) -> None:
        self.texts = texts
        self.embedder = embedder
        self.rows: dict[int, NDArray[np.float32]] = {}

    def ensure(self, indices: Sequence[int]) -> None:
        missing = [i for i in dict.fromkeys(indices) if i not in self.rows]
        if missing:
            self.rows.update(zip(missing, self.embedder([self.texts[i] for i in missing])))

    def cosine(self, i: int, j: int) -> float:
        self.ensure([i, j])
        return float(self.rows[i] @ self.rows[j])

    def matrix(self) -> Matrix:
        self.ensure(range(len(self.texts)))
        stacked = np.stack([self.rows[i] for i in range(len(self.texts))])
        return np.asarray(stacked @ stacked.T, dtype=np.float32)


def agreement(similarity: Matrix, candidates: list[Candidate]) -> NDArray[np.float64]:
    """How strongly the other sources state the same thing: per sentence, the mean over the
    other sources of its best cosine with that source's sentences (0 for a lone source).
    Syndicated copies are not other voices, so they do not count."""
    labels = np.array([c.source for c in candidates])
    ids = sorted({c.source for c in candidates if not c.copy})
    if len(ids) < 2:
        return np.zeros(len(candidates))
    best = np.stack([similarity[:, labels == s].max(axis=1) for s in ids], axis=1).astype(np.float64)
    own = labels[:, None] == np.array(ids)[None, :]
    mean: NDArray[np.float64] = np.where(own, 0.0, best).sum(axis=1) / (len(ids) - 1)
    return mean


# --- selection -----------------------------------------------------------------------------------

def _redundant(index: int, chosen: list[int], candidates: list[Candidate], vectors: LazyVectors,
               lexical: Matrix, config: dict[str, Any]) -> bool:
    limits = config["redundancy"]
    if any(cosine_bags(candidates[index].bag, candidates[o].bag) > limits["lexical"] for o in chosen):
        return True
    # Two sentences with no content word in common (TF-IDF cosine under the prefilter) are not
    # paraphrases of one fact: only the others are worth embedding (embedding is the slow step).
    near = [o for o in chosen if lexical[index, o] >= limits["prefilter"]]
    vectors.ensure([index, *near] if near else [])
    return any(vectors.cosine(index, o) >= limits["embedding"] for o in near)


def scores(candidates: list[Candidate], agreed: NDArray[np.float64], config: dict[str, Any]) -> list[float]:
    """Salience: the lead prior of the sentence in its source plus cross-source agreement."""
    mix = config["weights"]
    return [mix["position"] * math.exp(-c.position / config["position_tau"]) + mix["agreement"] * agreed[i]
            + (mix["closing"] * math.exp(-c.from_end / config["closing_tau"]) if c.from_end >= 0 else 0.0)
            for i, c in enumerate(candidates)]


def gain(index: int, candidates: list[Candidate], salience: list[float], chosen: set[int],
         covered: set[str], config: dict[str, Any]) -> float:
    """Salience, plus (multi-event stories only: ``config['_names']`` is set) credit for shared
    names not yet covered, minus penalties for a dangling pronoun and for a fragment."""
    names = config.get("_names")
    if names is None:
        return salience[index]
    rules = config["multi_event"]
    candidate = candidates[index]
    value = salience[index] + rules["name_credit"] * sum(names.get(n, 0.0) for n in candidate.names - covered)
    if dangling(candidate, chosen, config):
        value -= rules["pronoun_penalty"]
    if candidate.words < rules["fragment_words"]:
        value -= rules["fragment_penalty"]
    # Budgeted greedy (gain per word**length_power): a short sentence naming a new place is not
    # crowded out by long ones that each pack several names.
    # The repeated frame of a parallel pair costs the reader little: it is not counted here.
    per_word: float = value / max(1, candidate.words - candidate.frame) ** rules["length_power"]
    return per_word


def select(candidates: list[Candidate], vectors: LazyVectors, lexical: Matrix, salience: list[float],
           words: int, config: dict[str, Any], first: int | None = None) -> list[int]:
    """Greedy: the best gain first, skipping near-duplicates of chosen sentences, while under
    ``words`` words (with gain == salience this is simply best salience first). ``first``: a
    candidate chosen before all others (the lead the story's core must supply)."""
    pool = [i for i in range(len(candidates)) if not candidates[i].copy and i != first]
    chosen: list[int] = [] if first is None else [first]
    covered: set[str] = set() if first is None else set(candidates[first].names)
    total = 0 if first is None else candidates[first].words + candidates[first].added[0]
    while total < words and pool:
        # Ties go to the earlier sentence, then the earlier source: the outcome never depends on luck.
        picked = set(chosen)
        pool.sort(key=lambda i: (-gain(i, candidates, salience, picked, covered, config),
                                 candidates[i].position, candidates[i].source))
        while pool and _redundant(pool[0], chosen, candidates, vectors, lexical, config):
            pool.pop(0)  # redundant with a chosen sentence stays redundant
        if not pool:
            break
        best = pool.pop(0)
        index = stand_in(best, candidates, picked, config)
        if index is None or index == best:
            # It reads alone, or no sentence before it can be cited: then it is kept where it
            # stands (dropping it cost 0.1 R-2 on Multi-News dev, below the pinned margin: a
            # reader loses more without the fact than without the pronoun's antecedent).
            taken = [best]
        elif index in picked or _redundant(index, chosen, candidates, vectors, lexical, config):
            continue
        else:  # a dangling pronoun: the sentence it leans on comes too, right before it
            if index in pool:
                pool.remove(index)
            taken = [index, best]
        for index in taken:
            covered |= candidates[index].names
            # The words around an attributed sentence count: the full attribution the first time
            # its source is named, the short one after.
            named = any(candidates[o].source == candidates[index].source and candidates[o].added[0]
                        for o in chosen)
            total += candidates[index].words + candidates[index].added[1 if named else 0]
            chosen.append(index)
    return chosen


# --- citations and order -------------------------------------------------------------------------

def _lexical_partners(index: int, candidates: list[Candidate], lexical: Matrix,
                      config: dict[str, Any]) -> list[int]:
    """Per other source, the few sentences sharing most words with the chosen one (content-word
    overlap >= ``support.lexical``, TF-IDF cosine >= ``support.prefilter``): the only ones worth
    embedding to test for support."""
    own = candidates[index]
    by_source: dict[int, list[int]] = {}
    for j, other in enumerate(candidates):
        if (other.source != own.source and lexical[index, j] >= config["support"]["prefilter"]
                and overlap(own.bag, other.bag) >= config["support"]["lexical"]):
            by_source.setdefault(other.source, []).append(j)
    keep = config["support"]["per_source"]
    return [j for found in by_source.values()
            for j in sorted(found, key=lambda j: (-float(lexical[index, j]), j))[:keep]]


def supporting(index: int, candidates: list[Candidate], vectors: LazyVectors, lexical: Matrix,
               config: dict[str, Any]) -> list[int]:
    """Per other source, its best sentence stating the same fact (lexical AND semantic)."""
    best: dict[int, tuple[float, int]] = {}
    for j in _lexical_partners(index, candidates, lexical, config):
        other = candidates[j]
        score = vectors.cosine(index, j)
        if score < config["support"]["embedding"]:
            continue
        if other.source not in best or score > best[other.source][0]:
            best[other.source] = (score, j)
    return [j for _, (_, j) in sorted(best.items())]


def _cite(candidate: Candidate, documents: list[Document]) -> Citation:
    return Citation(source=documents[candidate.source].id or f"S{candidate.source + 1}",
                    start=candidate.start, end=candidate.end)


def canonical_order(documents: Sequence[Document]) -> list[Document]:
    """Sources in id order ("S2" before "S10"), ties by text: the input order never matters."""
    def key(document: Document) -> tuple[int, str, str]:
        digits = re.sub(r"\D", "", document.id or "")
        return (int(digits) if digits else 10**9, document.id or "", document.text)

    return sorted(documents, key=key)


def in_story_order(chosen: list[int], candidates: list[Candidate], lead: int | None = None) -> list[int]:
    """The lead first, then the others in time: by the date each reports (an annotated event,
    else its source's time), then by position in its source, then by source. A sentence that
    opens with a pronoun then moves right behind the sentence before it in its source (selection
    only takes it with that sentence): the pronoun's antecedent is always the summary sentence
    just before it."""
    rest = sorted((i for i in chosen if i != lead),
                  key=lambda i: (candidates[i].date[:10], candidates[i].position, candidates[i].source))
    order = ([lead] if lead is not None else []) + rest
    present = set(order)
    for index in sorted(rest, key=lambda i: (candidates[i].source, candidates[i].position)):
        before = candidates[index].previous
        if before in present and candidates[index].leans:
            order.remove(index)
            order.insert(order.index(before) + 1, index)
    return order


# --- the lead and the words around an opinion ----------------------------------------------------

def choose_lead(candidates: list[Candidate], documents: list[Document], salience: list[float],
                lead: Collection[int], config: dict[str, Any]) -> int | None:
    """The sentence that opens the summary: what happened, who, when and where, from a core
    source (``lead``). Among the core sources' first ``lead.window`` candidates (any of theirs
    when none is that early), the best by salience plus ``lead.fact`` for each of who (a
    person, organisation or group named), when (a date or time, or a dated event) and where (a
    place) it states, less ``lead.argued`` in an opinion, analysis or interview (a lead reports)
    and ``lead.quoted`` for a quotation (a lead says what happened, not what was said). Never a
    sentence that opens with a pronoun: a lead has nothing before it. None when the core has
    no candidate."""
    rules = config["lead"]
    pool = [i for i, c in enumerate(candidates) if c.source in lead and not c.copy and not c.leans]
    early = [i for i in pool if candidates[i].position < rules["window"]] or pool
    if not early:
        return None

    def value(i: int) -> float:
        candidate, document = candidates[i], documents[candidates[i].source]
        score: float = salience[i] + float(rules["fact"]) * len(lead_facts(document, candidate))
        if document.kind in ARGUED_KINDS or document.kind == "interview":
            score -= rules["argued"]
        if _QUOTE_MARK.search(candidate.text):
            score -= rules["quoted"]
        return score

    return max(early, key=lambda i: (value(i), -candidates[i].position, -candidates[i].source))


_QUOTE_MARK = re.compile("[\"\u201c\u201d]")
_WHO = frozenset({"PERSON", "ORG", "NORP"})
_WHERE = frozenset({"GPE", "LOC", "FAC"})


def lead_facts(document: Document, candidate: Candidate) -> set[str]:
    """Which of who, when and where the sentence states, by its annotations (named entities,
    temporal expressions, a dated event); without annotations, a capitalised name counts as who."""
    notes = document.annotations
    found = {"when"} if candidate.event else set()
    if notes is None or not notes.mentions:
        return found | ({"who"} if candidate.names else set())
    start, end = candidate.start, candidate.end
    for mention in notes.mentions:
        if mention.start < end and start < mention.end:
            found |= {"who"} if mention.label in _WHO else {"where"} if mention.label in _WHERE else set()
    if any(t.start < end and start < t.end and t.type in ("DATE", "TIME") for t in notes.timexes):
        found.add("when")
    return found


def cited_sentences(order: list[int], candidates: list[Candidate], documents: list[Document],
                    supporters: dict[int, list[int]], config: dict[str, Any]) -> list[CitedText]:
    """Each chosen sentence with its citations (its own span first); an opinion or assessment
    is said to be its author's (``storyline.story.attribution``), the author named in full the
    first time and by name alone after."""
    rules = attribution_rules(config)
    named: set[int] = set()
    summary = []
    for i in order:
        candidate = candidates[i]
        document = documents[candidate.source]
        citations = [_cite(candidates[j], documents) for j in [i, *supporters[i]]]
        if needs_attribution(document, candidate.start, candidate.end, rules):
            who = attribution(document, rules, again=candidate.source in named)
            named.add(candidate.source)
            summary.append(CitedText(text=attributed_text(who, candidate.text), citations=citations,
                                     attribution=who))
        else:
            summary.append(CitedText(text=candidate.text, citations=citations))
    return summary


def summarize(documents: list[Document], *, words: int = 250, embedder: Embedder | None = None,
              config: dict[str, Any] | None = None, topics: Sequence[Sequence[Span]] = (),
              lead_sources: Collection[str] | None = None) -> list[CitedText]:
    """An extractive, cited summary of one story of at most ``words`` words plus one sentence.

    ``embedder`` (sentences -> normalised rows): by default a new ``SentenceVectors`` (the
    packaged MiniLM, each sentence embedded once); a briefing passes its own, to reuse the
    vectors in later stages; ``config`` overrides constants of ``data/summarize.json`` (for tuning).
    ``topics``: the story's agenda issues, each as the ``(source id, start, end)`` spans about
    it; a multi-event summary earns credit for covering each one (step 3b).
    ``lead_sources``: the ids of the sources that may supply the first sentence (the story's
    core, see ``storyline.story.brief``): the lead comes from them (``choose_lead``; selection
    runs again with it first when it was not chosen). None: no lead, the summary in time order.
    """
    settings = _config(config)
    ordered = canonical_order([d for d in documents if d.text and d.text.strip()])
    candidates = build_candidates(ordered, settings)
    if not candidates or words <= 0:
        return []
    stop = stop_words()
    rules = attribution_rules(settings)
    for candidate in candidates:
        candidate.bag = content_bag(candidate.text, stop)
        candidate.leans = opens_with_pronoun(candidate.text, settings)
        document = ordered[candidate.source]
        if needs_attribution(document, candidate.start, candidate.end, rules):
            candidate.added = (len(attribution(document, rules).split()),
                               len(attribution(document, rules, again=True).split()))
        candidate.names = names_of(candidate.text, stop, settings) | (
            {"@" + candidate.event[:10]} if candidate.event else set())
    if span_days(ordered) > settings["multi_event"]["min_span_days"]:
        settings["_names"] = shared_names(candidates, settings)
        settings["_names"].update(mark_topics(candidates, ordered, topics, settings))
    vectors = LazyVectors([c.text for c in candidates],
                          embedder if embedder is not None else SentenceVectors())
    lexical = lexical_similarity(candidates)
    space = vectors.matrix() if settings["agreement_space"] == "embedding" else lexical
    salience = scores(candidates, agreement(space, candidates), settings)
    chosen = select(candidates, vectors, lexical, salience, words, settings)
    lead = None
    if lead_sources is not None:
        core = {k for k, d in enumerate(ordered) if (d.id or "") in lead_sources}
        lead = choose_lead(candidates, ordered, salience, core, settings)
        if lead is not None and lead not in chosen:
            chosen = select(candidates, vectors, lexical, salience, words, settings, lead)
    order = in_story_order(chosen, candidates, lead)
    # Embed every possible supporter in one batch rather than pair by pair.
    vectors.ensure([j for i in order for j in [i, *_lexical_partners(i, candidates, lexical, settings)]])
    supporters = {i: supporting(i, candidates, vectors, lexical, settings) for i in order}
    return cited_sentences(order, candidates, ordered, supporters, settings)
