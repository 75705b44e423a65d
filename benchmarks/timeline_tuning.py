"""Leave-one-topic-out fitting of ``data/timeline.json`` on the Timeline17 dev topics.

* The date weights are learned: for each held-out topic, the logistic regression of
  ``timeline_dates.py`` is trained on the other three topics' timelines (which days their
  references chose), and its weights score the held-out topic's days.
* The sentence rules come from a small grid, run once over every timeline and judged by AR-2 of
  the whole timeline under the packaged date weights; a fold picks the best on the other three.

Each held-out topic's timelines are made with its fold's weights and rules; the figures over all
held-out topics are the cross-validated ones (news-tls averaging). ``--cv`` of
``benchmarks/timeline.py`` prints them beside the in-sample figures of the packaged constants,
and what each fold chose, so that the packaged ones can be checked against them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from timeline_dates import day_table, learned_weights
from timeline_metrics import METRICS, PR, Timeline, average, score

from storyline.story.key_dates import KeyDateConstants

# The embedding blend is not in the grid: every fold of an earlier run with it (0 / 0.5) chose
# 0, and embedding every candidate made the run three times as long.
SENTENCE_GRID: dict[str, list[Any]] = {
    "fresh": [0.0, 0.3, 1.0],
    "lead": [0.0, 0.5, 0.8],
    "scheduled": [0.7, 1.0],
}

Run = Callable[[Any, KeyDateConstants], Timeline]


def _grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def _with(base: KeyDateConstants, dates: dict[str, Any] | None = None,
          sentences: dict[str, Any] | None = None) -> KeyDateConstants:
    data = base.to_dict()
    data["dates"].update(dates or {})
    data["sentences"].update(sentences or {})
    return KeyDateConstants.from_dict(data)


def _mean_f1(values: Sequence[PR]) -> float:
    precision = sum(v.precision for v in values) / len(values)
    recall = sum(v.recall for v in values) / len(values)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def leave_one_topic_out(tasks: Sequence[Any], documents: dict[str, list[Any]], run: Run,
                        truncate: Callable[[Timeline, int, int], Timeline]) -> dict[str, Any]:
    base = KeyDateConstants.packaged()
    topics = sorted({t.topic for t in tasks})
    tables = {t.name: day_table(t, documents[t.name]) for t in tasks}
    sentence_results = []
    for option in _grid(SENTENCE_GRID):
        constants = _with(base, sentences=option)
        sentence_results.append((option, {
            t.name: score(truncate(run(t, constants), t.dates, t.sentences), t.reference)["AR-2"]
            for t in tasks}))
    per_task: list[dict[str, PR]] = []
    folds = []
    for topic in topics:
        train = [t.name for t in tasks if t.topic != topic]
        weights = learned_weights([tables[n] for n in train])
        sentences = max(sentence_results, key=lambda r: _mean_f1([r[1][n] for n in train]))[0]
        constants = _with(base, dates={"weights": weights}, sentences=sentences)
        for task in (t for t in tasks if t.topic == topic):
            per_task.append(score(truncate(run(task, constants), task.dates, task.sentences),
                                  task.reference))
        folds.append({"held out": topic, "date weights": weights, "sentences": sentences})
    everything = [t.name for t in tasks]
    best_sentences = max(sentence_results, key=lambda r: _mean_f1([r[1][n] for n in everything]))[0]
    figures = average(per_task)
    print("\nLeave-one-topic-out (date weights learned and sentence rules chosen on the other three "
          f"topics; {len(_grid(SENTENCE_GRID))} sentence options)")
    print("".join(f"{m:>12}" for m in METRICS))
    print("".join(f"{figures[m]:>12.3f}" for m in METRICS))
    for fold in folds:
        top = sorted(fold["date weights"].items(), key=lambda kv: -abs(kv[1]))[:4]
        print(f"  held out {fold['held out']:<13} sentences {fold['sentences']}  largest date weights "
              + ", ".join(f"{n} {w:+.2f}" for n, w in top))
    print(f"  chosen on all four topics: sentences {best_sentences} "
          f"(date weights: benchmarks/timeline_dates.py --write)")
    return {"figures": figures, "folds": folds, "all topics": {"sentences": best_sentences}}
