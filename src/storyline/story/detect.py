"""Story detection: which documents of a pile or a stream tell the same story.

Documents are taken one at a time, in the order given (a stream, or a pile in its order), and
each joins the most similar story found so far or starts a new one. Similarity of a document to
a story mixes three views of the text, each a cosine against the story's running sum:

* ``terms``: content words, weighted by tf-idf with document frequencies of what was seen so far
  (so that what every story says, "police", "killed", weighs little);
* ``names``: capitalised names and years, which tell two stories of one kind apart (one actor's
  rehab from another's, one year's earthquake from another's);
* ``meaning``: the sentence embedding of the document's opening.

After the pass, stories that are as close as documents of one story are merged, so that a story
split by an early, unlucky order comes together again. The constants (weights and thresholds)
are data, ``data/stories.json``; ``benchmarks/stories.py`` measures them on ECB+ beside a TF-IDF
average-link baseline. Everything is deterministic for a given order.

This is the first step of issue 12 and not yet wired into ingest or brief: in one pass it scores
below the batch baseline on ECB+ (see ``docs/benchmarks.md``), and a merge-and-split pass over a
window of recent stories is the next step.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from storyline.annotate.embeddings import Embedder, embed
from storyline.model import Document
from storyline.resources import read_data
from storyline.text import stem, stop_words

DATA_FILE = "stories.json"

_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+")
_NAME = re.compile(r"\b[A-Z][A-Za-z'\u2019-]+(?:\s+[A-Z][A-Za-z'\u2019-]+)*|\b(?:1[89]|20)\d\d\b")


@dataclass(frozen=True)
class DetectConfig:
    """How far a document or story must be from the others to stand alone."""

    terms: float
    names: float
    meaning: float
    join: float  # a document joins the best story at this score or above
    merge: float  # two stories merge at this score or above
    opening_chars: int  # what of a document is embedded (its title and opening)

    @classmethod
    def packaged(cls) -> DetectConfig:
        data = _config()
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@lru_cache(maxsize=1)
def _config() -> dict[str, Any]:
    data: dict[str, Any] = read_data(DATA_FILE)
    return data


class _View:
    """One sparse view (terms or names) of every story: sublinear counts in a growing matrix,
    scored against a document by cosine under the idf of everything seen so far."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self._counts = np.zeros((8, 64), dtype=np.float32)  # stories x keys, raw counts
        self._logs = np.zeros((8, 64), dtype=np.float32)  # 1 + log(count), 0 where absent
        self._frequency = np.zeros(64, dtype=np.float32)  # documents holding each key
        self._documents = 0
        self._stories = 0

    def columns(self, counts: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
        """The document's keys as column numbers (new keys get one) and their counts."""
        columns = [self._index.setdefault(key, len(self._index)) for key in counts]
        self._reserve(self._stories, len(self._index))
        return np.array(columns, dtype=np.int64), np.array(list(counts.values()), dtype=np.float32)

    def see(self, columns: np.ndarray) -> None:
        """Count a new document in the document frequencies."""
        self._documents += 1
        self._frequency[columns] += 1

    def scores(self, columns: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """The cosine of the document against every story."""
        if not self._stories or not len(columns):
            return np.zeros(self._stories, dtype=np.float32)
        keys = len(self._index)
        idf = np.log((1 + self._documents) / (1 + self._frequency[:keys])) + 1.0
        stories = self._logs[: self._stories, :keys] * idf
        document = (1 + np.log(counts)) * idf[columns]
        norms = np.linalg.norm(stories, axis=1) * float(np.linalg.norm(document))
        dots = stories[:, columns] @ document
        return _ratio(dots, norms)

    def add_story(self) -> int:
        self._stories += 1
        self._reserve(self._stories, len(self._index))
        return self._stories - 1

    def absorb(self, story: int, columns: np.ndarray, counts: np.ndarray) -> None:
        self._counts[story, columns] += counts
        self._logs[story, columns] = 1 + np.log(self._counts[story, columns])

    def story_scores(self, story: int) -> np.ndarray:
        """The cosine of one story against every story."""
        keys = len(self._index)
        idf = np.log((1 + self._documents) / (1 + self._frequency[:keys])) + 1.0
        stories = self._logs[: self._stories, :keys] * idf
        norms = np.linalg.norm(stories, axis=1)
        dots = stories @ stories[story]
        scale = norms * norms[story]
        return _ratio(dots, scale)

    def _reserve(self, stories: int, keys: int) -> None:
        rows, cols = self._counts.shape
        if stories <= rows and keys <= cols:
            return
        shape = (max(rows, 2 * stories if stories > rows else rows),
                 max(cols, 2 * keys if keys > cols else cols))
        self._counts = _grown(self._counts, shape)
        self._logs = _grown(self._logs, shape)
        self._frequency = np.pad(self._frequency, (0, shape[1] - len(self._frequency)))


def _ratio(dots: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """``dots / norms``, 0 where a norm is 0 (an empty view has no direction)."""
    ratio: np.ndarray = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    return ratio


def _grown(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    bigger = np.zeros(shape, dtype=matrix.dtype)
    bigger[: matrix.shape[0], : matrix.shape[1]] = matrix
    return bigger


class StoryDetector:
    """Online story detection: ``add`` each document, in order; ``labels`` after the merge pass.

    ``embedder`` turns texts into normalised vectors (default: the packaged MiniLM model);
    ``add_all`` embeds a whole pile in one call, which is much faster than one by one.
    """

    def __init__(self, config: DetectConfig | None = None, embedder: Embedder | None = None) -> None:
        self.config = config or DetectConfig.packaged()
        self._embedder = embedder
        self._terms = _View()
        self._names = _View()
        self._meanings: list[np.ndarray] = []  # per story: the sum of its documents' vectors
        self._story_of: list[int] = []

    def add_all(self, documents: Sequence[Document]) -> list[int]:
        """Add ``documents`` in order; their story numbers before the merge pass."""
        vectors = self._embed([opening(d, self.config.opening_chars) for d in documents])
        return [self._add(document, vector) for document, vector in zip(documents, vectors)]

    def add(self, document: Document) -> int:
        """Add one document; the number of the story it joined or started."""
        return self.add_all([document])[0]

    def labels(self) -> list[int]:
        """Every added document's story after merging close stories, numbered 0, 1, ... in the
        order of each story's first document."""
        parent = list(range(len(self._meanings)))
        for a, b in self._merges():
            parent[_root(parent, b)] = _root(parent, a)
        first: dict[int, int] = {}
        return [first.setdefault(_root(parent, story), len(first)) for story in self._story_of]

    # -- the online pass

    def _add(self, document: Document, vector: np.ndarray) -> int:
        terms = self._terms.columns(_terms_in(document.text))
        names = self._names.columns(names_in(document.text))
        self._terms.see(terms[0])
        self._names.see(names[0])
        scores = self._combined(self._terms.scores(*terms), self._names.scores(*names),
                                self._meaning_scores(vector))
        best = int(np.argmax(scores)) if len(scores) else -1
        if best < 0 or scores[best] < self.config.join:
            best = self._terms.add_story()
            self._names.add_story()
            self._meanings.append(np.zeros_like(vector))
        self._terms.absorb(best, *terms)
        self._names.absorb(best, *names)
        self._meanings[best] = self._meanings[best] + vector
        self._story_of.append(best)
        return best

    def _meaning_scores(self, vector: np.ndarray) -> np.ndarray:
        if not self._meanings:
            return np.zeros(0, dtype=np.float32)
        sums = np.stack(self._meanings)
        norms = np.linalg.norm(sums, axis=1) * float(np.linalg.norm(vector))
        dots = sums @ vector
        return _ratio(dots, norms)

    def _combined(self, terms: np.ndarray, names: np.ndarray, meaning: np.ndarray) -> np.ndarray:
        config = self.config
        total = config.terms + config.names + config.meaning
        return (config.terms * terms + config.names * names + config.meaning * meaning) / total

    # -- the merge pass

    def _merges(self) -> list[tuple[int, int]]:
        """Pairs of stories to merge, closest first (each story's sums against the others')."""
        pairs = []
        for story in range(len(self._meanings)):
            scores = self._combined(self._terms.story_scores(story),
                                    self._names.story_scores(story),
                                    self._meaning_scores(self._meanings[story]))
            for other in np.nonzero(scores >= self.config.merge)[0]:
                if other > story:
                    pairs.append((-float(scores[other]), story, int(other)))
        return [(a, b) for _, a, b in sorted(pairs)]

    def _embed(self, texts: list[str]) -> list[np.ndarray]:
        if not texts:
            return []
        if self.config.meaning <= 0:
            return [np.zeros(1, dtype=np.float32) for _ in texts]
        return list((self._embedder or embed)(texts))  # the model loads on first use


def detect_stories(documents: Sequence[Document], *, config: DetectConfig | None = None,
                   embedder: Embedder | None = None) -> list[int]:
    """The story of each document (0, 1, ... in order of first appearance), read online in the
    order given, then merged."""
    detector = StoryDetector(config, embedder)
    detector.add_all(documents)
    return detector.labels()


def opening(document: Document, chars: int) -> str:
    """The title and the start of the text, cut at a word: what the meaning view embeds."""
    text = f"{document.title}. {document.text}" if document.title else document.text
    if len(text) <= chars:
        return text
    return text[:chars].rsplit(" ", 1)[0]


def _terms_in(text: str) -> Counter[str]:
    """Content words of a text, stemmed, stop words left out."""
    words = stop_words()
    return Counter(stem(w) for w in _WORD.findall(text) if w.lower() not in words)


def names_in(text: str) -> Counter[str]:
    """Capitalised names and years of a text, lower-cased; a sentence's first word counts only
    when it continues into a longer name ("Tara Reid entered ...")."""
    found: Counter[str] = Counter()
    words = stop_words()
    for sentence in _SENTENCE_BREAK.split(text):
        for match in _NAME.finditer(sentence):
            name = match.group()
            if match.start() == 0 and " " not in name:
                continue
            if name.lower() in words:
                continue
            found[" ".join(name.lower().split())] += 1
    return found


def _root(parent: list[int], story: int) -> int:
    while parent[story] != story:
        parent[story] = parent[parent[story]]
        story = parent[story]
    return story


@dataclass(frozen=True)
class FoundStory:
    """One story found in a pile: its documents (in the pile's order) and what names it.

    ``core`` are the documents that are most typical of the story (closest to the others),
    best first: the title, and a briefing's title and lead, come from them, never from an
    outlier. ``period`` spans the documents' publication dates (None where none is dated)."""

    number: int
    title: str
    documents: tuple[Document, ...]
    core: tuple[Document, ...]
    period: tuple[str | None, str | None]
    countries: tuple[str, ...]


def found_stories(documents: Sequence[Document], labels: Sequence[int], *,
                  embedder: Embedder | None = None) -> list[FoundStory]:
    """The stories of ``documents`` given each one's story number (``detect_stories``), the
    largest first (ties: the earlier story)."""
    groups: dict[int, list[Document]] = {}
    for document, label in zip(documents, labels):
        groups.setdefault(label, []).append(document)
    order = sorted(groups, key=lambda label: (-len(groups[label]), label))
    return [_found(number, groups[label], embedder) for number, label in enumerate(order, 1)]


def _found(number: int, members: list[Document], embedder: Embedder | None) -> FoundStory:
    core = tuple(core_documents(members, embedder=embedder))
    dates = sorted(d.published for d in members if d.published)
    countries = sorted({d.country for d in members if d.country})
    title = next((d.title for d in core if d.title), None) or _first_words(core[0].text)
    return FoundStory(number, title, tuple(members), core,
                      (dates[0] if dates else None, dates[-1] if dates else None), tuple(countries))


def core_documents(members: Sequence[Document], *, embedder: Embedder | None = None) -> list[Document]:
    """``members`` ordered by how typical each is of the group (mean similarity of its terms,
    names and opening to the other members'), most typical first; ties keep the given order.
    Outliers come last."""
    if len(members) <= 2:
        return list(members)
    config = DetectConfig.packaged()
    vectors = np.stack((embedder or embed)([opening(d, config.opening_chars) for d in members]))
    meaning = vectors @ vectors.T
    terms = _cosines([_terms_in(d.text) for d in members])
    names = _cosines([names_in(d.text) for d in members])
    total = config.terms + config.names + config.meaning
    similarity = (config.terms * terms + config.names * names + config.meaning * meaning) / total
    np.fill_diagonal(similarity, 0.0)
    typical = similarity.sum(axis=1) / (len(members) - 1)
    order = sorted(range(len(members)), key=lambda k: (-round(float(typical[k]), 6), k))
    return [members[k] for k in order]


def _cosines(bags: list[Counter[str]]) -> np.ndarray:
    """Cosines between bags of words under their own idf."""
    keys = sorted(set().union(*bags))
    column = {key: k for k, key in enumerate(keys)}
    matrix = np.zeros((len(bags), len(keys)), dtype=np.float32)
    for row, bag in enumerate(bags):
        for key, count in bag.items():
            matrix[row, column[key]] = 1 + np.log(count)
    frequency = (matrix > 0).sum(axis=0)
    matrix *= np.log((1 + len(bags)) / (1 + frequency)) + 1.0
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    cosines: np.ndarray = matrix @ matrix.T
    return cosines


def _first_words(text: str, words: int = 12) -> str:
    head = text.split()[:words]
    return " ".join(head) + (" ..." if len(text.split()) > words else "")
