"""The clustering metrics of benchmarks/stories.py (benchmarks/clustering_metrics.py) on labellings
small enough to score by hand, and the harness's average-link baseline on a tiny matrix."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from clustering_metrics import Scores, bcubed, cluster_count, pairwise_f1  # noqa: E402


def close(scores: Scores, precision: float, recall: float, f1: float) -> bool:
    return (scores.precision, scores.recall, scores.f1) == pytest.approx((precision, recall, f1))


def test_a_perfect_clustering_scores_one_whatever_the_label_names() -> None:
    gold = ["a", "a", "b", "c", "c", "c"]
    pred = [7, 7, 3, 0, 0, 0]
    assert close(pairwise_f1(gold, pred), 1.0, 1.0, 1.0)
    assert close(bcubed(gold, pred), 1.0, 1.0, 1.0)


def test_all_in_one_cluster() -> None:
    # gold {a,a} {b,b,b}; one predicted cluster of 5.
    # pairwise: TP = C(2,2) + C(3,2) = 4, TP+FP = C(5,2) = 10, TP+FN = 4 -> P 0.4, R 1, F1 4/7.
    # BCubed P: the two a's score 2/5 each, the three b's 3/5 each -> (4/5 + 9/5) / 5 = 13/25; R 1.
    gold = ["a", "a", "b", "b", "b"]
    pred = [0] * 5
    assert close(pairwise_f1(gold, pred), 0.4, 1.0, 4 / 7)
    assert close(bcubed(gold, pred), 13 / 25, 1.0, 13 / 19)


def test_all_singletons() -> None:
    # No predicted pair: pairwise P counts 0 (empty denominator), R 0.
    # BCubed P 1; R: the a's 1/2 each, the b's 1/3 each -> (1 + 1) / 5 = 2/5; F1 = 0.8 / 1.4 = 4/7.
    gold = ["a", "a", "b", "b", "b"]
    pred = list(range(5))
    assert close(pairwise_f1(gold, pred), 0.0, 0.0, 0.0)
    assert close(bcubed(gold, pred), 1.0, 2 / 5, 4 / 7)


def test_singletons_on_both_sides_agree_fully() -> None:
    assert close(pairwise_f1(["a", "b", "c"], [0, 1, 2]), 1.0, 1.0, 1.0)
    assert close(bcubed(["a", "b", "c"], [0, 1, 2]), 1.0, 1.0, 1.0)


def test_a_worked_example() -> None:
    # gold:  a a a a b b      cells: (a,1) = 3, (a,2) = 1, (b,2) = 2
    # pred:  1 1 1 2 2 2      gold sizes a 4, b 2; predicted sizes 1: 3, 2: 3
    # pairwise: TP = C(3,2) + C(1,2) + C(2,2) = 3 + 0 + 1 = 4
    #           TP+FP = C(3,2) + C(3,2) = 6, TP+FN = C(4,2) + C(2,2) = 7
    #           P = 4/6 = 2/3, R = 4/7, F1 = 2 (2/3)(4/7) / (2/3 + 4/7) = (16/21) / (26/21) = 8/13
    # BCubed P: the three (a,1) docs 3/3 each, the (a,2) doc 1/3, the two (b,2) docs 2/3 each
    #           -> (3 + 1/3 + 4/3) / 6 = 7/9
    # BCubed R: the (a,1) docs 3/4 each, the (a,2) doc 1/4, the (b,2) docs 2/2 each
    #           -> (9/4 + 1/4 + 2) / 6 = 3/4;  F1 = 2 (7/9)(3/4) / (7/9 + 3/4) = 42/55
    gold = ["a", "a", "a", "a", "b", "b"]
    pred = [1, 1, 1, 2, 2, 2]
    assert close(pairwise_f1(gold, pred), 2 / 3, 4 / 7, 8 / 13)
    assert close(bcubed(gold, pred), 7 / 9, 3 / 4, 42 / 55)
    assert cluster_count(pred) == 2 and cluster_count(gold) == 2


def test_labellings_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError):
        bcubed(["a", "b"], [0])
    with pytest.raises(ValueError):
        pairwise_f1(["a"], [0, 1])


def test_average_link_merges_at_the_mean_of_the_cross_similarities() -> None:
    import stories  # benchmarks/stories.py

    # {0,1} at 0.9 and {2,3} at 0.8 first; then the two pairs at the mean of their four cross
    # similarities, (0.5 + 0.1 + 0.3 + 0.1) / 4 = 0.25, i.e. distance 0.75 (single link: 0.5).
    similarity = np.array([
        [1.0, 0.9, 0.5, 0.1],
        [0.9, 1.0, 0.3, 0.1],
        [0.5, 0.3, 1.0, 0.8],
        [0.1, 0.1, 0.8, 1.0],
    ])
    merges, distances = stories.average_link(similarity)
    assert merges[:2] == [(0, 1), (2, 3)]
    assert distances == pytest.approx([0.1, 0.2, 0.75])
    assert stories.cut(4, merges, distances, 0.5) == [0, 0, 1, 1]
    assert stories.cut(4, merges, distances, 0.75) == [0, 0, 1, 1]  # merges strictly below
    assert stories.cut(4, merges, distances, 0.8) == [0, 0, 0, 0]
    assert stories.cut(4, merges, distances, 0.05) == [0, 1, 2, 3]
