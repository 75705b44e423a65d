"""Where date selection loses on Timeline17 dev: candidate recall against ranking (issue 13).

``timeline_dates.py`` scores date rankers over the candidate days; this harness asks how far any
ranker over them could go, and whether the shortfall is in the candidates or in the ranking.

1. **Candidate recall.** Each reference date of each timeline falls in one of: named by a window
   document (a date expression the annotator resolves to that calendar day, anchored as
   ``story/date_ranker.py`` anchors them), split into named at least once with a month or a
   number and named only relatively ("on Tuesday", "yesterday", resolved against the
   publication day); a candidate only because a document was published on it; not a candidate.
   For the reference dates no document names, whether some window sentence writes the day out
   ("March 5", "5 March", "Mar. 5"): a miss of the resolver, against a day the text never
   names. Shares are means over the timelines of the share of their T dates. And a check of the
   relative resolution: of the bare weekdays ("on Tuesday"), by where the resolver put them
   (before, on, after the publication day), the share that land on a reference date, against
   the share a week the other way would (before or on: a week later; after: a week earlier).
2. **Ranking ceilings.** A logistic regression fitted on one timeline's own days and scored on
   them (in sample, next to no penalty): what the best linear score over the product's features
   (``date_ranker.FEATURES``) could reach if it were tuned to each timeline; beside it the
   leave-one-topic-out regression of ``timeline_dates.py`` and a random choice.
3. **Feature trials**, each leave-one-topic-out (trained on the other three topics, as the
   packaged ranker is judged): the product's features plus one family of further evidence
   computed here from the same annotations, and other learners on the product's features
   (gradient boosting, pairwise logistic regression, features standardised within each
   timeline). These are measurements, not product code. One family did lift the held-out
   figure, the documents naming a day weighed by how on-topic they are, and is now the
   product's ``on_topic`` (docs/benchmarks.md); the rest did not.

Usage: python benchmarks/timeline_ceiling.py [DATA] [--cache DIR] [--limit N] [--json FILE]
"""
from __future__ import annotations

import math
import os
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_argument_parser, finish  # noqa: E402
from timeline_dates import (  # noqa: E402
    DayTable, date_pr, dev_tables, news_tls_f1, print_row, top)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
ORACLE_C = 1e4  # next to no penalty: the in-sample fit should come as close to the timeline as it can
DATELINE_CHARS = 60  # a dateline ("Tuesday 4 January 2005 08.43 GMT") opens the first line
PAIRS_PER_TIMELINE = 3000
RECALL_CLASSES = ("named, with a month or a number", "named only relatively",
                  "published on only", "not a candidate")


def originals(documents: Sequence[Any]) -> list[Any]:
    return [d for d in documents if d.annotations is not None and d.duplicate_of is None]


def namings(document: Any) -> list[tuple[date, Any, int]]:
    """(day, naming, character offset) of every calendar day the document names."""
    from storyline.annotate.events import anchored_date
    from storyline.story.date_ranker import _EXPLICIT, day_of

    out = []
    for timex in document.annotations.timexes:
        value = anchored_date(timex, document.published)
        day = day_of(value) if value and len(value) == 10 else None
        if day is not None:
            out.append((day, bool(_EXPLICIT.search(timex.text)), timex.start))
    return out


# --- 1. candidate recall -------------------------------------------------------------------------

def written_out(day: date, sentences: Sequence[str]) -> bool:
    month = MONTHS[day.month - 1]
    forms = (rf"\b{month} {day.day}\b", rf"\b{day.day} {month}\b", rf"\b{month[:3]}\.? {day.day}\b")
    return any(re.search(form, sentence) for sentence in sentences for form in forms)


def recall_classes(table: DayTable, documents: Sequence[Any]) -> dict[str, Any]:
    """How each reference date of one timeline stands among the candidates."""
    explicit: dict[date, bool] = defaultdict(bool)
    for document in originals(documents):
        for day, is_explicit, _ in namings(document):
            explicit[day] |= is_explicit
    candidates = set(table.days)
    sentences = [s for article in table.task.articles for s in article.sentences]
    counts: Counter[str] = Counter()
    unnamed_written = 0
    for day, _ in table.task.reference:
        if day in explicit:
            counts[RECALL_CLASSES[0] if explicit[day] else RECALL_CLASSES[1]] += 1
            continue
        counts[RECALL_CLASSES[2] if day in candidates else RECALL_CLASSES[3]] += 1
        unnamed_written += written_out(day, sentences)
    total = table.task.dates
    shares = {name: counts[name] / total for name in RECALL_CLASSES}
    shares["not named, yet written out in a window sentence"] = unnamed_written / total
    return shares


def weekday_check(tables: Sequence[DayTable], documents: dict[str, list[Any]]) -> dict[str, list[int]]:
    """Bare weekdays by resolved side of publication: [namings, on a reference date, on one if
    moved a week the other way]."""
    from storyline.story.date_ranker import day_of

    weekdays = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
    found: dict[str, list[int]] = {side: [0, 0, 0] for side in ("before", "on", "after")}
    for table in tables:
        reference = {d for d, _ in table.task.reference}
        for document in originals(documents[table.task.name]):
            published = day_of(document.published)
            texts = {t.start: t.text.strip().lower() for t in document.annotations.timexes}
            for day, _, offset in namings(document):
                if published is None or texts.get(offset) not in weekdays:
                    continue
                gap = (day - published).days
                side = "after" if gap > 0 else "on" if gap == 0 else "before"
                moved = day - timedelta(days=7) if gap > 0 else day + timedelta(days=7)
                counts = found[side]
                counts[0] += 1
                counts[1] += day in reference
                counts[2] += moved in reference
    return found


# --- 3. further evidence, computed here --------------------------------------------------------

def extra_families(table: DayTable, documents: Sequence[Any]) -> dict[str, np.ndarray]:
    """Columns of further day evidence (log(1 + count) as the product's features), by family."""
    from storyline.story.date_ranker import day_of

    docs = originals(documents)
    naming: dict[date, set[int]] = defaultdict(set)
    no_dateline: dict[date, set[int]] = defaultdict(set)
    headline: dict[date, set[int]] = defaultdict(set)
    sentences: Counter[date] = Counter()
    for index, document in enumerate(docs):
        first_line = len(document.text.split("\n", 1)[0])
        published = day_of(document.published)
        seen: set[tuple[date, int]] = set()
        for day, is_explicit, offset in namings(document):
            naming[day].add(index)
            dateline = offset < min(first_line, DATELINE_CHARS) and is_explicit and day == published
            if not dateline:
                no_dateline[day].add(index)
            if offset < first_line and not dateline:
                headline[day].add(index)
            paragraph = document.text.count("\n\n", 0, offset)
            if (day, paragraph) not in seen:
                seen.add((day, paragraph))
                sentences[day] += 1

    def column(value: Callable[[date], float]) -> np.ndarray:
        return np.array([[value(day)] for day in table.days])

    refs = {day: math.log1p(len(naming[day])) for day in table.days}

    def peak(day: date) -> float:
        return refs[day] - max(math.log1p(len(naming[day + timedelta(days=o)])) for o in (-1, 1))

    return {
        "references without datelines": column(lambda d: math.log1p(len(no_dateline[d]))),
        "sentences naming the day": column(lambda d: math.log1p(sentences[d])),
        "headline namings (first line, not its dateline)": column(lambda d: math.log1p(len(headline[d]))),
        "neighbours' references (days +-1, +-2)": column(lambda d: math.log1p(sum(
            len(naming[d + timedelta(days=o)]) for o in (-2, -1, 1, 2)))),
        "references less the larger neighbour's (a peak)": column(peak),
    }


# --- learners, each leave-one-topic-out ----------------------------------------------------------

Scorer = Callable[[Sequence[DayTable], Callable[[DayTable], np.ndarray], DayTable], np.ndarray]


def _weights(tables: Sequence[DayTable]) -> np.ndarray:
    return np.concatenate([np.full(len(t.labels), 1.0 / max(1.0, t.labels.sum())) for t in tables])


def logistic(train: Sequence[DayTable], columns: Callable[[DayTable], np.ndarray], held: DayTable,
             strength: float = 1.0) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    model = LogisticRegression(C=strength, max_iter=5000).fit(
        np.vstack([columns(t) for t in train]), np.concatenate([t.labels for t in train]),
        sample_weight=_weights(train))
    return np.asarray(columns(held) @ model.coef_[0])


def boosting(train: Sequence[DayTable], columns: Callable[[DayTable], np.ndarray], held: DayTable) -> np.ndarray:
    from sklearn.ensemble import GradientBoostingClassifier  # type: ignore[import-untyped]

    model = GradientBoostingClassifier(n_estimators=100, max_depth=2, learning_rate=0.05,
                                       subsample=0.8, random_state=0).fit(
        np.vstack([columns(t) for t in train]), np.concatenate([t.labels for t in train]),
        sample_weight=_weights(train))
    return np.asarray(model.predict_proba(columns(held))[:, 1])


def pairwise(train: Sequence[DayTable], columns: Callable[[DayTable], np.ndarray], held: DayTable) -> np.ndarray:
    """Logistic regression on differences (a reference day against another candidate of the same
    timeline): it learns only the order within a timeline, never a level shared across them."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    differences = []
    for table in train:
        chosen, other = np.flatnonzero(table.labels == 1), np.flatnonzero(table.labels == 0)
        if len(chosen) and len(other):
            x = columns(table)
            differences.append(x[rng.choice(chosen, PAIRS_PER_TIMELINE)] - x[rng.choice(other, PAIRS_PER_TIMELINE)])
    stacked = np.vstack(differences)
    labels = np.concatenate([np.ones(len(stacked)), np.zeros(len(stacked))])
    model = LogisticRegression(C=0.01, fit_intercept=False, max_iter=5000).fit(
        np.vstack([stacked, -stacked]), labels)
    return np.asarray(columns(held) @ model.coef_[0])


def standardised(table: DayTable) -> np.ndarray:
    spread = table.features.std(axis=0)
    spread[spread == 0] = 1.0
    return np.asarray((table.features - table.features.mean(axis=0)) / spread)


def held_out_f1(tables: Sequence[DayTable], scorer: Scorer,
                columns: Callable[[DayTable], np.ndarray]) -> tuple[float, list[float]]:
    pairs = []
    for table in tables:
        train = [t for t in tables if t.task.topic != table.task.topic]
        pairs.append(date_pr(table, top(table, scorer(train, columns, table))))
    return news_tls_f1(pairs), [r for _, r in pairs]


def oracle_f1(tables: Sequence[DayTable]) -> tuple[float, list[float]]:
    """Each timeline ranked by a regression fitted on its own days (in sample)."""
    pairs = []
    for table in tables:
        if 0 < table.labels.sum() < len(table.labels):
            scores = logistic([table], lambda t: t.features, table, ORACLE_C)
        else:  # every candidate or none is a reference date: any order scores the same
            scores = np.zeros(len(table.days))
        pairs.append(date_pr(table, top(table, scores)))
    return news_tls_f1(pairs), [r for _, r in pairs]


# --- reporting ---------------------------------------------------------------------------------

def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    args, documents, tables = dev_tables(parser)
    results: dict[str, Any] = {"timelines": [t.task.name for t in tables]}

    print(f"{'1. reference dates (share of T, mean over timelines)':<78}{'share':>7}  per timeline")
    per = [recall_classes(t, documents[t.task.name]) for t in tables]
    for name in per[0]:
        values = [p[name] for p in per]
        results[name] = float(np.mean(values))
        print_row(f"  {name}", results[name], values)

    checks = weekday_check(tables, documents)
    results["bare weekdays: [namings, on a reference date, a week the other way]"] = checks
    for side, (count, hits, moved) in checks.items():
        print(f"  bare weekdays resolved {side:<6} publication: {count:>5}, on a reference date "
              f"{hits / max(1, count):.2f}, a week the other way {moved / max(1, count):.2f}")

    print(f"\n{'2. ranking (top T of the candidates)':<78}{'date F1':>7}")
    ceilings = {
        "linear score fitted on each timeline's own days (in sample: a ceiling)": oracle_f1(tables),
        "logistic regression, the product's features, leave-one-topic-out":
            held_out_f1(tables, logistic, lambda t: t.features),
        "random choice among the candidates (expected)":
            (float(np.mean([t.labels.sum() / len(t.days) for t in tables])),
             [float(t.labels.sum() / len(t.days)) for t in tables]),
    }
    for name, (figure, values) in ceilings.items():
        results[name] = figure
        print_row(f"  {name}", figure, values)

    print(f"\n{'3. trials, leave-one-topic-out':<78}{'date F1':>7}")
    extras = {t.task.name: extra_families(t, documents[t.task.name]) for t in tables}
    trials: dict[str, tuple[Scorer, Callable[[DayTable], np.ndarray]]] = {}
    for family in extras[tables[0].task.name]:
        trials[f"product's + {family}"] = (
            logistic, lambda t, f=family: np.hstack([t.features, extras[t.task.name][f]]))
    trials["product's + all five families"] = (
        logistic, lambda t: np.hstack([t.features, *extras[t.task.name].values()]))
    trials["gradient boosting (depth 2, 100 trees), product's"] = (boosting, lambda t: t.features)
    trials["pairwise logistic regression (within a timeline), product's"] = (pairwise, lambda t: t.features)
    trials["logistic regression, product's standardised within each timeline"] = (logistic, standardised)
    for name, (scorer, columns) in trials.items():
        figure, values = held_out_f1(tables, scorer, columns)
        results[name] = figure
        print_row(f"  {name}", figure, values)
    print("timelines: " + ", ".join(results["timelines"]))
    return finish(results, args.json_out, None)


if __name__ == "__main__":
    raise SystemExit(main())
