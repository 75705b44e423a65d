"""Clustering metrics of the story-detection harness, from ``clustering/README.md``.

Both compare a gold labelling with a predicted one, given as two equally long sequences of
labels (one per document; only equality of labels matters). With n_ij the number of documents
in gold cluster i and predicted cluster j, a_i the gold sizes and b_j the predicted sizes:

* pairwise (Priberam's "standard" F1, micro over all document pairs):
  TP = sum C(n_ij, 2), TP+FP = sum C(b_j, 2), TP+FN = sum C(a_i, 2);
* BCubed (Amigo et al. 2009), per document d averaged over documents:
  P = |pred(d) & gold(d)| / |pred(d)|, R = |pred(d) & gold(d)| / |gold(d)|,
  and since every document of cell ij shares it, P = sum n_ij^2 / b_j / N, R = sum n_ij^2 / a_i / N.

F1 is the harmonic mean of P and R. A pairwise ratio with an empty denominator counts 0, except
that two labellings without any same-cluster pair (all singletons on both sides) agree fully.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float


def _pairs(count: int) -> int:
    return count * (count - 1) // 2


def harmonic(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _table(gold: Sequence[Hashable], pred: Sequence[Hashable]
           ) -> tuple[Counter[tuple[Hashable, Hashable]], Counter[Hashable], Counter[Hashable]]:
    """The contingency cells n_ij, the gold sizes a_i and the predicted sizes b_j."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels against {len(pred)} predicted")
    return Counter(zip(gold, pred)), Counter(gold), Counter(pred)


def pairwise_f1(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> Scores:
    """Pairwise precision, recall and F1 over all document pairs."""
    cells, gold_sizes, pred_sizes = _table(gold, pred)
    tp = sum(_pairs(n) for n in cells.values())
    predicted = sum(_pairs(n) for n in pred_sizes.values())
    actual = sum(_pairs(n) for n in gold_sizes.values())
    if predicted == 0 and actual == 0:
        return Scores(1.0, 1.0, 1.0)
    precision = tp / predicted if predicted else 0.0
    recall = tp / actual if actual else 0.0
    return Scores(precision, recall, harmonic(precision, recall))


def bcubed(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> Scores:
    """BCubed precision, recall and F1, averaged over documents."""
    cells, gold_sizes, pred_sizes = _table(gold, pred)
    if not cells:
        return Scores(0.0, 0.0, 0.0)
    total = len(gold)
    precision = sum(n * n / pred_sizes[j] for (_, j), n in cells.items()) / total
    recall = sum(n * n / gold_sizes[i] for (i, _), n in cells.items()) / total
    return Scores(precision, recall, harmonic(precision, recall))


def cluster_count(labels: Sequence[Hashable]) -> int:
    return len(set(labels))


def bcubed_by_item(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray]:
    """Each document's own BCubed precision and recall (``bcubed`` averages them)."""
    cells, gold_sizes, pred_sizes = _table(gold, pred)
    precision = np.array([cells[g, p] / pred_sizes[p] for g, p in zip(gold, pred)])
    recall = np.array([cells[g, p] / gold_sizes[g] for g, p in zip(gold, pred)])
    return precision, recall
