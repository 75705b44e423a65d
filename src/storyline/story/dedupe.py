"""Exact and near-duplicate detection.

Two levels, both on the *normalised* text (``normalise_for_hash``):

* exact duplicate: the same ``content_hash`` (sha256 of the normalised text), so a copy that
  only differs in case, quote/dash style, punctuation or spacing is the same content;
* near duplicate: compared on word 5-gram shingles with an earlier document, either the Jaccard
  similarity is at least ``NEAR_DUP_JACCARD`` or at least ``NEAR_DUP_CONTAINMENT`` of the new
  text's shingles occur in the earlier one (the new text adds almost nothing: a trimmed or lightly
  edited syndicated copy). Candidates come from a banded MinHash index (``MinHashIndex``); every candidate
  is verified with the *exact* similarity of the two shingle sets, so the verdict does not inherit
  MinHash's estimation noise near the threshold (only the retrieval is probabilistic, and nearly
  certain from J = 0.7 up, see below); seeds and hashes are fixed, so runs are reproducible.

Tuning, on the invented 233-word wire story of ``tests/test_dedupe.py`` (J = Jaccard,
C = share of the new text's shingles found in the original):

=====================================================  =====  =====  ===========
variant                                                  J      C    verdict
=====================================================  =====  =====  ===========
syndicated copy, curly quotes, 30-word footer           0.89   0.89   duplicate
light edit (3 words, quote style)                       0.91   0.96   duplicate
copy-edited (5 phrases changed, one sentence cut)       0.74   0.87   duplicate
trimmed from the bottom (last 2 of 6 paragraphs cut)    0.73   1.00   duplicate
local lede replacing the first paragraph                0.71   0.82   distinct
update: two new paragraphs of new facts                 0.69   0.69   distinct
another outlet's own story sharing two quotes           0.03   0.07   distinct
=====================================================  =====  =====  ===========

Jaccard alone at the suggested 0.8 misses the copy-edited and trimmed copies; containment of the
*new* text is asymmetric on purpose: an update that adds facts to an earlier story is not a
duplicate of it (it has something new to cite), a trimmed copy of it is. The local-lede rewrite
sits between (0.82) and stays a distinct document: it has its own first paragraph.

The index retrieves candidates with ``LSH_BANDS`` bands of ``LSH_ROWS`` MinHash values: a pair
with Jaccard J shares at least one band with probability 1 - (1 - J**5)**25, an S-curve centred
near 0.5, which returns J = 0.6 pairs 87% and J >= 0.7 pairs 99% of the time (bands of 13 rows
would centre it on 0.8 and return a pair at J = 0.8 only ~40% of the time). The exact check then
applies the real rule.

Texts under ``MIN_WORDS_FOR_NEAR_DUP`` words only match exactly: with a handful of shingles, one
changed word moves the Jaccard by tens of points, so a near match there means nothing.

Two users: ``Deduper`` judges a set of documents read together, all in memory; a store's
documents are judged by ``NearDuplicateIndex`` fed with their stored sketches (``sketch_bytes``,
named by ``SKETCH_KIND``), the candidates' texts fetched only when a band matches, so no stored
text is hashed again (``storyline.pipeline.duplicates`` does the wiring).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SHINGLE_WORDS = 5  # word n-gram size: long enough that shared stock phrases rarely match
NUM_PERM = 128  # MinHash hash functions
NEAR_DUP_JACCARD = 0.8  # exact Jaccard at or above which a text is a near duplicate
NEAR_DUP_CONTAINMENT = 0.85  # ... or this share of the new text's shingles in the earlier one
LSH_BANDS, LSH_ROWS = 25, 5  # candidate S-curve centred near J = 0.5: generous, the exact check filters
MIN_WORDS_FOR_NEAR_DUP = 30  # shorter texts are matched exactly only

_APOSTROPHES = "'\u2018\u2019\u201a\u201b\u2032\u02bc\u0060\u00b4"  # dropped: "don’t" == "dont"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"  # word breaks
_KEEP = set("%\u2030&@#")  # punctuation by Unicode category, but meaning-bearing ("6%" is not "6")
_WHITESPACE = re.compile(r"\s+")
_SHINGLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant for the rolling hash
_MINHASH_SEED = 20170707  # fixed: the same text gets the same sketch in every run
# Documents whose band keys wait in a small table before they become a sorted run: the smallest
# run's size, so it bounds how many runs a query searches (and each query scans the table).
RECENT_DOCUMENTS = 4096
_KEY_MULTIPLIER = np.uint64(0xBF58476D1CE4E5B9)  # odd 64-bit constant: mixing a band's values
_BAND_SEEDS = np.arange(1, LSH_BANDS + 1, dtype=np.uint64) * _SHINGLE_MULTIPLIER  # one per band


class _CharTable(dict[int, int | str | None]):
    """A ``str.translate`` table filled on demand: each character's category is looked up once
    per process, and translate then runs at C speed (a per-character loop costs milliseconds)."""

    def __missing__(self, code: int) -> int | str | None:
        self[code] = value = _translate_char(chr(code))
        return value


def _translate_char(char: str) -> int | str | None:
    category = unicodedata.category(char)
    if char in _APOSTROPHES or category == "Cf":  # Cf: soft hyphens, zero-width spaces, BOMs
        return None
    if char in _DASHES or (category.startswith("P") and char not in _KEEP):
        return " "
    return ord(char)


_CHAR_TABLE = _CharTable()


def normalise_for_hash(text: str) -> str:
    """Case-folded words separated by single spaces: punctuation, quotes, dashes and spacing erased.

    Apostrophes are dropped rather than spaced so that "don't", "don’t" and "dont" agree; every
    other punctuation mark becomes a word break. Symbols ($, €) and %, &, @, # are kept: they carry
    meaning.
    """
    text = unicodedata.normalize("NFKC", text).casefold().translate(_CHAR_TABLE)
    return _WHITESPACE.sub(" ", text).strip()


def content_hash(text: str) -> str:
    """sha256 hex digest of ``normalise_for_hash(text)``: equal for exact duplicates."""
    return hashlib.sha256(normalise_for_hash(text).encode("utf-8")).hexdigest()


def shingles(normalised: str) -> np.ndarray:
    """Sorted unique 32-bit hashes of the word 5-grams of an already normalised text.

    A 5-gram's hash is a rolling polynomial of its words' 64-bit hashes (top 32 bits kept): one
    blake2b per distinct word instead of one per 5-gram, the combination vectorised.
    """
    words = normalised.split()
    count = len(words) - SHINGLE_WORDS + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint32)
    word_hashes = np.fromiter((_word_hash(w) for w in words), dtype=np.uint64, count=len(words))
    combined = np.zeros(count, dtype=np.uint64)
    for k in range(SHINGLE_WORDS):
        combined = combined * _SHINGLE_MULTIPLIER + word_hashes[k : k + count]  # wraps mod 2**64
    return np.unique((combined >> np.uint64(32)).astype(np.uint32))


@lru_cache(maxsize=1 << 16)
def _word_hash(word: str) -> int:
    # blake2b, not hash(): stable across processes, so verdicts are reproducible run to run.
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique shingle arrays."""
    if not len(a) or not len(b):
        return 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)


def containment(new: np.ndarray, old: np.ndarray) -> float:
    """Share of ``new``'s shingles that also occur in ``old``."""
    if not len(new):
        return 0.0
    return len(np.intersect1d(new, old, assume_unique=True)) / len(new)


def is_near_duplicate(new: np.ndarray, old: np.ndarray) -> bool:
    """The near-duplicate rule (module docstring): similar enough, or adding almost nothing."""
    return jaccard(new, old) >= NEAR_DUP_JACCARD or containment(new, old) >= NEAR_DUP_CONTAINMENT


def _hash_parameters() -> tuple[np.ndarray, np.ndarray]:
    """Multipliers (odd) and offsets of ``NUM_PERM`` multiply-shift hash functions on 64 bits."""
    rng = np.random.default_rng(_MINHASH_SEED)
    high = np.iinfo(np.uint64).max
    multipliers = rng.integers(0, high, size=NUM_PERM, dtype=np.uint64, endpoint=True) | np.uint64(1)
    offsets = rng.integers(0, high, size=NUM_PERM, dtype=np.uint64, endpoint=True)
    return multipliers, offsets


_MULTIPLIERS, _OFFSETS = _hash_parameters()


def minhash(grams: np.ndarray) -> np.ndarray:
    """The MinHash sketch of a non-empty shingle set: per hash function, the least hash value.

    Each function is ``(a * x + b) mod 2**64`` keeping the top 32 bits (multiply-shift hashing,
    a universal family), so the share of equal entries in two sketches estimates their Jaccard.
    """
    values = grams.astype(np.uint64)[:, None] * _MULTIPLIERS + _OFFSETS  # wraps mod 2**64
    sketch: np.ndarray = (values >> np.uint64(32)).min(axis=0).astype(np.uint32)
    return sketch


class MinHashIndex:
    """Banded locality-sensitive index of MinHash sketches: the ids sharing any whole band.

    Each band of a sketch is one 64-bit key (``band_keys``). The keys of the latest
    ``RECENT_DOCUMENTS`` documents wait in a small table; older ones lie in a few sorted runs
    (each key beside the position of its document), the oldest the longest: a full table
    becomes a run, and a run is merged into the one before it while that one is less than
    twice its length. Why runs and not one sorted array: merging each table into one array
    copied the whole array every 4,096 documents, so loading a store cost the square of its
    size (fine at 100,000, hours at ten million); with runs each key is copied a logarithmic
    number of times, and a look-up searches a logarithmic number of runs. Why not a dictionary
    per band of byte strings: at 100,000 documents that held 2.5 million Python objects
    (0.5 GiB); the arrays take 16 bytes a band and a document."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._runs: list[_Run] = []  # the documents before the table's, oldest run first
        self._recent = np.empty((RECENT_DOCUMENTS, LSH_BANDS), dtype=np.uint64)
        self._recent_count = 0  # rows of ``_recent`` in use: the documents after the runs'

    def __len__(self) -> int:
        return len(self._ids)

    def insert(self, doc_id: str, sketch: np.ndarray) -> None:
        self.insert_many([doc_id], np.asarray(sketch)[None, :])

    def insert_many(self, doc_ids: Sequence[str], sketches: np.ndarray) -> None:
        """Index ``doc_ids`` (new ids, in order) with their sketches (one row each). A block
        larger than the table's room becomes a run of its own, sorted once."""
        keys = band_keys(sketches)
        count = self._recent_count
        if count + len(keys) <= RECENT_DOCUMENTS:
            self._recent[count:count + len(keys)] = keys
            self._recent_count += len(keys)
        else:
            self._add_run(np.concatenate([self._recent[:count], keys]))
        self._ids.extend(doc_ids)

    def query(self, sketch: np.ndarray) -> set[str]:
        keys = band_keys(np.asarray(sketch)[None, :])[0]
        found: set[int] = set()
        for run in self._runs:
            low = np.searchsorted(run.keys, keys, side="left").tolist()
            high = np.searchsorted(run.keys, keys, side="right").tolist()
            for start, end in zip(low, high):
                if end > start:
                    found.update(run.rows[start:end].tolist())
        if self._recent_count:
            hits = np.nonzero((self._recent[:self._recent_count] == keys).any(axis=1))[0]
            found.update((hits + self._in_runs).tolist())
        return {self._ids[position] for position in found}

    @property
    def _in_runs(self) -> int:
        return len(self._ids) - self._recent_count

    def _add_run(self, keys: np.ndarray) -> None:
        """Make the documents after the runs' (``keys``: their band keys, one row each, the
        table's rows first) a run, merge runs as the class says, and empty the table."""
        flat = keys.ravel()  # document by document, its bands in order
        first = self._in_runs
        rows = np.repeat(np.arange(first, first + len(keys), dtype=np.int64), LSH_BANDS)
        order = np.argsort(flat, kind="stable")
        self._runs.append(_Run(flat[order], rows[order]))
        self._recent_count = 0
        while len(self._runs) > 1 and len(self._runs[-2].keys) < 2 * len(self._runs[-1].keys):
            newer = self._runs.pop()
            self._runs[-1] = self._runs[-1].merged(newer)


@dataclass
class _Run:
    """Band keys in order, each beside the position of its document."""

    keys: np.ndarray
    rows: np.ndarray

    def merged(self, newer: _Run) -> _Run:
        """One run of both (``newer``'s keys after this one's equal keys: a copy of each)."""
        at = np.searchsorted(self.keys, newer.keys, side="right")
        return _Run(np.insert(self.keys, at, newer.keys), np.insert(self.rows, at, newer.rows))


def band_keys(sketches: np.ndarray) -> np.ndarray:
    """The (documents, ``LSH_BANDS``) 64-bit keys of the sketches' bands: each band's
    ``LSH_ROWS`` values mixed with the band's number, so that all bands share one key space.
    Two different bands meet on one key by chance about once in 2**64 pairs, and then only add
    a candidate that the exact test turns away."""
    values = np.asarray(sketches, dtype=np.uint64)[:, :LSH_BANDS * LSH_ROWS]
    values = values.reshape(len(values), LSH_BANDS, LSH_ROWS)
    keys = np.repeat(_BAND_SEEDS[None, :], len(values), axis=0)
    for row in range(LSH_ROWS):
        keys = (keys ^ values[:, :, row]) * _KEY_MULTIPLIER  # wraps mod 2**64
        keys ^= keys >> np.uint64(29)
    return keys


@dataclass
class Fingerprint:
    """What a verdict needs to know about one text; computed once, used to match and to index."""

    content_hash: str
    shingles: np.ndarray
    minhash: np.ndarray | None  # None for texts too short for near matching

    @property
    def near_matchable(self) -> bool:
        return self.minhash is not None


def fingerprint(text: str) -> Fingerprint:
    """The content hash, shingles and MinHash sketch of ``text`` (no sketch when it is short)."""
    normalised = normalise_for_hash(text)
    digest = hashlib.sha256(normalised.encode("utf-8")).hexdigest()
    if len(normalised.split()) < MIN_WORDS_FOR_NEAR_DUP:
        return Fingerprint(digest, np.empty(0, dtype=np.uint32), None)
    grams = shingles(normalised)
    return Fingerprint(digest, grams, minhash(grams))


# A stored sketch is only as good as the method that made it: this names the method, and a
# sketch stored under another name is made again (after a change of shingles, hash functions,
# seed or the short-text rule). Bump the version when normalisation changes.
SKETCH_KIND = f"minhash-v1/{SHINGLE_WORDS}w/{NUM_PERM}x32/{_MINHASH_SEED}/min{MIN_WORDS_FOR_NEAR_DUP}"
_SKETCH_DTYPE = np.dtype("<u4")  # fixed byte order: a stored sketch reads the same everywhere


def sketch_bytes(sketch: np.ndarray | None) -> bytes:
    """A sketch as bytes to store; empty for a text too short to compare (no sketch)."""
    return b"" if sketch is None else sketch.astype(_SKETCH_DTYPE).tobytes()


def sketch_from_bytes(data: bytes) -> np.ndarray | None:
    """The sketch ``sketch_bytes`` stored (None: the text was too short to compare)."""
    if not data:
        return None
    sketch = np.frombuffer(data, dtype=_SKETCH_DTYPE).astype(np.uint32)
    if len(sketch) != NUM_PERM:
        raise ValueError(f"a sketch has {NUM_PERM} values, not {len(sketch)}")
    return sketch


ShinglesOf = Callable[[list[str]], list[np.ndarray]]


class NearDuplicateIndex:
    """The near-duplicate verdict against documents already judged, fed one document at a time.

    It holds only the banded index of the originals' sketches (documents that are not
    themselves near duplicates, so a near duplicate always points at an original and chains
    never form); the exact shingle test of the candidates asks ``shingles_of`` for their
    shingles, so the texts can stay where they are kept. Among several matches the earliest
    added wins.
    """

    def __init__(self) -> None:
        self._lsh = MinHashIndex()
        self._order: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._order

    def add(self, doc_id: str, sketch: np.ndarray | None, *, is_duplicate: bool) -> None:
        """Index a document already judged (again: ignored); near duplicates and texts without
        a sketch take a place in the order but stay out of the band index."""
        self.add_many([(doc_id, sketch, is_duplicate)])

    def add_many(self, judged: Sequence[tuple[str, np.ndarray | None, bool]]) -> None:
        """``add`` for each (id, sketch, is_duplicate) of ``judged``, in order, the band
        index taking the originals' sketches in one block (a store's documents, loaded when an
        ingest starts)."""
        originals: list[str] = []
        sketches: list[np.ndarray] = []
        for doc_id, sketch, is_duplicate in judged:
            if doc_id in self._order:
                continue
            self._order[doc_id] = len(self._order)
            if sketch is not None and not is_duplicate:
                originals.append(doc_id)
                sketches.append(sketch)
        if originals:
            self._lsh.insert_many(originals, np.stack(sketches))

    def candidates(self, sketch: np.ndarray) -> list[str]:
        """The originals sharing a band with ``sketch``, earliest first."""
        return sorted(self._lsh.query(sketch), key=self._order.__getitem__)

    def match(self, fp: Fingerprint, shingles_of: ShinglesOf) -> str | None:
        """The earliest original that ``fp`` nearly duplicates (exact shingle test), or None."""
        if fp.minhash is None:
            return None
        candidates = self.candidates(fp.minhash)
        if not candidates:
            return None
        for doc_id, grams in zip(candidates, shingles_of(candidates)):
            if is_near_duplicate(fp.shingles, grams):
                return doc_id
        return None


class Deduper:
    """In-memory verdicts over one set of documents read together: exact hashes plus a
    ``NearDuplicateIndex`` whose candidates' shingles are kept here."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._near = NearDuplicateIndex()
        self._by_hash: dict[str, str] = {}
        self._shingles: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._near)

    @staticmethod
    def fingerprint(text: str) -> Fingerprint:
        return fingerprint(text)

    def match(self, fp: Fingerprint) -> str | None:
        """The earliest document that ``fp`` exactly or nearly duplicates, or None."""
        exact = self._by_hash.get(fp.content_hash)
        if exact is not None:
            return exact
        return self._near.match(fp, lambda ids: [self._shingles[i] for i in ids])

    def insert(self, doc_id: str, fp: Fingerprint, *, is_duplicate: bool) -> None:
        """Index a document already decided on; near duplicates are kept out of the LSH."""
        if doc_id in self._near:
            return
        self._near.add(doc_id, fp.minhash, is_duplicate=is_duplicate)
        self._by_hash.setdefault(fp.content_hash, doc_id)
        if fp.minhash is not None and not is_duplicate:
            self._shingles[doc_id] = fp.shingles

    def add(self, doc_id: str, text: str) -> str | None:
        """Match ``text`` against what was seen, index it, and return the id it duplicates (or None)."""
        fp = fingerprint(text)
        original = self.match(fp)
        self.insert(doc_id, fp, is_duplicate=original is not None)
        return original
