"""Date selection on Timeline17 dev, second round of trials: what the naming sentences say, and other learners.

``timeline_ceiling.py`` found that the packaged date ranker (``story/date_ranker.py``) sits at a
plateau near 0.47 date F1 whatever further *counts* are added. Issue 13 asked next for evidence
from the content of the sentences that name a day, and for the DATEWISE protocol's own choices
(Gholipour Ghalandari & Ifrim 2020, whose paper and code were read for this). Each trial below
is scored leave-one-topic-out, as the packaged ranker is judged: trained on three topics' days,
the fourth topic's timelines ranked and their top T kept. These are measurements, not product
code; the product takes a family only when it lifts this figure beyond run-to-run noise.

1. **Sentence-content families**, each one column beside the product's features (log(1 + x)):

   * ``sentence topicality``: over the sentences naming the day, their TF-IDF cosine to the
     centroid of the window's documents (the product's ``on_topic`` weighs whole documents);
   * ``central-word sentences``: sentences naming the day that hold one of the five words most
     central to the window (a stand-in for the topic keywords DATEWISE's summariser requires;
     the data's ``keywords.json`` holds only the folder's prefix);
   * ``central-name sentences``: sentences naming the day that hold one of the three capitalised
     names most documents use (the story's actors; the lighter annotation has no entities);
   * ``anchor namings``: namings right after "since", "until", "before", "after", "by",
     "from", "through" (a day used as background, not reported);
   * ``event-verb sentences``: sentences naming the day with a past-tense verb of a reported
     event ("killed", "announced", "resigned", ...);
   * ``first date of a sentence``: sentences whose first calendar-day date is the day
     (DATEWISE dates a sentence by its first date only);
   * ``naming spread``: days between the first and the last publication naming it;
   * ``references against the week's volume``: references less log(1 + documents published
     within a week either side) (a day named in a quiet stretch);
   * ``days of the week named more``: how many days within a week either side have more
     references (a local peak);
   * ``publication-day topicality``: the summed topicality of the documents published on it;
   * ``publication-day novelty``: of the documents published on it, the greatest distance
     (1 - cosine) to everything published in the seven days before (a new story);
   * with ``--embeddings`` also ``sentence-embedding topicality``: the naming sentences'
     sentence-embedding cosine (the product's MiniLM) to the mean of the window's naming
     sentences, summed (and, a second row, averaged) per day (minutes on a CPU).

0. **Two checks**: the product's ``references`` alone and the mention-count baseline's pattern
   count (``timeline_baselines.mentioned_days``, sentences naming the day) alone, each taking the
   top T of the same candidates (is the extraction of mentions the gap?); and in-sample fits
   (trained and scored on all four topics) of the product's features, of them with every
   section-1 family, and of the directly tuned weights (does a family add information at all?).

2. **Other learners and scalings** on the product's features: the features of each timeline
   scaled as DATEWISE scales them (each column of raw counts to unit L2 norm), counts per 300
   documents of the window, a listwise model (per timeline, a softmax over its candidates
   fitted to the reference days), the logistic regression's weights then tuned directly on the
   training topics' top-T date F1 (coordinate ascent), twenty bootstrap fits averaged, the
   features times the timeline's density (log T / candidates), and DATEWISE's skipping of dates
   without a keyphrase sentence imitated: the regression's choice with the named days whose
   most on-topic naming sentence (TF-IDF cosine to the window's centroid) is in the bottom 10 or
   20 % of the timeline's named days passed over.

Usage: python benchmarks/timeline_content.py [DATA] [--cache DIR] [--limit N] [--json FILE] [--embeddings]
"""
from __future__ import annotations

import bisect
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
from timeline_ceiling import _weights, held_out_f1, logistic, originals  # noqa: E402
from timeline_dates import (  # noqa: E402
    DayTable, date_pr, dev_tables, news_tls_f1, print_row, top)

ANCHOR = re.compile(r"(?i)\b(?:since|until|till|before|after|by|from|through)\s*$")
EVENT_VERB = re.compile(r"(?i)\b(?:killed|died|announced|began|started|launched|resigned|approved|"
                        r"passed|signed|attacked|exploded|sank|arrested|ruled|declared|voted|captured|"
                        r"released|elected|charged|sentenced|ordered|agreed|collapsed)\b")
NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]{2,}")  # a capitalised word inside a sentence
CENTRAL_WORDS, CENTRAL_NAMES, WEEK, NOVELTY_DAYS = 5, 3, 7, 7
SCALE = 10.0  # cosines are well under 1: as the product's on_topic, scaled before the log
Vector = dict[str, float]


def _unit(vector: Vector) -> Vector:
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {k: v / norm for k, v in vector.items()}


def _cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


class Window:
    """TF-IDF over one timeline's window documents: a vector per text and the centroid."""

    def __init__(self, documents: Sequence[Any]) -> None:
        from storyline.story.timeline import content_words

        self.words = content_words
        bags = [content_words(d.text) for d in documents]
        frequency = Counter(w for bag in bags for w in bag)
        self.idf = {w: math.log((1 + len(bags)) / (1 + c)) + 1.0 for w, c in frequency.items() if c > 1}
        self.vectors = [self.vector(d.text) for d in documents]
        centroid: Vector = defaultdict(float)
        for vector in self.vectors:
            for word, weight in vector.items():
                centroid[word] += weight
        self.centroid = _unit(centroid)
        # ties broken by the word: a set's order changes with the interpreter's hash seed
        self.central = set(sorted(self.centroid, key=lambda w: (-self.centroid[w], w))[:CENTRAL_WORDS])

    def vector(self, text: str) -> Vector:
        return _unit({w: self.idf[w] for w in self.words(text) if w in self.idf})


def _sentence_namings(document: Any) -> list[tuple[date, int, int, str]]:
    """(day, sentence index, offset, sentence text) of every calendar-day naming."""
    from storyline.annotate.events import anchored_date
    from storyline.story.date_ranker import day_of

    sentences = document.annotations.sentences
    starts = [s.start for s in sentences]
    out = []
    for timex in sorted(document.annotations.timexes, key=lambda t: t.start):
        value = anchored_date(timex, document.published)
        day = day_of(value) if value and len(value) == 10 else None
        index = bisect.bisect_right(starts, timex.start) - 1
        if day is not None and index >= 0:
            out.append((day, index, timex.start, sentences[index].text))
    return out


def content_families(table: DayTable, documents: Sequence[Any]) -> dict[str, np.ndarray]:
    """The section-1 columns of one timeline's candidate days."""
    from storyline.story.date_ranker import day_of

    docs = originals(documents)
    window = Window(docs)
    names = Counter(n for d in docs for n in set(NAME.findall(d.text)))
    central_names = set(sorted(names, key=lambda n: (-names[n], n))[:CENTRAL_NAMES])
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    naming_publications: dict[date, list[date]] = defaultdict(list)
    for document in docs:
        published = day_of(document.published)
        seen: set[tuple[date, int]] = set()
        first_of_sentence: dict[int, date] = {}
        for day, index, offset, text in _sentence_namings(document):
            first_of_sentence.setdefault(index, day)
            counts[day]["anchor"] += bool(ANCHOR.search(document.text[max(0, offset - 15):offset]))
            if (day, index) in seen:
                continue
            seen.add((day, index))
            words = window.words(text)
            counts[day]["topicality"] += _cosine(window.vector(text), window.centroid)
            counts[day]["central"] += bool(words & window.central)
            counts[day]["names"] += bool(set(NAME.findall(text)) & central_names)
            counts[day]["event verb"] += bool(EVENT_VERB.search(text))
            if published is not None:
                naming_publications[day].append(published)
        for day in first_of_sentence.values():
            counts[day]["first"] += 1
    published_on = _by_publication(docs)
    topicality = [_cosine(v, window.centroid) for v in window.vectors]
    novelty = _novelty(published_on, window.vectors)
    references = {d: float(v) for d, v in zip(table.days, np.expm1(_column(table, "references")))}

    def spread(day: date) -> float:
        seen = naming_publications.get(day, [])
        return float((max(seen) - min(seen)).days) if seen else 0.0

    def week(day: date) -> list[date]:
        return [day + timedelta(days=o) for o in range(-WEEK, WEEK + 1) if o]

    log = math.log1p
    columns: dict[str, Callable[[date], float]] = {
        "sentence topicality": lambda d: log(SCALE * counts[d]["topicality"]),
        "central-word sentences": lambda d: log(counts[d]["central"]),
        "central-name sentences": lambda d: log(counts[d]["names"]),
        "anchor namings": lambda d: log(counts[d]["anchor"]),
        "event-verb sentences": lambda d: log(counts[d]["event verb"]),
        "first date of a sentence": lambda d: log(counts[d]["first"]),
        "naming spread (days)": lambda d: log(spread(d)),
        "references against the week's volume": lambda d: log(references[d]) - log(
            sum(len(published_on.get(n, [])) for n in [d, *week(d)])),
        "days of the week named more": lambda d: log(sum(
            references.get(n, 0.0) > references[d] for n in week(d))),
        "publication-day topicality": lambda d: log(SCALE * sum(topicality[i] for i in published_on.get(d, []))),
        "publication-day novelty": lambda d: novelty.get(d, 0.0),
    }
    return {name: np.array([[value(d)] for d in table.days]) for name, value in columns.items()}


def _column(table: DayTable, name: str) -> np.ndarray:
    from storyline.story.date_ranker import FEATURES

    return np.asarray(table.features[:, FEATURES.index(name)])


def _by_publication(documents: Sequence[Any]) -> dict[date, list[int]]:
    from storyline.story.date_ranker import day_of

    out: dict[date, list[int]] = defaultdict(list)
    for index, document in enumerate(documents):
        day = day_of(document.published)
        if day is not None:
            out[day].append(index)
    return out


def _novelty(published_on: dict[date, list[int]], vectors: Sequence[Vector]) -> dict[date, float]:
    out = {}
    for day, indices in published_on.items():
        before = [j for o in range(1, NOVELTY_DAYS + 1) for j in published_on.get(day - timedelta(days=o), [])]
        out[day] = max(1.0 - max((_cosine(vectors[i], vectors[j]) for j in before), default=0.0)
                       for i in indices)
    return out


def embedding_families(tables: Sequence[DayTable], documents: dict[str, list[Any]]) -> dict[str, dict[str, np.ndarray]]:
    """Per timeline, the sentence-embedding topicality columns (sum and mean over the naming
    sentences of their cosine to the mean naming sentence of the window)."""
    from storyline.annotate.embeddings import embed

    namings = {}
    for table in tables:
        found: dict[tuple[date, str | None, int], str] = {}
        for document in originals(documents[table.task.name]):
            for day, index, _, text in _sentence_namings(document):
                found.setdefault((day, document.id, index), text)
        namings[table.task.name] = [(day, text) for (day, _, _), text in found.items()]
    texts = sorted({text for rows in namings.values() for _, text in rows})
    vectors = np.asarray(embed(texts), dtype=float)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    row = {text: i for i, text in enumerate(texts)}
    out = {}
    for table in tables:
        rows = namings[table.task.name]
        matrix = vectors[[row[text] for _, text in rows]]
        centre = matrix.mean(axis=0)
        cosines = matrix @ (centre / max(float(np.linalg.norm(centre)), 1e-12))
        by_day: dict[date, list[float]] = defaultdict(list)
        for (day, _), cosine in zip(rows, cosines):
            by_day[day].append(float(cosine))
        out[table.task.name] = {
            "sentence-embedding topicality (sum)": np.array(
                [[math.log1p(SCALE * sum(by_day.get(d, [])))] for d in table.days]),
            "sentence-embedding topicality (mean)": np.array(
                [[float(np.mean(by_day[d])) if d in by_day else 0.0] for d in table.days]),
        }
    return out


# --- section 2: scalings and learners ----------------------------------------------------------

def _raw_counts(table: DayTable) -> np.ndarray:
    """The product's features back to counts (later_share, a difference of logs, exponentiated)."""
    from storyline.story.date_ranker import FEATURES

    raw = np.expm1(table.features)
    share = FEATURES.index("later_share")
    raw[:, share] = np.exp(table.features[:, share])
    return raw


def datewise_scaled(table: DayTable) -> np.ndarray:
    raw = _raw_counts(table)
    return raw / np.maximum(np.linalg.norm(raw, axis=0), 1e-12)


def per_300_documents(table: DayTable) -> np.ndarray:
    from storyline.story.date_ranker import FEATURES

    scaled = np.log1p(_raw_counts(table) * 300.0 / max(1, len(table.task.articles)))
    share = FEATURES.index("later_share")
    scaled[:, share] = table.features[:, share]
    return scaled


def with_density(table: DayTable) -> np.ndarray:
    density = math.log(table.task.dates / len(table.days))
    return np.hstack([table.features, table.features * density])


def listwise(train: Sequence[DayTable], columns: Callable[[DayTable], np.ndarray], held: DayTable,
             penalty: float = 1.0) -> np.ndarray:
    """Per training timeline a softmax over its candidates; the mean log-probability of its
    reference days maximised (L2 ``penalty``): only the order within a timeline is learned."""
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    data = [(columns(t), t.labels) for t in train if t.labels.sum()]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = penalty * float(w @ w), 2 * penalty * w
        for x, y in data:
            scores = x @ w
            top_score = scores.max()
            p = np.exp(scores - top_score)
            z = p.sum()
            p /= z
            value -= float(y @ scores - y.sum() * (top_score + math.log(z))) / y.sum()
            gradient = gradient - (y @ x - y.sum() * (p @ x)) / y.sum()
        return value, gradient

    weights = minimize(loss, np.zeros(data[0][0].shape[1]), jac=True, method="L-BFGS-B").x
    return np.asarray(columns(held) @ weights)


def pattern_counts(table: DayTable) -> np.ndarray:
    """The mention-count baseline's evidence: how many window sentences its patterns resolve to
    each candidate day."""
    from timeline_baselines import mentioned_days

    counts: Counter[date] = Counter()
    for article in table.task.articles:
        for sentence in article.sentences:
            counts.update(mentioned_days(sentence, article.published))
    return np.array([float(counts[d]) for d in table.days])


def best_naming_topicality(table: DayTable, documents: Sequence[Any]) -> np.ndarray:
    """Per candidate day, the TF-IDF cosine to the window's centroid of its most on-topic naming
    sentence (-1 for a day no sentence names)."""
    docs = originals(documents)
    window = Window(docs)
    best: dict[date, float] = {}
    for document in docs:
        for day, _, _, text in _sentence_namings(document):
            best[day] = max(best.get(day, 0.0), _cosine(window.vector(text), window.centroid))
    return np.array([best.get(d, -1.0) for d in table.days])


def skipping(topicality: dict[str, np.ndarray], share: float) -> Any:
    """The regression's scores, the named days in the least on-topic ``share`` passed over."""
    def scorer(train: Sequence[DayTable], columns: Callable[[DayTable], np.ndarray],
               held: DayTable) -> np.ndarray:
        scores = logistic(train, columns, held)
        best = topicality[held.task.name]
        named = best >= 0
        if not named.any():
            return scores
        cut = np.quantile(best[named], share)
        return np.where(named & (best < cut), scores - 1e6, scores)
    return scorer


def in_sample(tables: Sequence[DayTable], scorer: Any,
              columns: Callable[[DayTable], np.ndarray]) -> tuple[float, list[float]]:
    """Trained on every timeline and scored on them (no topic left out)."""
    pairs = [date_pr(t, top(t, scorer(tables, columns, t))) for t in tables]
    return news_tls_f1(pairs), [r for _, r in pairs]


def direct(train: Sequence[DayTable], columns: Callable[[DayTable], np.ndarray], held: DayTable) -> np.ndarray:
    """The logistic regression's weights, then coordinate ascent on the training timelines'
    date F1 of their top T (steps 0.5, 0.2, 0.1, each coordinate up and down)."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    xs = [columns(t) for t in train]
    model = LogisticRegression(max_iter=5000).fit(np.vstack(xs), np.concatenate([t.labels for t in train]),
                                                   sample_weight=_weights(train))

    def f1(w: np.ndarray) -> float:
        return news_tls_f1([date_pr(t, top(t, x @ w)) for t, x in zip(train, xs)])

    weights = model.coef_[0].copy()
    best = f1(weights)
    for step in (0.5, 0.2, 0.1):
        improved = True
        while improved:
            improved = False
            for k in range(len(weights)):
                for delta in (step, -step):
                    trial = weights.copy()
                    trial[k] += delta
                    if (score := f1(trial)) > best + 1e-9:
                        best, weights, improved = score, trial, True
    return np.asarray(columns(held) @ weights)


def bagged(train: Sequence[DayTable], columns: Callable[[DayTable], np.ndarray], held: DayTable) -> np.ndarray:
    """Twenty logistic regressions on bootstrap draws of the training timelines, unit weights averaged."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    total = np.zeros(columns(held).shape[1])
    for _ in range(20):
        draw = [train[i] for i in rng.integers(0, len(train), len(train))]
        if not any(t.labels.sum() for t in draw):
            continue
        model = LogisticRegression(max_iter=5000).fit(
            np.vstack([columns(t) for t in draw]), np.concatenate([t.labels for t in draw]),
            sample_weight=_weights(draw))
        total += model.coef_[0] / np.linalg.norm(model.coef_[0])
    return np.asarray(columns(held) @ total)


# --- reporting ---------------------------------------------------------------------------------

def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--embeddings", action="store_true",
                        help="also the sentence-embedding topicality rows (embeds every naming sentence)")
    args, documents, tables = dev_tables(parser)
    results: dict[str, Any] = {"timelines": [t.task.name for t in tables]}
    embedded = embedding_families(tables, documents) if args.embeddings else {}
    print(f"{'date selection, top T, leave-one-topic-out':<78}{'date F1':>7}  per timeline")
    base = held_out_f1(tables, logistic, lambda t: t.features)
    results["product's features (logistic regression)"] = base[0]
    print_row("product's features (logistic regression)", *base)

    extras = {t.task.name: content_families(t, documents[t.task.name]) for t in tables}
    print("0. checks")
    checks = {
        "references alone (top T)": [date_pr(t, top(t, _column(t, "references"))) for t in tables],
        "the mention-count baseline's pattern count alone (top T)":
            [date_pr(t, top(t, pattern_counts(t))) for t in tables],
    }
    for name, pairs in checks.items():
        results[name] = news_tls_f1(pairs)
        print_row(f"  {name}", results[name], [r for _, r in pairs])
    fits = {
        "in sample: product's features": (logistic, lambda t: t.features),
        "in sample: product's + all eleven families":
            (logistic, lambda t: np.hstack([t.features, *extras[t.task.name].values()])),
        "in sample: product's, weights tuned directly on top-T date F1": (direct, lambda t: t.features),
    }
    for name, (scorer, columns) in fits.items():
        figure, values = in_sample(tables, scorer, columns)
        results[name] = figure
        print_row(f"  {name}", figure, values)
    print("1. + one sentence-content family")
    families = list(extras[tables[0].task.name])
    trials: dict[str, tuple[Any, Callable[[DayTable], np.ndarray]]] = {
        f"  + {f}": (logistic, lambda t, f=f: np.hstack([t.features, extras[t.task.name][f]])) for f in families}
    trials["  + all eleven"] = (logistic, lambda t: np.hstack([t.features, *extras[t.task.name].values()]))
    for family in embedded.get(tables[0].task.name, {}):
        trials[f"  + {family}"] = (
            logistic, lambda t, f=family: np.hstack([t.features, embedded[t.task.name][f]]))
    trials["2. scaled as DATEWISE (raw counts, unit L2 norm per column)"] = (logistic, datewise_scaled)
    trials["   counts per 300 window documents"] = (logistic, per_300_documents)
    trials["   + features times the timeline's density (log T / candidates)"] = (logistic, with_density)
    trials["   listwise (softmax over each timeline's candidates)"] = (listwise, lambda t: t.features)
    trials["   weights tuned on the training topics' top-T date F1"] = (direct, lambda t: t.features)
    trials["   twenty bootstrap fits averaged"] = (bagged, lambda t: t.features)
    topicality = {t.task.name: best_naming_topicality(t, documents[t.task.name]) for t in tables}
    for share in (0.1, 0.2):
        trials[f"   days whose best naming sentence is in the least on-topic {share:.0%} skipped"] = (
            skipping(topicality, share), lambda t: t.features)
    for name, (scorer, columns) in trials.items():
        figure, values = held_out_f1(tables, scorer, columns)
        results[name.strip()] = figure
        print_row(name, figure, values)
    print("timelines: " + ", ".join(results["timelines"]))
    return finish(results, args.json_out, None)


if __name__ == "__main__":
    raise SystemExit(main())
