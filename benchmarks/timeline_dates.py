"""Date selection alone on Timeline17 dev: the learned day score, its folds and its rivals.

Issue 13 asks for a date ranker learned from journalists' timelines (DATEWISE, Gholipour
Ghalandari & Ifrim 2020). This harness trains and checks it. Every system ranks the same
candidate days (each day inside the window that a window document names or was published on,
with the features of ``story/date_ranker.py``) and keeps the top T; date F1 is scored as
``timeline.py`` scores it (mean precision and mean recall over the 11 timelines, then F1). Only
dates are chosen here, no sentences (``timeline.py --cv`` scores whole timelines).

* ``logistic regression``: a pointwise classifier of "the reference chose this day" over the
  features, each timeline's examples weighed by one over its number of reference dates (every
  timeline counts the same, as in the metric), trained on the other three topics' timelines for
  each held-out topic (leave one topic out). ``--write`` trains it on all four topics and
  writes the weights to ``data/timeline.json``: the packaged day score.
* ``+ neighbour damping``: choosing greedily, each choice multiplying the score of the days
  within ``DAMP_DAYS`` of it by ``DAMP_FACTOR`` (temporal diversity: a busy stretch should not
  take adjacent days). Measured, not packaged: it scored lower.
* the previous release's hand-weighted score (five of the features, weights from a grid), and a
  logistic regression over those five alone.

Diagnostics: the share of reference dates that are candidates at all (the ceiling on recall of
any ranker over these days), the date F1 a random choice among the candidates would expect, and
what forcing the window's two ends into the packaged choice would give. The protocol makes the
window run from a reference's first date to its last, so both ends are always right; a system
that used that would learn the benchmark, not the story, so it is a measurement only.

Usage: python benchmarks/timeline_dates.py [DATA] [--cache DIR] [--limit N] [--json FILE] [--write]
"""
from __future__ import annotations

import json
import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_argument_parser, finish  # noqa: E402
from timeline import DEFAULT_CACHE, AnnotationCache, Task, load_tasks  # noqa: E402

DAMP_DAYS, DAMP_FACTOR = 1, 0.85
L2_SWEEP = (0.1, 0.3, 1.0, 3.0, 10.0)  # C of the logistic regression; the packaged weights use 1


@dataclass
class DayTable:
    """One timeline's candidate days, their features and whether the reference picked them."""

    task: Task
    days: list[date]
    features: np.ndarray
    labels: np.ndarray
    packaged: np.ndarray


def day_table(task: Task, documents: list[Any]) -> DayTable:
    """The candidate days of one timeline's window with the product's features
    (``story/date_ranker.py``) and the packaged score."""
    from storyline.story.date_ranker import FEATURES, day_features
    from storyline.story.key_dates import KeyDateConstants

    ranker = KeyDateConstants.packaged().dates
    originals = [d for d in documents if d.annotations is not None and d.duplicate_of is None]
    found = day_features(originals, ranker, start=task.start.isoformat(), end=task.end.isoformat())
    days = sorted(found)
    features = np.array([[found[d][name] for name in FEATURES] for d in days], dtype=float)
    reference = {d.isoformat() for d, _ in task.reference}
    weights = np.array([ranker.weights.get(name, 0.0) for name in FEATURES])
    return DayTable(task, [date.fromisoformat(d) for d in days], features,
                    np.array([d in reference for d in days], dtype=float), features @ weights)


# --- choosing and scoring -----------------------------------------------------------------------

def top(table: DayTable, scores: np.ndarray) -> list[date]:
    """The T best-scored days (ties: the earlier day, as ``key_dates`` breaks them)."""
    order = sorted(range(len(table.days)), key=lambda i: (-scores[i], table.days[i]))
    return [table.days[i] for i in order[:table.task.dates]]


def damped(table: DayTable, scores: np.ndarray) -> list[date]:
    """Greedy top T, each choice damping the days within ``DAMP_DAYS`` of it."""
    left = {day: float(s) - float(scores.min()) + 1e-3 for day, s in zip(table.days, scores)}
    chosen: list[date] = []
    while left and len(chosen) < table.task.dates:
        best = min(left, key=lambda d: (-left[d], d))
        chosen.append(best)
        del left[best]
        for offset in range(-DAMP_DAYS, DAMP_DAYS + 1):
            near = best + timedelta(days=offset)
            if near in left:
                left[near] *= DAMP_FACTOR
    return chosen


def date_pr(table: DayTable, chosen: Sequence[date]) -> tuple[float, float]:
    reference = {d for d, _ in table.task.reference}
    hits = len(set(chosen) & reference)
    return (hits / len(chosen) if chosen else 0.0), hits / len(reference)


def news_tls_f1(pairs: Sequence[tuple[float, float]]) -> float:
    precision = sum(p for p, _ in pairs) / len(pairs)
    recall = sum(r for _, r in pairs) / len(pairs)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _columns(names: Sequence[str]) -> list[int]:
    from storyline.story.date_ranker import FEATURES

    return [FEATURES.index(n) for n in names]


def fit(tables: Sequence[DayTable], names: Sequence[str], strength: float = 1.0) -> Any:
    """Logistic regression of "a reference date" on the features, each timeline weighed alike
    (``strength``: scikit-learn's C, the inverse of the L2 penalty)."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    columns = _columns(names)
    features = np.vstack([t.features[:, columns] for t in tables])
    labels = np.concatenate([t.labels for t in tables])
    weights = np.concatenate([np.full(len(t.labels), 1.0 / max(1.0, t.labels.sum())) for t in tables])
    return LogisticRegression(C=strength, max_iter=5000).fit(features, labels, sample_weight=weights)


Ranker = Callable[[DayTable, Sequence[DayTable]], list[date]]


def logistic(names: Sequence[str], strength: float = 1.0) -> Ranker:
    def rank(table: DayTable, train: Sequence[DayTable]) -> list[date]:
        model = fit(train, names, strength)
        return top(table, model.decision_function(table.features[:, _columns(names)]))
    return rank


def damped_logistic(names: Sequence[str]) -> Ranker:
    def rank(table: DayTable, train: Sequence[DayTable]) -> list[date]:
        model = fit(train, names)
        return damped(table, model.decision_function(table.features[:, _columns(names)]))
    return rank


def evaluate(tables: Sequence[DayTable], rank: Ranker, held_out: bool) -> list[tuple[float, float]]:
    """Each timeline ranked by a model trained on the other topics (``held_out``) or on all."""
    out = []
    for table in tables:
        train = [t for t in tables if t.task.topic != table.task.topic] if held_out else list(tables)
        out.append(date_pr(table, rank(table, train)))
    return out


# The day score of the previous release (hand-made form, weights from a grid on all four topics).
HAND_WEIGHTS = {"references": 1.0, "later": 0.5, "published": 0.4, "published_next": 0.2, "local": -0.2}
HAND_FIVE = tuple(HAND_WEIGHTS)
DATA_FILE = Path(__file__).resolve().parents[1] / "src" / "storyline" / "data" / "timeline.json"


def _with_window_ends(table: DayTable) -> np.ndarray:
    ends = {table.task.start, table.task.end}
    return np.array([np.inf if day in ends else score for day, score in zip(table.days, table.packaged)])


def learned_weights(tables: Sequence[DayTable]) -> dict[str, float]:
    """The packaged weights: logistic regression on every feature, trained on ``tables``."""
    from storyline.story.date_ranker import FEATURES

    model = fit(tables, FEATURES)
    return {name: round(float(w), 4) for name, w in zip(FEATURES, model.coef_[0])}


def write_weights(weights: dict[str, float]) -> None:
    data = json.loads(DATA_FILE.read_text("utf-8"))
    data["dates"]["weights"] = weights
    DATA_FILE.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


def systems() -> dict[str, tuple[Ranker, bool]]:
    """Each ranker by name, with whether it is scored leaving the topic out."""
    from storyline.story.date_ranker import FEATURES

    hand = np.array([HAND_WEIGHTS.get(name, 0.0) for name in FEATURES])
    return {
        "packaged (learned) day score, in-sample": (lambda t, _: top(t, t.packaged), False),
        f"logistic regression, all {len(FEATURES)} features, leave-one-topic-out":
            (logistic(FEATURES), True),
        "logistic regression, all, + neighbour damping, leave-one-topic-out":
            (damped_logistic(FEATURES), True),
        "previous release's hand-weighted score (grid on all topics)":
            (lambda t, _: top(t, t.features @ hand), False),
        "logistic regression, its five features, leave-one-topic-out": (logistic(HAND_FIVE), True),
    }


def _line(name: str, figure: float, per_timeline: Sequence[float]) -> None:
    print(f"{name:<72}{figure:>9.3f}  " + " ".join(f"{r:.2f}" for r in per_timeline))


def print_row(name: str, figure: float, per_timeline: Sequence[float]) -> None:
    """One line of the ceiling and content tables: the figure, then each timeline's."""
    print(f"{name:<78}{figure:>7.3f}  " + " ".join(f"{r:.2f}" for r in per_timeline))


def dev_tables(parser: argparse.ArgumentParser) -> tuple[argparse.Namespace, dict[str, list[Any]],
                                                         list[DayTable]]:
    """The date benchmarks' common start: ``--cache`` added to ``parser``, the arguments read,
    and each dev timeline's annotated articles (by timeline) and day table."""
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="annotation cache folder")
    args = parser.parse_args()
    cache = AnnotationCache(args.cache)
    tasks = load_tasks(args.data, args.limit)
    documents = {task.name: cache.documents(task) for task in tasks}
    return args, documents, [day_table(task, documents[task.name]) for task in tasks]


def diagnostics(tables: Sequence[DayTable]) -> dict[str, Any]:
    """The C sweep, the recall ceiling, chance, and the protocol's window ends."""
    from storyline.story.date_ranker import FEATURES

    sweep = {c: news_tls_f1(evaluate(tables, logistic(FEATURES, c), True)) for c in L2_SWEEP}
    print(f"{'logistic regression, all features, leave-one-topic-out, by C':<72}"
          + "  ".join(f"C={c:g}: {f1:.3f}" for c, f1 in sweep.items()))
    coverage = [float(t.labels.sum() / t.task.dates) for t in tables]
    chance = [float(t.labels.sum() / len(t.days)) for t in tables]
    ends = [r for _, r in evaluate(tables, lambda t, _: top(t, _with_window_ends(t)), False)]
    print()
    _line("reference dates among the candidates (recall ceiling)", float(np.mean(coverage)), coverage)
    _line("random choice among the candidates (expected date F1)", float(np.mean(chance)), chance)
    _line("packaged, window ends forced in (protocol artefact, not a system)", float(np.mean(ends)), ends)
    print("timelines: " + ", ".join(t.task.name for t in tables))
    return {"leave-one-topic-out by C": sweep,
            "reference dates among the candidates": float(np.mean(coverage)),
            "random choice among the candidates": float(np.mean(chance)),
            "packaged, window ends forced in (protocol artefact)": float(np.mean(ends))}


def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help="write the weights learned on all timelines to data/timeline.json")
    args, _, tables = dev_tables(parser)
    results: dict[str, Any] = {}
    print(f"{'system':<72}{'date F1':>9}  per timeline")
    for name, (rank, held_out) in systems().items():
        pairs = evaluate(tables, rank, held_out)
        results[name] = {"date F1": news_tls_f1(pairs), "per timeline": [r for _, r in pairs]}
        _line(name, results[name]["date F1"], results[name]["per timeline"])
    results.update(diagnostics(tables))
    weights = learned_weights(tables)
    results["weights learned on all timelines"] = weights
    print("\nweights learned on all timelines: "
          + ", ".join(f"{n} {w:+.3f}" for n, w in weights.items()))
    if args.write:
        write_weights(weights)
        print(f"written to {DATA_FILE}")
    return finish(results, args.json_out, None)


if __name__ == "__main__":
    raise SystemExit(main())
