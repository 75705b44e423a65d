"""Leave-one-topic-out tuning of ``data/timeline.json`` on the Timeline17 dev topics.

Two small grids, each run once over every timeline (a fold only picks among the results):

* the date weights, judged by date F1 of the top-T days by ``key_dates.day_scores`` (the days
  the timeline would show, short of the rare day without any sentence);
* the sentence rules, judged by AR-2 of the whole timeline under the packaged date weights.

For each held-out topic, the date weights and the sentence rules that score best on the other
three topics are put together and that topic's timelines are made with them; the figures over
all held-out topics are the cross-validated ones (news-tls averaging). ``--cv`` of
``benchmarks/timeline.py`` prints them beside the in-sample figures of the packaged constants,
and the constants each fold chose, so that the packaged ones can be checked against them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from timeline_metrics import METRICS, PR, Timeline, average, date_f1, score

from storyline.story.key_dates import DateWeights, KeyDateConstants, day_scores

DATE_GRID: dict[str, list[Any]] = {
    "later_references": [0.0, 0.5, 1.0],
    "later_days": [7, 14],
    "published": [0.0, 0.4],
    "published_next": [0.0, 0.2],
    "local_volume": [0.0, 0.2],
    "local_days": [3, 7],
}
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


def _date_only(task: Any, documents: list[Any], weights: DateWeights) -> Timeline:
    originals = [d for d in documents if d.annotations is not None and d.duplicate_of is None]
    scores = day_scores(originals, weights, start=task.start.isoformat(), end=task.end.isoformat())
    top = sorted(scores, key=lambda d: (-scores[d], d))[:task.dates]
    return [(date.fromisoformat(d), []) for d in top]


def _mean_f1(values: Sequence[PR]) -> float:
    precision = sum(v.precision for v in values) / len(values)
    recall = sum(v.recall for v in values) / len(values)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def leave_one_topic_out(tasks: Sequence[Any], documents: dict[str, list[Any]], run: Run,
                        truncate: Callable[[Timeline, int, int], Timeline]) -> dict[str, Any]:
    base = KeyDateConstants.packaged()
    topics = sorted({t.topic for t in tasks})
    date_results = []
    for option in _grid(DATE_GRID):
        weights = _with(base, dates=option).dates
        date_results.append((option, {t.name: date_f1(_date_only(t, documents[t.name], weights), t.reference)
                                      for t in tasks}))
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
        dates = max(date_results, key=lambda r: _mean_f1([r[1][n] for n in train]))[0]
        sentences = max(sentence_results, key=lambda r: _mean_f1([r[1][n] for n in train]))[0]
        constants = _with(base, dates=dates, sentences=sentences)
        for task in (t for t in tasks if t.topic == topic):
            per_task.append(score(truncate(run(task, constants), task.dates, task.sentences),
                                  task.reference))
        folds.append({"held out": topic, "dates": dates, "sentences": sentences})
    everything = [t.name for t in tasks]
    best_dates = max(date_results, key=lambda r: _mean_f1([r[1][n] for n in everything]))[0]
    best_sentences = max(sentence_results, key=lambda r: _mean_f1([r[1][n] for n in everything]))[0]
    figures = average(per_task)
    print("\nLeave-one-topic-out (constants chosen on the other three topics; "
          f"{len(_grid(DATE_GRID))} date options, {len(_grid(SENTENCE_GRID))} sentence options)")
    print("".join(f"{m:>12}" for m in METRICS))
    print("".join(f"{figures[m]:>12.3f}" for m in METRICS))
    for fold in folds:
        print(f"  held out {fold['held out']:<13} dates {fold['dates']}  sentences {fold['sentences']}")
    print(f"  chosen on all four topics: dates {best_dates}  sentences {best_sentences}")
    return {"figures": figures, "folds": folds,
            "all topics": {"dates": best_dates, "sentences": best_sentences}}
