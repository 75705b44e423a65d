"""Story detection: which documents of a pile or a stream tell the same story.

Two documents are alike by three views of their text, each a cosine of unit vectors:

* ``words``: the content words, weighted by tf-idf (what every story says, "police", "killed",
  weighs little);
* ``names``: capitalised names and years, which tell two stories of one kind apart (one
  actor's rehab from another's, one year's earthquake from another's);
* ``meaning``: the sentence embedding of the title and opening.

Their weighted sum is a document pair's similarity; documents more than ``window_days`` apart
(both dated) are never alike. A story is a group of documents whose *average* pairwise
similarity reaches ``join``: average-link clustering. A pile is clustered exactly
(``detect_stories``); a stream is read one document at a time (``StoryDetector``): each joins
the story it is most like on average, or starts one, and a merge pass then joins stories as
alike as documents of one story, and a relocation pass moves a new document to a story it now
fits better. Because the average similarity of a document to a story is its dot product with
the sum of the story's unit vectors, a story is kept as those sums (``StoryProfile``): the
cost of a decision does not depend on the story's size, and the candidate stories come from a
nearest-neighbour index (``storyline.story.neighbours``), not from every story stored.

The weights and ``join`` are data (``data/stories.json``), chosen by five-fold cross-validation
by topic on the ECB+ train split; ``benchmarks/stories.py`` reports the dev split beside a
TF-IDF average-link baseline tuned on train.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from storyline.annotate.embeddings import Embedder, embed
from storyline.context import FILING_BATCH
from storyline.model import Document
from storyline.resources import data_config
from storyline.story.neighbours import VectorIndex
from storyline.text import lead_headline, stop_words

DATA_FILE = "stories.json"
Vector = NDArray[np.float32]
Sparse = dict[str, float]

_WORD = re.compile(r"\b\w\w+\b")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+")
_NAME = re.compile(r"\b[A-Z][A-Za-z'\u2019-]+(?:\s+[A-Z][A-Za-z'\u2019-]+)*|\b(?:1[89]|20)\d\d\b")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


class ThreeViews:
    """Weights of the three views of a pair (content words, names, meaning)."""

    words: float
    names: float
    meaning: float

    def weights(self) -> tuple[float, float, float]:
        """The weights scaled to sum to one."""
        total = self.words + self.names + self.meaning
        return self.words / total, self.names / total, self.meaning / total


@dataclass(frozen=True)
class DetectConfig(ThreeViews):
    """The weights of the views and how alike documents of one story are."""

    words: float
    names: float
    meaning: float
    join: float  # the average similarity at which documents form one story (average link)
    attach: float  # the lower average at which a small story joins a larger one afterwards
    small_story: int  # the most documents a story may have to attach at ``attach``
    window_days: int  # documents further apart than this (both dated) are never one story
    window_documents: int  # a stream's most recent documents, clustered again after each batch
    opening_chars: int  # what of a document is embedded (its title and opening)
    candidates: int  # nearest documents whose stories are considered for a new document
    profile_keys: int  # the largest words and names kept per story profile

    @classmethod
    def packaged(cls) -> DetectConfig:
        return data_config(cls, DATA_FILE)


# --------------------------------------------------------------------------- what a document brings


@dataclass(frozen=True)
class Features:
    """A document as detection reads it: raw counts of its words and names, its opening's unit
    vector and its day (days since 1970-01-01, None when undated). ``sentences``: what filing
    keeps beside them for the document's briefings (its summary candidates' vectors, packed;
    detection does not read them)."""

    words: Counter[str]
    names: Counter[str]
    vector: Vector
    day: int | None
    opening_key: str = ""  # which opening ``vector`` embeds (``opening_key``): "" unknown
    sentences: bytes = b""


def features_of(documents: Sequence[Document], *, config: DetectConfig | None = None,
                embedder: Embedder | None = None) -> list[Features]:
    """The features of ``documents``, their openings embedded in one call."""
    config = config or DetectConfig.packaged()
    if not documents:
        return []
    openings = [opening(d, config.opening_chars) for d in documents]
    vectors = _unit_rows(np.asarray((embedder or embed)(openings), dtype=np.float32))
    return [Features(words_in(d.text), names_in(d.text), vectors[k], day_of(d.published),
                     opening_key(openings[k]))
            for k, d in enumerate(documents)]


def kept_openings(documents: Sequence[Document], members: Mapping[str, bytes],
                  config: DetectConfig | None = None) -> tuple[list[str], Vector]:
    """The openings of those ``documents`` whose features were kept when they were filed
    (``members``: document id -> ``Member`` bytes), with the vectors kept for them: what
    ``features_of`` would embed, without embedding it again."""
    config = config or DetectConfig.packaged()
    texts, rows = [], []
    for document in documents:
        data = members.get(document.id or "")
        text = opening(document, config.opening_chars)
        member = Member.from_bytes(data) if data is not None else None
        # Only a vector of this very opening: a title corrected since filing makes another.
        if member is not None and member.opening_key == opening_key(text):
            texts.append(text)
            rows.append(member.vector)
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32)
    return texts, _unit_rows(np.stack(rows).astype(np.float32))


def opening_key(text: str) -> str:
    """A short fingerprint of an opening, kept with its vector."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def opening(document: Document, chars: int) -> str:
    """The title and the start of the text, cut at a word: what the meaning view embeds."""
    text = f"{document.title}. {document.text}" if document.title else document.text
    if len(text) <= chars:
        return text
    return text[:chars].rsplit(" ", 1)[0]


def words_in(text: str) -> Counter[str]:
    """Content words of a text, lower-cased, stop words left out."""
    stops = stop_words()
    return Counter(w for w in _WORD.findall(text.lower()) if w not in stops)


def names_in(text: str) -> Counter[str]:
    """Capitalised names and years of a text, lower-cased; a sentence's first word counts only
    when it continues into a longer name ("Tara Reid entered ...")."""
    found: Counter[str] = Counter()
    stops = stop_words()
    for sentence in _SENTENCE_BREAK.split(text):
        for match in _NAME.finditer(sentence):
            name = match.group()
            if match.start() == 0 and " " not in name:
                continue
            if name.lower() in stops:
                continue
            found[" ".join(name.lower().split())] += 1
    return found


def day_of(published: str | None) -> int | None:
    """Days since 1970-01-01 of an ISO date (or time); None when absent or not a date."""
    match = _DAY.match(published or "")
    if not match:
        return None
    try:
        return date(*map(int, match.groups())).toordinal() - _EPOCH
    except ValueError:
        return None


_EPOCH = date(1970, 1, 1).toordinal()


# --------------------------------------------------------------------------- idf and unit vectors


class Vocabulary:
    """How many documents hold each word and name: the idf of the tf-idf views, for the pile or
    for everything a store has seen."""

    def __init__(self, documents: int = 0, frequency: Mapping[str, int] | None = None) -> None:
        self.documents = documents
        self.frequency: Counter[str] = Counter(frequency or {})

    @classmethod
    def of(cls, features: Iterable[Features]) -> Vocabulary:
        """The vocabulary of these documents alone (a pile's)."""
        vocabulary = cls()
        for item in features:
            vocabulary.see(item)
        return vocabulary

    def see(self, features: Features) -> list[str]:
        """Count a document; the keys whose frequency changed (names prefixed, see ``_key``)."""
        keys = [*features.words, *(_name_key(n) for n in features.names)]
        self.documents += 1
        self.frequency.update(keys)
        return keys

    def unit(self, counts: Mapping[str, int], *, names: bool = False) -> Sparse:
        """Sublinear tf-idf weights of ``counts``, scaled to length 1; a key's idf is
        log((1 + documents) / (1 + documents holding it)) + 1."""
        # Written for speed (names bound once, no call per key): the one writer of an ingest
        # weighs its window of recent documents again after every batch.
        log, seen, frequency = math.log, 1 + self.documents, self.frequency
        prefix = _name_key("") if names else ""
        weights = {key: (1.0 + log(count)) * (log(seen / (1 + frequency.get(prefix + key, 0))) + 1.0)
                   for key, count in counts.items() if count > 0}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {key: w / norm for key, w in weights.items()} if norm else {}


def _name_key(name: str) -> str:
    """Names share the vocabulary table with words under a prefix no word can have."""
    return "\x01" + name


@dataclass
class Member:
    """A document as it entered a story: its unit vectors under the idf of that moment (kept, so
    that it can leave the story again exactly)."""

    words: Sparse
    names: Sparse
    vector: Vector
    day: int | None
    opening_key: str = ""

    @classmethod
    def of(cls, features: Features, vocabulary: Vocabulary) -> Member:
        return cls(vocabulary.unit(features.words), vocabulary.unit(features.names, names=True),
                   features.vector, features.day, features.opening_key)

    def to_bytes(self) -> bytes:
        head = json.dumps({"words": _rounded(self.words), "names": _rounded(self.names),
                           "day": self.day, "opening": self.opening_key}, ensure_ascii=False).encode()
        return _sized(head) + self.vector.astype(np.float16).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Member:
        head_bytes, at = _unsized(data, 0)
        head = json.loads(head_bytes)
        vector = np.frombuffer(data[at:], dtype=np.float16).astype(np.float32)
        return cls(head["words"], head["names"], vector, head["day"], head.get("opening", ""))


def _rounded(weights: Sparse) -> Sparse:
    return {key: round(value, 5) for key, value in weights.items()}


# --------------------------------------------------------------------------- stories as sums


@dataclass
class StoryProfile:
    """A story as the sums of its members' unit vectors (the average similarity of anything to
    the story is a dot product with them, divided by ``size``) and the days it spans."""

    size: int = 0
    words: Sparse = field(default_factory=dict)
    names: Sparse = field(default_factory=dict)
    meaning: Vector | None = None
    first_day: int | None = None
    last_day: int | None = None

    def add(self, member: Member, sign: int = 1) -> None:
        self.size += sign
        _accumulate(self.words, member.words, sign)
        _accumulate(self.names, member.names, sign)
        vector = sign * member.vector
        self.meaning = vector.copy() if self.meaning is None else self.meaning + vector
        if sign > 0 and member.day is not None:
            self.first_day = min(self.first_day if self.first_day is not None else member.day, member.day)
            self.last_day = max(self.last_day if self.last_day is not None else member.day, member.day)

    def absorb(self, other: StoryProfile, sign: int = 1) -> None:
        """Add ``other``'s sums (``sign`` -1: take them away; the span then stays as it is)."""
        self.size += sign * other.size
        _accumulate(self.words, other.words, sign)
        _accumulate(self.names, other.names, sign)
        if other.meaning is not None:
            meaning = sign * other.meaning
            self.meaning = meaning.copy() if self.meaning is None else self.meaning + meaning
        if sign > 0:
            days = [d for d in (self.first_day, self.last_day, other.first_day, other.last_day)
                    if d is not None]
            self.first_day, self.last_day = (min(days), max(days)) if days else (None, None)

    def copy(self) -> StoryProfile:
        return StoryProfile(self.size, dict(self.words), dict(self.names),
                            None if self.meaning is None else self.meaning.copy(),
                            self.first_day, self.last_day)

    def pruned(self, keys: int) -> StoryProfile:
        """The profile with only its ``keys`` heaviest words and names (a long story's tail of
        words said once adds almost nothing to a cosine, and memory it would cost)."""
        return StoryProfile(self.size, _heaviest(self.words, keys), _heaviest(self.names, keys),
                            self.meaning, self.first_day, self.last_day)

    def mean_vector(self) -> Vector:
        assert self.meaning is not None
        unit: Vector = _unit_rows(self.meaning[None, :])[0]
        return unit

    def to_bytes(self) -> bytes:
        """The profile as kept by a store: a short head, then the words' and names' keys and
        their weights as 64-bit floats (what is held, unrounded), then the meaning. Why not
        JSON as a member is kept: a long story's profile of a thousand words is written each
        time a batch changes it, and encoding its weights one by one was a tenth of filing."""
        keys = [*self.words, *self.names]
        joined = _KEY_BREAK.join(keys)
        if joined.count(_KEY_BREAK) != max(len(keys) - 1, 0):
            return self._to_json_bytes()  # a key that would break the key list (never seen)
        head = json.dumps([self.size, len(self.words), len(self.names), self.first_day,
                           self.last_day]).encode()
        text = joined.encode()
        weights = np.fromiter([*self.words.values(), *self.names.values()], dtype="<f8",
                              count=len(keys))
        meaning = b"" if self.meaning is None else self.meaning.astype("<f4").tobytes()
        return b"".join([_PROFILE_FORMAT, _sized(head), _sized(text), weights.tobytes(), meaning])

    def _to_json_bytes(self) -> bytes:
        """The first format: a JSON head with the weights rounded (still read, and written for
        keys the binary format cannot hold)."""
        head = json.dumps({"size": self.size, "words": _rounded(self.words),
                           "names": _rounded(self.names), "first_day": self.first_day,
                           "last_day": self.last_day}, ensure_ascii=False).encode()
        meaning = b"" if self.meaning is None else self.meaning.astype(np.float32).tobytes()
        return _sized(head) + meaning

    @classmethod
    def from_bytes(cls, data: bytes) -> StoryProfile:
        if not data.startswith(_PROFILE_FORMAT):
            return cls._from_json_bytes(data)
        head_bytes, at = _unsized(data, len(_PROFILE_FORMAT))
        text, at = _unsized(data, at)
        size, word_count, name_count, first_day, last_day = json.loads(head_bytes)
        count = word_count + name_count
        keys = text.decode().split(_KEY_BREAK)  # [""] when there are none: zip drops it
        weights = np.frombuffer(data, dtype="<f8", count=count, offset=at).tolist()
        rest = data[at + 8 * count :]
        meaning = np.frombuffer(rest, dtype="<f4").astype(np.float32) if rest else None
        return cls(size, dict(zip(keys[:word_count], weights[:word_count])),
                   dict(zip(keys[word_count:], weights[word_count:])), meaning, first_day, last_day)

    @classmethod
    def _from_json_bytes(cls, data: bytes) -> StoryProfile:
        head_bytes, at = _unsized(data, 0)
        head = json.loads(head_bytes)
        rest = data[at:]
        meaning = np.frombuffer(rest, dtype=np.float32).copy() if rest else None
        return cls(head["size"], head["words"], head["names"], meaning, head["first_day"],
                   head["last_day"])


# A profile kept in the binary format starts with this (the first format starts with a JSON
# head's length as four big-endian bytes, so with a zero byte); its keys are joined by NUL.
_PROFILE_FORMAT = b"\xffSP2"
_KEY_BREAK = "\x00"


def _sized(part: bytes) -> bytes:
    """``part`` behind its length (four big-endian bytes): how members and profiles keep
    their heads."""
    return len(part).to_bytes(4, "big") + part


def _unsized(data: bytes, at: int) -> tuple[bytes, int]:
    """The part that ``_sized`` wrote at ``at``, and where the next begins."""
    size = int.from_bytes(data[at : at + 4], "big")
    return data[at + 4 : at + 4 + size], at + 4 + size


def _accumulate(total: Sparse, part: Mapping[str, float], sign: int) -> None:
    get = total.get
    if sign == 1:  # the common case, without the multiplication (by 1: the same sum)
        for key, value in part.items():
            total[key] = get(key, 0.0) + value
        return
    for key, value in part.items():
        total[key] = get(key, 0.0) + sign * value


def _heaviest(weights: Sparse, keys: int) -> Sparse:
    """The ``keys`` heaviest of ``weights``, heaviest first, ties by key. Why not sort them
    all: a long story held in memory has many times ``keys`` words, and its profile is pruned
    each time a batch changes it; only those at least as heavy as the ``keys``-th are sorted
    (what is lighter would come after them in the full sort, so the answer is the same)."""
    if len(weights) <= keys:
        return dict(weights)
    values = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
    cut = float(np.partition(values, len(values) - keys)[len(values) - keys])  # the keys-th heaviest
    kept = [item for item in weights.items() if item[1] >= cut]
    kept.sort(key=itemgetter(0))  # ties by key: a stable sort by weight keeps this order
    kept.sort(key=itemgetter(1), reverse=True)
    return dict(kept[:keys])


def sparse_dot(small: Mapping[str, float], large: Mapping[str, float]) -> float:
    if len(small) > len(large):
        small, large = large, small
    # A plain loop, the keys absent from ``large`` skipped: adding 0.0 changes no sum, so the
    # result is the same float as summing every product, in the same order, at less cost.
    total = 0.0
    for key, value in small.items():
        other = large.get(key)
        if other is not None:
            total += value * other
    return total


def _apart(config: DetectConfig, first: int | None, last: int | None, day: int | None) -> bool:
    """Whether ``day`` lies more than the window away from the span [first, last]."""
    if day is None or first is None or last is None:
        return False
    return day < first - config.window_days or day > last + config.window_days


def _spans_apart(config: DetectConfig, a: StoryProfile, b: StoryProfile) -> bool:
    """Whether ``b``'s span of days ends more than the window before ``a``'s begins, or begins
    more than the window after it ends. Why not "both of ``b``'s ends are apart from ``a``": a
    long story whose span holds a short one has both ends far from it, yet overlaps it."""
    if a.first_day is None or a.last_day is None or b.first_day is None or b.last_day is None:
        return False
    return (b.last_day < a.first_day - config.window_days
            or b.first_day > a.last_day + config.window_days)


def member_affinity(config: DetectConfig, member: Member, story: StoryProfile) -> float:
    """The average similarity of ``member`` to the documents of ``story`` (0 outside the window)."""
    if story.size <= 0 or _apart(config, story.first_day, story.last_day, member.day):
        return 0.0
    words, names, meaning = config.weights()
    total = words * sparse_dot(member.words, story.words) + names * sparse_dot(member.names, story.names)
    if story.meaning is not None:
        total += meaning * float(member.vector @ story.meaning)
    return total / story.size


def story_affinity_bound(config: DetectConfig, a: StoryProfile, b: StoryProfile,
                         lengths: tuple[tuple[float, float], tuple[float, float]]) -> float:
    """The most ``story_affinity(config, a, b)`` can be, from the lengths of the two profiles'
    word and name sums (``lengths``, as ``sum_lengths`` gives them) instead of their sparse
    products, each at most the product of the lengths (Cauchy-Schwarz); the meaning's product
    is exact. Infinite when a weight is negative (no bound then) or a story is empty."""
    words, names, meaning = config.weights()
    if words < 0 or names < 0 or a.size <= 0 or b.size <= 0:
        return math.inf
    (a_words, a_names), (b_words, b_names) = lengths
    total = words * a_words * b_words + names * a_names * b_names
    if a.meaning is not None and b.meaning is not None:
        total += meaning * float(a.meaning @ b.meaning)
    return total / (a.size * b.size)


def sum_lengths(profile: StoryProfile) -> tuple[float, float]:
    """The Euclidean lengths of a profile's word sums and name sums."""
    return math.hypot(*profile.words.values()), math.hypot(*profile.names.values())


def story_affinity(config: DetectConfig, a: StoryProfile, b: StoryProfile) -> float:
    """The average similarity of a document of ``a`` to one of ``b`` (average link)."""
    if a.size <= 0 or b.size <= 0:
        return 0.0
    if _spans_apart(config, a, b):
        return 0.0
    words, names, meaning = config.weights()
    total = words * sparse_dot(a.words, b.words) + names * sparse_dot(a.names, b.names)
    if a.meaning is not None and b.meaning is not None:
        total += meaning * float(a.meaning @ b.meaning)
    return total / (a.size * b.size)


# --------------------------------------------------------------------------- a pile, exactly


def detect_stories(documents: Sequence[Document], *, config: DetectConfig | None = None,
                   embedder: Embedder | None = None) -> list[int]:
    """The story of each document (0, 1, ... in order of first appearance): average-link
    clustering of the whole pile, cut where the average similarity falls below ``join``. The
    answer does not depend on the pile's order (up to exact ties)."""
    config = config or DetectConfig.packaged()
    return cluster_features(features_of(documents, config=config, embedder=embedder), config)


def cluster_features(features: Sequence[Features], config: DetectConfig) -> list[int]:
    """``detect_stories`` on features already made."""
    if len(features) < 2:
        return [0] * len(features)
    vocabulary = Vocabulary.of(features)
    members = [Member.of(item, vocabulary) for item in features]
    days = [m.day for m in members]
    return _cluster(_similarity(config, members), config, spans=Spans.of(days, days, config.window_days))


def _cluster(similarity: NDArray[np.float64], config: DetectConfig,
             sizes: Sequence[int] | None = None, spans: Spans | None = None) -> list[int]:
    """Average link cut at ``join``, then small stories attached to larger ones at ``attach``.
    Why two cuts: an average over a handful of documents is noisy, so a cut strict enough to
    keep sister stories apart strands the odd short or off-angle report of a story on its own;
    a story that small may join a larger one on weaker evidence (cross-validated on ECB+)."""
    labels = average_link(similarity, config.join, sizes, spans.copy() if spans else None)
    return _attach_small(similarity, labels, config, sizes, spans)


class Spans:
    """The dated span of each cluster while clusters merge (NaN: undated). Clusters whose spans
    lie more than ``window`` days apart never merge. Why: the pair similarity of documents that
    far apart is already 0, yet an average can still join them through documents without a date
    that resemble both (a summit and next year's summit, bridged by undated commentary)."""

    def __init__(self, first: NDArray[np.float64], last: NDArray[np.float64], window: float) -> None:
        self.first, self.last, self.window = first, last, window

    @classmethod
    def of(cls, first: Sequence[int | None], last: Sequence[int | None], window: float) -> Spans:
        def days(values: Sequence[int | None]) -> NDArray[np.float64]:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        return cls(days(first), days(last), window)

    def copy(self) -> Spans:
        return Spans(self.first.copy(), self.last.copy(), self.window)

    def apart(self) -> NDArray[np.bool_]:
        """Whether every two clusters lie more than the window apart (False where undated)."""
        with np.errstate(invalid="ignore"):
            gap = np.maximum(self.first[None, :] - self.last[:, None],
                             self.first[:, None] - self.last[None, :])
            return np.asarray(gap > self.window)

    def apart_from(self, k: int) -> NDArray[np.bool_]:
        """Whether each cluster lies more than the window from cluster ``k``."""
        with np.errstate(invalid="ignore"):
            gap = np.maximum(self.first - self.last[k], self.first[k] - self.last)
            return np.asarray(gap > self.window)

    def join(self, keep: int, gone: int) -> None:
        self.first[keep] = np.fmin(self.first[keep], self.first[gone])
        self.last[keep] = np.fmax(self.last[keep], self.last[gone])


def _attach_small(similarity: NDArray[np.float64], labels: Sequence[int], config: DetectConfig,
                  sizes: Sequence[int] | None = None, spans: Spans | None = None) -> list[int]:
    """Join each story of at most ``small_story`` documents to the story at least as large that
    it averages the most with, while that average reaches ``attach`` (and their spans are not
    apart): the best pair first, on a tie the lowest labels; labels stay those of first
    appearance."""
    weight = np.ones(len(labels)) if sizes is None else np.asarray(sizes, dtype=np.float64)
    count = max(labels) + 1 if len(labels) else 0
    onehot = np.zeros((len(labels), count))
    onehot[np.arange(len(labels)), labels] = weight
    sums = onehot.T @ similarity @ onehot  # summed document-pair similarity between stories
    attaching = _Attaching(sums, onehot.sum(axis=0), config.small_story,
                           _story_spans(spans, labels, count))
    parent = list(range(count))
    while count:
        small, large = divmod(int(np.argmax(attaching.average)), count)
        if attaching.average[small, large] < config.attach:
            break
        attaching.join(small, large)
        parent[small] = large
    first: dict[int, int] = {}
    return [first.setdefault(_root(parent, label), len(first)) for label in labels]


class _Attaching:
    """The stories of ``_attach_small`` while they attach: ``average`` holds, for each pair
    (small, large), their average similarity where the small one may attach to the large one,
    -inf where not. Why kept rather than worked out again after each join: a join changes only
    the two stories' rows and columns, and the whole matrix, worked out for every join of a
    window of a few hundred stories, was a quarter of what filing a stored batch cost. Each
    entry is the same float either way (the same division of the same numbers)."""

    def __init__(self, sums: NDArray[np.float64], size: NDArray[np.float64], small_story: int,
                 spans: Spans | None) -> None:
        self.sums, self.size, self.small_story, self.spans = sums, size, small_story, spans
        count = len(size)
        self.alive = np.ones(count, dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            average = sums / np.outer(size, size)
        eligible = (size[:, None] <= small_story) & (size[None, :] >= size[:, None])
        if spans is not None:
            eligible &= ~spans.apart()
        np.fill_diagonal(eligible, False)
        average[~eligible] = -np.inf
        self.average = average

    def join(self, small: int, large: int) -> None:
        """Story ``small`` attaches to ``large``."""
        sums, size = self.sums, self.size
        sums[large, :] += sums[small, :]
        sums[:, large] += sums[:, small]
        size[large] += size[small]
        self.alive[small] = False
        if self.spans is not None:
            self.spans.join(large, small)
        self.average[small, :] = -np.inf
        self.average[:, small] = -np.inf
        self._refresh(large)

    def _refresh(self, k: int) -> None:
        """Story ``k``'s row (``k`` as the small story) and column (as the large one)."""
        sums, size, alive = self.sums, self.size, self.alive
        apart = self.spans.apart_from(k) if self.spans is not None else np.zeros(len(size), bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            row = sums[k, :] / (size[k] * size)
            column = sums[:, k] / (size * size[k])
        row[~(alive & (size[k] <= self.small_story) & (size >= size[k]) & ~apart)] = -np.inf
        column[~(alive & (size <= self.small_story) & (size[k] >= size) & ~apart)] = -np.inf
        row[k] = column[k] = -np.inf
        self.average[k, :] = row
        self.average[:, k] = column


def _story_spans(spans: Spans | None, labels: Sequence[int], count: int) -> Spans | None:
    """The span of each labelled story, from its nodes' spans."""
    if spans is None:
        return None
    stories = Spans(np.full(count, np.nan), np.full(count, np.nan), spans.window)
    for node, label in enumerate(labels):
        stories.first[label] = np.fmin(stories.first[label], spans.first[node])
        stories.last[label] = np.fmax(stories.last[label], spans.last[node])
    return stories


def _similarity(config: DetectConfig, members: Sequence[Member]) -> NDArray[np.float64]:
    words, names, meaning = config.weights()
    vectors = np.stack([m.vector for m in members]).astype(np.float64)
    similarity = meaning * (vectors @ vectors.T)
    similarity += words * _sparse_products([m.words for m in members])
    similarity += names * _sparse_products([m.names for m in members])
    days = [m.day for m in members]
    for i, day in enumerate(days):
        for j in range(i + 1, len(days)):
            other = days[j]
            if day is not None and other is not None and abs(day - other) > config.window_days:
                similarity[i, j] = similarity[j, i] = 0.0
    return similarity


def _sparse_products(rows: Sequence[Sparse]) -> NDArray[np.float64]:
    """Dot products of sparse rows (through a compressed sparse matrix of the keys they use)."""
    keys: dict[str, int] = {}
    column_of = keys.setdefault
    columns: list[int] = []
    values: list[float] = []
    starts = [0]
    for row in rows:  # whole rows at a time: the writer does this for its window every batch
        columns.extend([column_of(key, len(keys)) for key in row])
        values.extend(row.values())
        starts.append(len(columns))
    matrix = csr_matrix((values, columns, starts), shape=(len(rows), max(len(keys), 1)))
    product: NDArray[np.float64] = (matrix @ matrix.T).toarray()
    return product


def average_link(similarity: NDArray[np.float64], join: float,
                 sizes: Sequence[int] | None = None, spans: Spans | None = None) -> list[int]:
    """Average-link agglomeration until no two clusters average ``join``; labels by first
    member. The closest pair merges first; on a tie, the pair of lowest indices. ``sizes``:
    how many documents each starting node stands for (default one each), so that averages
    stay averages over documents. ``spans`` (changed in place): clusters whose dated spans lie
    more than its window apart never merge."""
    size = len(similarity)
    link = similarity.astype(np.float64).copy()
    np.fill_diagonal(link, -np.inf)
    if spans is not None:
        link[spans.apart()] = -np.inf  # -inf stays -inf through every later average
    members = np.ones(size) if sizes is None else np.asarray(sizes, dtype=np.float64)
    alive = np.ones(size, dtype=bool)
    parent = list(range(size))
    while True:
        a, b = divmod(int(np.argmax(link)), size)
        if link[a, b] < join:
            break
        a, b = min(a, b), max(a, b)
        merged = (members[a] * link[a] + members[b] * link[b]) / (members[a] + members[b])
        if spans is not None:
            spans.join(a, b)
            merged[spans.apart_from(a)] = -np.inf
        link[a, :] = merged
        link[:, a] = merged
        link[a, a] = -np.inf
        link[b, :] = -np.inf
        link[:, b] = -np.inf
        members[a] += members[b]
        alive[b] = False
        parent[b] = a
    first: dict[int, int] = {}
    return [first.setdefault(_root(parent, k), len(first)) for k in range(size)]


def _single(member: Member) -> StoryProfile:
    """A profile of ``member`` alone, to be read, never added to: it shares the member's
    weights (what ``StoryProfile().add(member)`` sums, 0.0 + w is w), so the window's
    re-clustering does not copy its few hundred documents' weights each batch."""
    return StoryProfile(1, member.words, member.names, member.vector, member.day, member.day)


def _node_affinities(config: DetectConfig, nodes: Sequence[StoryProfile]) -> NDArray[np.float64]:
    """``story_affinity`` between every two nodes (profiles), through matrix products; nodes
    whose spans lie more than the window apart have none."""
    views = node_views(nodes)
    words, names, meaning = config.weights()
    total = words * views.words + names * views.names + meaning * views.meaning
    total[views.gap > config.window_days] = 0.0  # NaN (undated) compares False: no limit
    return total


@dataclass(frozen=True)
class NodeViews:
    """Between every two nodes: the average document-pair cosine of each view, and the days
    between their spans (0 when they overlap, NaN when either is undated)."""

    words: NDArray[np.float64]
    names: NDArray[np.float64]
    meaning: NDArray[np.float64]
    gap: NDArray[np.float64]


def node_views(nodes: Sequence[StoryProfile]) -> NodeViews:
    """``NodeViews`` of ``nodes`` (profiles), through matrix products."""
    sizes = np.array([n.size for n in nodes], dtype=np.float64)
    pairs = np.outer(sizes, sizes)
    sums = np.stack([n.meaning for n in nodes if n.meaning is not None]).astype(np.float64)
    first = np.array([np.nan if n.first_day is None else n.first_day for n in nodes])
    last = np.array([np.nan if n.last_day is None else n.last_day for n in nodes])
    with np.errstate(invalid="ignore"):
        gap = np.maximum(first[None, :] - last[:, None], first[:, None] - last[None, :])
        gap = np.where(np.isnan(gap), gap, np.maximum(gap, 0.0))
    return NodeViews(_sparse_products([n.words for n in nodes]) / pairs,
                     _sparse_products([n.names for n in nodes]) / pairs, (sums @ sums.T) / pairs, gap)


def _root(parent: list[int], node: int) -> int:
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


# --------------------------------------------------------------------------- a stream, online

# A stream's documents are weighed again (under the idf of now) while fewer than this many are
# known; beyond it the idf hardly moves, and they are no longer kept in memory once saved.
REWEIGH_UNTIL = 20_000
# Story profiles held in memory between batches; past this many, only the window's stories'
# are kept and the others loaded again when a document comes near them (the caller keeps them
# all). A decoded profile takes some 50 KB: at 20,000 a writer filing into a store of 19,000
# stories grew by 0.3 GiB every 2,000 documents towards 1 GiB (docs/benchmarks.md).
PROFILES_KEPT = 5_000
# Rounds of the merge pass after a batch: each round merges disjoint pairs, so a story grown by
# one round may reach another in the next; real batches settle in a handful.
MERGE_ROUNDS = 64
ProfileLoader = Callable[[Sequence[int]], Mapping[int, StoryProfile]]


class StoryDetector:
    """Online detection: ``add`` each document's features in order; each joins the story it is
    most like on average (among the stories of its nearest documents) or starts one, under a
    key of its own (``new_key``). ``settle`` then merges and relocates around what was added.

    What it remembers lives in memory or, for a store, is loaded on demand: ``profiles``
    holds the stories it has seen, ``load`` fetches others by key, ``story_of`` maps a
    document number to its story, ``index`` holds the document vectors.
    """

    def __init__(self, config: DetectConfig | None = None, *, vocabulary: Vocabulary | None = None,
                 index: VectorIndex | None = None, story_of: dict[int, int] | None = None,
                 load: ProfileLoader | None = None, first_key: int = 0) -> None:
        self.config = config or DetectConfig.packaged()
        self.vocabulary = vocabulary or Vocabulary()
        self.index = index
        self.story_of = story_of if story_of is not None else {}
        self.profiles: dict[int, StoryProfile] = {}
        self.members: dict[int, Member] = {}  # documents added in this session, by number
        self.features: dict[int, Features] = {}  # and what they brought (to weigh them again)
        self._weighed_at = max(self.vocabulary.documents, 1)  # documents seen when last weighed
        self.changed: set[int] = set()  # stories whose profile changed
        self.merged: dict[int, int] = {}  # story -> the story it was merged into
        self._load = load
        self._next_key = first_key
        self._key_step = -1 if first_key < 0 else 1  # negative keys: stories not yet stored
        self._added: list[int] = []
        self.new_frequency: Counter[str] = Counter()  # vocabulary counted since ``saved``
        self.dirty: set[int] = set()  # documents filed or moved since ``saved``
        self._since_saved: list[int] = []  # documents added since ``saved``
        # The most recent documents, clustered again after each batch (their members are kept).
        self._window: deque[int] = deque(maxlen=self.config.window_documents)
        self.merged_since: set[int] = set()  # stories merged away since ``saved``

    def add(self, number: int, features: Features) -> int:
        """File document ``number``; the key of the story it joined or started."""
        self.new_frequency.update(self.vocabulary.see(features))
        member = Member.of(features, self.vocabulary)
        candidates = self._candidates(member.vector)
        best, score = self._best(member, candidates)
        story = best if best is not None and score >= self.config.join else self._new_story()
        self._file(number, member, story)
        self.features[number] = features
        self._since_saved.append(number)
        if self.index is None:
            self.index = VectorIndex(len(member.vector))
        self.index.add([number], member.vector[None, :])
        self._added.append(number)
        return story

    def settle(self) -> None:
        """After a batch of ``add``s: cluster the window of recent documents again, exactly,
        with the older part of each of their stories as one node (so stories split, merge and
        documents move as the batch answer would have it), then merge stories around them
        that are as alike as one story's documents."""
        if self.vocabulary.documents >= 2 * self._weighed_at and self.features:
            self._weigh_again()
        self._window.extend(self._added)
        self._recluster_window()
        self._merge_pass()
        self._added = []

    def _weigh_again(self) -> None:
        """Weigh this session's documents under the idf of now. Early documents were weighed
        when few documents were known, so every word looked rare and they all looked alike;
        doing it each time the count doubles costs each document a logarithmic number of
        reweighs."""
        for number, features in self.features.items():
            story = self.alive(self.story_of[number])
            fresh = Member.of(features, self.vocabulary)
            self.profiles[story].add(self.members[number], -1)
            self.profiles[story].add(fresh)
            self.members[number] = fresh
            self.changed.add(story)
            self.dirty.add(number)
        self._weighed_at = self.vocabulary.documents

    def saved(self, new_ids: Mapping[int, int]) -> None:
        """After the caller kept the changes: stories it created get their ids (``new_ids``,
        by temporary key), and the change records start afresh."""
        for key, story in new_ids.items():
            if key in self.profiles:
                self.profiles[story] = self.profiles.pop(key)
        for number in {*self._since_saved, *self.members}:
            self.story_of[number] = self.alive(self.story_of[number])
            self.story_of[number] = new_ids.get(self.story_of[number], self.story_of[number])
        # Stories merged away stay in the map (older documents' entries still name them);
        # stories that were never kept need no entry.
        self.merged = {other: new_ids.get(keep, keep) for other, keep in self.merged.items()
                       if other >= 0}
        self.changed = set()
        self.dirty = set()
        self.merged_since = set()
        self.new_frequency = Counter()
        self._since_saved = []
        if self.vocabulary.documents >= REWEIGH_UNTIL:
            # The idf has settled: what was added need not be weighed again, so only the
            # window's documents are kept (memory stays bounded however long the stream).
            window = set(self._window)
            self.members = {n: m for n, m in self.members.items() if n in window}
            self.features = {n: f for n, f in self.features.items() if n in window}
        if len(self.profiles) > PROFILES_KEPT:
            active = {self.alive(self.story_of[n]) for n in self._window if n in self.story_of}
            self.profiles = {s: p for s, p in self.profiles.items() if s in active}

    def labels(self, numbers: Sequence[int]) -> list[int]:
        """The stories of documents ``numbers``, renumbered 0, 1, ... by first appearance."""
        first: dict[int, int] = {}
        return [first.setdefault(self.alive(self.story_of[n]), len(first)) for n in numbers]

    # -- choosing

    def _candidates(self, vector: Vector) -> list[int]:
        if self.index is None:
            return []
        return self._stories_of(number for number, _ in self.index.nearest(
            vector, self.config.candidates))

    def _stories_of(self, numbers: Iterable[int]) -> list[int]:
        """The stories (as they are now, their profiles at hand) of documents ``numbers``, in
        the order of their first document."""
        stories = self._alive_stories(numbers)
        self._ensure(stories)
        return [s for s in stories if s in self.profiles]

    def stories_near(self, vector: Vector, count: int) -> list[int]:
        """The stories (as they are now) of the ``count`` documents nearest to ``vector``,
        nearest first."""
        if self.index is None:
            return []
        return self._alive_stories(number for number, _ in self.index.nearest(vector, count))

    def _alive_stories(self, numbers: Iterable[int]) -> list[int]:
        near = (self.story_of.get(number) for number in numbers)
        return list(dict.fromkeys(self.alive(story) for story in near if story is not None))

    def _best(self, member: Member, candidates: Iterable[int]) -> tuple[int | None, float]:
        best: tuple[int | None, float] = (None, -1.0)
        for story in candidates:
            score = member_affinity(self.config, member, self.profiles[story])
            if score > best[1] or (score == best[1] and best[0] is not None and story < best[0]):
                best = (story, score)
        return best

    def _new_story(self) -> int:
        key = self._next_key
        self._next_key += self._key_step
        self.profiles[key] = StoryProfile()
        return key

    def _file(self, number: int, member: Member, story: int) -> None:
        self.profiles[story].add(member)
        self.members[number] = member
        self.story_of[number] = story
        self.changed.add(story)
        self.dirty.add(number)

    def _ensure(self, stories: Sequence[int]) -> None:
        missing = [s for s in stories if s not in self.profiles]
        if missing and self._load is not None:
            self.profiles.update(self._load(missing))

    # -- merging and relocating

    def _recluster_window(self) -> None:
        """Average link over the window's documents (weighed under the idf of now) and, as one
        node each, the older documents of their stories; each resulting cluster becomes the
        story of its oldest node (other stories in it merge into that one), and a cluster of
        window documents only keeps the story they were in when it is free, else starts one."""
        numbers = [n for n in self._window if n in self.features]
        if len(numbers) < 2:
            return
        before = {n: self.alive(self.story_of[n]) for n in numbers}
        stories = sorted(set(before.values()), key=creation_order)
        self._ensure(stories)
        fresh = {n: Member.of(self.features[n], self.vocabulary) for n in numbers}
        remainders = self._remainders(stories, numbers)
        nodes = [_single(fresh[n]) for n in numbers] + [remainders[s] for s in remainders]
        labels = _cluster(_node_affinities(self.config, nodes), self.config,
                          sizes=[node.size for node in nodes],
                          spans=Spans.of([node.first_day for node in nodes],
                                         [node.last_day for node in nodes], self.config.window_days))
        clusters: dict[int, list[int]] = {}
        for position, label in enumerate(labels):
            clusters.setdefault(label, []).append(position)
        owners = list(remainders)
        claimed: set[int] = set()
        for positions in sorted(clusters.values()):
            olds = sorted((owners[p - len(numbers)] for p in positions if p >= len(numbers)), key=creation_order)
            docs = [numbers[p] for p in positions if p < len(numbers)]
            previous = sorted({before[n] for n in docs}, key=creation_order)
            free = [s for s in previous if s not in remainders and s not in claimed]
            target = olds[0] if olds else (free[0] if free else self._new_story())
            claimed.add(target)
            # The cluster's profile grows from its oldest remainder (a profile of its own, see
            # ``_remainders``) rather than from an empty one: summing a long story's remainder
            # into nothing was the recluster's largest cost, and 0.0 + x is x (the same sums).
            profile = remainders[olds[0]] if olds else StoryProfile()
            for old in olds[1:]:
                profile.absorb(remainders[old])
            for number in docs:
                profile.add(fresh[number])
                # Only a document that changed story is kept again. Why not each one weighed
                # again: the window's 400 were rewritten after every batch (two writes a document
                # filed), their new weights differing from the kept ones by the idf's drift, which
                # no reader of kept members needs (they sum or index them, never subtract them).
                if before[number] != target:
                    self.dirty.add(number)
                self.story_of[number] = target
                self.members[number] = fresh[number]
            for old in olds[1:]:
                self.merged[old] = target
                self.merged_since.add(old)
                self.profiles.pop(old, None)
            self.profiles[target] = profile
            self.changed.add(target)
        for story in stories:  # a story whose documents all went elsewhere joins where they went
            if story not in claimed and story in self.profiles:
                went = Counter(self.story_of[n] for n in numbers if before[n] == story)
                self.profiles.pop(story)
                self.merged[story] = min(went, key=lambda s: (-went[s], creation_order(s)))
                self.merged_since.add(story)
                self.changed.add(story)

    def _remainders(self, stories: Sequence[int], numbers: Sequence[int]) -> dict[int, StoryProfile]:
        """Each story's profile without its window documents, where anything is left. The
        held profiles themselves are taken apart, not copies: the re-clustering replaces or
        drops the profile of every story in ``stories`` (copying a long story's sums each
        batch cost as much as the rest of the re-clustering)."""
        left = {s: self.profiles[s] for s in stories if s in self.profiles}
        for number in numbers:
            story = self.alive(self.story_of[number])
            if story in left:
                left[story].add(self.members[number], -1)
        return {s: p for s, p in left.items() if p.size > 0}

    def _merge_pass(self) -> None:
        """Merge pairs of stories near the added documents, most alike first, while any pair
        averages ``join``; a story merged away is not merged again in the same round."""
        known = _MergeScores()
        for _ in range(MERGE_ROUNDS):  # a merged story may now reach a third: go on until none
            done: set[int] = set()
            for _, keep, other in self._merge_pairs(known):
                if keep in done or other in done:
                    continue
                self._merge(keep, other)
                done.update((keep, other))
            if not done:
                return
            known.forget(done)

    def _merge_pairs(self, known: _MergeScores) -> list[tuple[float, int, int]]:
        touched = {self.alive(self.story_of[n]) for n in self._added}
        pairs: dict[tuple[int, int], float] = {}
        for story in sorted(touched):
            profile = self.profiles[story]
            if profile.meaning is None or self.index is None:
                continue
            near = known.near.get(story)
            if near is None:
                near = known.near[story] = [number for number, _ in self.index.nearest(
                    profile.mean_vector(), self.config.candidates)]
            for other in self._stories_of(near):
                other = self.alive(other)
                if other == story or other not in self.profiles:
                    continue
                first, second = sorted((story, other), key=creation_order)
                if (first, second) not in pairs:
                    score = known.scores.get((first, second))
                    if score is None:
                        score = known.scores[first, second] = self._pair_score(first, second, known)
                    pairs[first, second] = score
        # The older story of a pair is kept; the closest pairs, then the oldest, merge first.
        return sorted(((score, keep, other) for (keep, other), score in pairs.items()
                       if score >= self._merge_cut(keep, other)),
                      key=lambda pair: (-pair[0], creation_order(pair[1]), creation_order(pair[2])))

    def _pair_score(self, first: int, second: int, known: _MergeScores) -> float:
        """The pair's ``story_affinity``, or -inf when its bound (``story_affinity_bound``)
        lies under the pair's merge cut: the verdicts are the same. Why: two long stories'
        sparse products were most of the merge pass (filing into a store of 100,000 documents,
        the pairs whose bound is under the cut were a fifth of the pairs and two fifths of the
        keys looked up), and the sums' lengths cost one pass over each profile a round."""
        a, b = self.profiles[first], self.profiles[second]
        bound = story_affinity_bound(self.config, a, b, (known.lengths(first, a), known.lengths(second, b)))
        # The margin: the bound and the products round differently in the last bits.
        if bound * (1 + 1e-9) + 1e-12 < self._merge_cut(first, second):
            return -math.inf
        return story_affinity(self.config, a, b)

    def _merge_cut(self, first: int, second: int) -> float:
        """The average two stories need to merge: ``attach`` when one is small, as in a pile."""
        smaller = min(self.profiles[first].size, self.profiles[second].size)
        return self.config.attach if smaller <= self.config.small_story else self.config.join

    def _merge(self, keep: int, other: int) -> None:
        self.profiles[keep].absorb(self.profiles.pop(other))
        self.merged[other] = keep
        self.merged_since.add(other)
        for number in self.members:  # older documents' entries resolve through ``alive``
            if self.story_of[number] == other:
                self.story_of[number] = keep
        self.changed.update((keep, other))

    def alive(self, story: int) -> int:
        while story in self.merged:
            story = self.merged[story]
        return story


@dataclass
class _MergeScores:
    """What a merge pass has worked out and may use again in its next round: each pair's
    average (``story_affinity``), each story's nearest documents and its sums' lengths. Why: a
    round changes only the stories it merged, and working out every pair again each round was
    most of the pass.
    ``forget`` drops what involves the stories a round merged."""

    scores: dict[tuple[int, int], float] = field(default_factory=dict)
    near: dict[int, list[int]] = field(default_factory=dict)
    _lengths: dict[int, tuple[float, float]] = field(default_factory=dict)

    def lengths(self, story: int, profile: StoryProfile) -> tuple[float, float]:
        """``sum_lengths`` of ``story``'s profile, worked out once a round."""
        found = self._lengths.get(story)
        if found is None:
            found = self._lengths[story] = sum_lengths(profile)
        return found

    def forget(self, stories: set[int]) -> None:
        self.scores = {pair: score for pair, score in self.scores.items()
                       if pair[0] not in stories and pair[1] not in stories}
        for story in stories:
            self.near.pop(story, None)
            self._lengths.pop(story, None)


def creation_order(story: int) -> tuple[bool, int]:
    """Sorts stories oldest first: stored ones (ids >= 0) by id, then new ones (keys -1, -2, ...
    in order of creation)."""
    return story < 0, abs(story)


def stream_stories(documents: Sequence[Document], *, config: DetectConfig | None = None,
                   embedder: Embedder | None = None, batch: int = FILING_BATCH) -> list[int]:
    """Detection as a stream reads ``documents``: in order, settling after every ``batch``
    (by default the batch an ingest's writer files); labels as ``detect_stories`` gives them."""
    config = config or DetectConfig.packaged()
    detector = StoryDetector(config)
    features = features_of(documents, config=config, embedder=embedder)
    for start in range(0, len(features), batch):
        for number in range(start, min(start + batch, len(features))):
            detector.add(number, features[number])
        detector.settle()
    return detector.labels(range(len(documents)))


# --------------------------------------------------------------------------- the stories of a pile


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
    storyline: int | None = None  # the pile's storyline (1, 2, ...) it continues, if any


def found_stories(documents: Sequence[Document], labels: Sequence[int], *,
                  embedder: Embedder | None = None,
                  storylines: Mapping[int, int | None] | None = None) -> list[FoundStory]:
    """The stories of ``documents`` given each one's story number (``detect_stories``), the
    largest first (ties: the earlier story); ``storylines``: each story number's storyline."""
    groups: dict[int, list[Document]] = {}
    for document, label in zip(documents, labels):
        groups.setdefault(label, []).append(document)
    order = sorted(groups, key=lambda label: (-len(groups[label]), label))
    return [_found(number, groups[label], embedder, (storylines or {}).get(label))
            for number, label in enumerate(order, 1)]


def _found(number: int, members: list[Document], embedder: Embedder | None,
           storyline: int | None) -> FoundStory:
    core = tuple(core_documents(members, embedder=embedder))
    dates = sorted(d.published for d in members if d.published)
    countries = sorted({d.country for d in members if d.country})
    title = next((d.title for d in core if d.title), None) or _untitled(core[0])
    return FoundStory(number, title, tuple(members), core,
                      (dates[0] if dates else None, dates[-1] if dates else None), tuple(countries),
                      storyline)


def story_profiles(features: Sequence[Features], labels: Sequence[int]) -> dict[int, StoryProfile]:
    """Each story's profile (by label), its documents weighed under the idf of all of them."""
    vocabulary = Vocabulary.of(features)
    profiles: dict[int, StoryProfile] = {}
    for item, label in zip(features, labels):
        profiles.setdefault(label, StoryProfile()).add(Member.of(item, vocabulary))
    return profiles


def core_documents(members: Sequence[Document], *, embedder: Embedder | None = None) -> list[Document]:
    """``members`` ordered by how typical each is of the group (``typicality``), most typical
    first; ties keep the given order. Outliers come last."""
    if len(members) <= 2:
        return list(members)
    typical = typicality(members, embedder=embedder)
    order = sorted(range(len(members)), key=lambda k: (-round(typical[k], 6), k))
    return [members[k] for k in order]


def typicality(members: Sequence[Document], *, embedder: Embedder | None = None) -> list[float]:
    """Each member's average similarity to the others, in the given order (1.0 for a single)."""
    if len(members) < 2:
        return [1.0] * len(members)
    config = DetectConfig.packaged()
    features = features_of(members, config=config, embedder=embedder)
    vocabulary = Vocabulary.of(features)
    # No time window here: a group's members belong together however far apart they are.
    unbounded = DetectConfig(**{**config.__dict__, "window_days": 10**6})
    similarity = _similarity(unbounded, [Member.of(item, vocabulary) for item in features])
    np.fill_diagonal(similarity, 0.0)
    return [float(value) for value in similarity.sum(axis=1) / (len(members) - 1)]


def _untitled(document: Document) -> str:
    """An untitled story's title: the lead of its most typical document, else its first words."""
    sentences = [(s.start, s.end) for s in document.annotations.sentences] if document.annotations else None
    return lead_headline(document.text, sentences) or _first_words(document.text)


def _first_words(text: str, words: int = 12) -> str:
    head = text.split()[:words]
    return " ".join(head) + (" ..." if len(text.split()) > words else "")


def _unit_rows(matrix: Vector) -> Vector:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: Vector = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return unit
