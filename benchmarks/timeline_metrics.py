"""Timeline-summarisation metrics of the Timeline17 harness, from ``tls/README.md``.

Our own code after the definitions the README gives (tilse 0.2.1 and the ROUGE-1.5.5 options it
runs: ``-n 2 -m -s``, raw counts). A timeline is a list of ``(date, [sentence, ...])`` pairs;
sentences are plain text, tokenised here as the scorer does it.

* ROUGE tokens (``rouge_tokens``): lower case, ``-`` split off, every character outside
  ``[a-z0-9-]`` a space, stop words dropped (``-s``), tokens starting with ``[a-z0-9]`` kept,
  tokens longer than 3 characters Porter-stemmed (``-m``). Two differences from ROUGE-1.5.5,
  both small: the stop-word list is scikit-learn's English list plus single letters (ROUGE's
  SMART list is not available here), and the WordNet exception table that ``-m`` consults before
  Porter is not used (irregular forms such as "went" stay unstemmed).
* A summary's n-grams run over its sentences joined in order; matches are clipped counts.
* ``concat``: all system sentences against all reference sentences.
* ``align_m1`` (tilse's ``evaluate_align_date_content_costs_many_to_one``): each system date goes
  to the reference date of least cost ``(1 - 1/(|s-r|+1)) * (1 - A(s, r))``, A an approximate
  ROUGE-1 F1 on the whitespace tokens of the Treebank-tokenised sentences (case kept, first
  minimum on ties); P = sum_s 1/(|s-r|+1) * matched(s, r) / sum_s ngrams(s); recall the same way
  from each reference date to its least-cost system date.
* ``date_f1``: precision and recall of the system's dates against the reference's.

``average`` combines timelines as news-tls does: the mean P and the mean R, then their F1.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

Timeline = list[tuple[date, list[str]]]

_NON_WORD = re.compile(r"[^a-z0-9-]")
_KEEP = re.compile(r"^[a-z0-9]")


@dataclass(frozen=True)
class PR:
    """A precision and a recall (their F1 is derived)."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # type: ignore[import-untyped]

    return frozenset(ENGLISH_STOP_WORDS) | frozenset("abcdefghijklmnopqrstuvwxyz")


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    from nltk.stem.porter import PorterStemmer  # type: ignore[import-untyped]

    return PorterStemmer(mode=PorterStemmer.ORIGINAL_ALGORITHM)


@lru_cache(maxsize=200_000)
def _stem(token: str) -> str:
    return str(_stemmer().stem(token)) if len(token) > 3 else token


@lru_cache(maxsize=1)
def _treebank():  # type: ignore[no-untyped-def]
    from nltk.tokenize import TreebankWordTokenizer  # type: ignore[import-untyped]

    return TreebankWordTokenizer()


@lru_cache(maxsize=100_000)
def treebank_tokens(sentence: str) -> tuple[str, ...]:
    """The sentence as the scorer hands it to tilse: NLTK Treebank tokens."""
    return tuple(" ".join(_treebank().tokenize(sentence)).split())


def rouge_tokens(text: str) -> list[str]:
    """ROUGE-1.5.5's tokens of a text under ``-m -s`` (see the module docstring)."""
    cleaned = _NON_WORD.sub(" ", text.lower().replace("-", " - "))
    stop = _stop_words()
    return [_stem(t) for t in cleaned.split() if t not in stop and _KEEP.match(t)]


@lru_cache(maxsize=100_000)
def _rouge_tokens_of(sentence: str) -> tuple[str, ...]:
    return tuple(rouge_tokens(" ".join(treebank_tokens(sentence))))


def _ngrams(sentences: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    tokens: list[str] = []
    for sentence in sentences:
        tokens.extend(_rouge_tokens_of(sentence))
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _matched(system: Counter[tuple[str, ...]], reference: Counter[tuple[str, ...]]) -> int:
    return sum(min(count, reference[gram]) for gram, count in system.items() if gram in reference)


def concat(system: Timeline, reference: Timeline, n: int) -> PR:
    """ROUGE-n of all system sentences against all reference sentences."""
    sys_grams = _ngrams([s for _, sents in sorted(system) for s in sents], n)
    ref_grams = _ngrams([s for _, sents in sorted(reference) for s in sents], n)
    hit = _matched(sys_grams, ref_grams)
    total_sys, total_ref = sum(sys_grams.values()), sum(ref_grams.values())
    return PR(hit / total_sys if total_sys else 0.0, hit / total_ref if total_ref else 0.0)


def _raw_counts(sentences: Sequence[str]) -> Counter[str]:
    return Counter(t for s in sentences for t in treebank_tokens(s))


def _approximate_rouge1(sys_counts: Counter[str], ref_counts: Counter[str]) -> float:
    """tilse's ``compute_rouge_approximation`` for one reference: unigram F1 on raw tokens."""
    match = sum(min(c, ref_counts[t]) for t, c in sys_counts.items())
    total_sys, total_ref = sum(sys_counts.values()), sum(ref_counts.values())
    precision = match / total_sys if total_sys else 0.0
    recall = match / total_ref if total_ref else 0.0
    return _f1(precision, recall)


def _least_cost(source: date, targets: list[date], content: list[float]) -> int:
    """Index of the target of least cost (the first on ties)."""
    best, best_cost = 0, float("inf")
    for index, (target, overlap) in enumerate(zip(targets, content)):
        cost = (1 - 1 / (abs((source - target).days) + 1)) * (1 - overlap)
        if cost < best_cost:
            best, best_cost = index, cost
    return best


def align_m1(system: Timeline, reference: Timeline, n: int) -> PR:
    """Alignment-based ROUGE-n, many-to-one ("align+ m:1" of Martschat & Markert 2017)."""
    sys_sorted, ref_sorted = sorted(system), sorted(reference)
    if not sys_sorted or not ref_sorted:
        return PR(0.0, 0.0)
    sys_dates = [d for d, _ in sys_sorted]
    ref_dates = [d for d, _ in ref_sorted]
    sys_raw = [_raw_counts(s) for _, s in sys_sorted]
    ref_raw = [_raw_counts(r) for _, r in ref_sorted]
    overlap = [[_approximate_rouge1(s, r) for r in ref_raw] for s in sys_raw]
    sys_grams = [_ngrams(s, n) for _, s in sys_sorted]
    ref_grams = [_ngrams(r, n) for _, r in ref_sorted]
    numerator = 0.0
    for i, day in enumerate(sys_dates):
        j = _least_cost(day, ref_dates, overlap[i])
        numerator += _matched(sys_grams[i], ref_grams[j]) / (abs((day - ref_dates[j]).days) + 1)
    denominator = sum(sum(g.values()) for g in sys_grams)
    precision = numerator / denominator if denominator else 0.0
    numerator = 0.0
    for j, day in enumerate(ref_dates):
        i = _least_cost(day, sys_dates, [row[j] for row in overlap])
        numerator += _matched(sys_grams[i], ref_grams[j]) / (abs((day - sys_dates[i]).days) + 1)
    denominator = sum(sum(g.values()) for g in ref_grams)
    recall = numerator / denominator if denominator else 0.0
    return PR(precision, recall)


def date_f1(system: Timeline, reference: Timeline) -> PR:
    """Precision and recall of the system's dates."""
    sys_dates = {d for d, _ in system}
    ref_dates = {d for d, _ in reference}
    shared = len(sys_dates & ref_dates)
    return PR(shared / len(sys_dates) if sys_dates else 0.0,
              shared / len(ref_dates) if ref_dates else 0.0)


METRICS = ("AR-1", "AR-2", "concat R-1", "concat R-2", "date F1")


def score(system: Timeline, reference: Timeline) -> dict[str, PR]:
    """Every metric of one system timeline against one reference timeline."""
    return {
        "AR-1": align_m1(system, reference, 1),
        "AR-2": align_m1(system, reference, 2),
        "concat R-1": concat(system, reference, 1),
        "concat R-2": concat(system, reference, 2),
        "date F1": date_f1(system, reference),
    }


def average(scores: Sequence[dict[str, PR]]) -> dict[str, float]:
    """F1 of the mean precision and the mean recall over timelines, per metric."""
    out: dict[str, float] = {}
    for metric in METRICS:
        values = [s[metric] for s in scores]
        if not values:
            out[metric] = 0.0
            continue
        precision = sum(v.precision for v in values) / len(values)
        recall = sum(v.recall for v in values) / len(values)
        out[metric] = _f1(precision, recall)
    return out
