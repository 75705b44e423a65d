"""Storyline benchmark: Timeline17 (dev topics) as one stream, storylines against the topics.

Data (tls/README.md): the development half's articles, all folders together (4 topics, 9
outlets), read in publication order as one stream; the gold storyline of an article is its
topic (the folder name before the underscore). The topics overlap in time (the oil spill, the
singer's death and its trial, the Syrian uprising), so time alone cannot separate them.

Systems, all in one run:

* ours, online: ``StoryDetector`` (the packaged story detection) reads the stream in the
  batches an ingest's writer files (``Settings.filing_batch``, 200); after each batch
  ``StorylineLinker`` links the stories it touched (as ``storyline ingest`` does); each
  article's label is its story's storyline (a story in none is its own).
* ours, batch: the stream's final stories linked at once (``link_stories``).
* baselines: TF-IDF cosine average link over the articles (as in ``benchmarks/stories.py``),
  cut at the threshold tuned on ECB+ train (the story baseline), and cut at the threshold
  tuned on these topics leaving one topic out (the strongest baseline we have).

Figures: BCubed P/R/F1 over articles (``clustering_metrics.py``), pairwise F1, clusters.
Out of sample: leave one topic out. For each topic, the setting (ours: weights, ``link``,
decay, names floor; baseline: threshold) that scores best on the other topics' articles is
applied, and that topic's articles are scored with it (per-article BCubed, the clustering of the
whole stream under that setting); the out-of-fold figure averages over all articles.

Over-linking guard: Timeline17's four topics share almost nothing, so it rewards linking
loosely. ECB+ (clustering/README.md) pairs stories of one kind with different actors (two
earthquakes, two rehab stays): none of them is one thread, so linking them is wrong. Our
settings are chosen on the sum of the Timeline17 training topics' F1 and ECB+ train's
storyline F1 (gold: subtopic, read as a shuffled stream); ECB+ dev is reported. ECB+ has no
dates, so time, which keeps such stories apart in a real stream, cannot help there: the guard
is harsher than real use. ``--tune`` prints the grid's best settings (what
``data/storylines.json`` holds was chosen from it).

``--quick``: smaller grids (the first two weightings, ``link`` 0.04-0.06, decay 0.2, names
floor 0.01-0.03; 18 settings each) for a run of minutes rather than most of an hour. ``--cache
FILE`` keeps the features of the Timeline17 articles in FILE and those of ECB+ train and dev
beside it (FILE.ecb-train, FILE.ecb-dev).

Usage: python benchmarks/storylines.py [DATA] [--limit N] [--json FILE] [--tune] [--quick] [--cache FILE]
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
import pickle
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clustering_metrics import bcubed, bcubed_by_item, cluster_count, harmonic, pairwise_f1  # noqa: E402
from common import data_argument_parser, finish, print_table  # noqa: E402
from stories import tfidf_rows  # noqa: E402
from timeline import FOLDER, detokenise  # noqa: E402

from storyline.context import FILING_BATCH  # noqa: E402
from storyline.model import Document  # noqa: E402
from storyline.story.detect import (  # noqa: E402
    DetectConfig,
    Features,
    StoryDetector,
    StoryProfile,
    features_of,
)
from storyline.story.storylines import StorylineConfig, StorylineLinker, link_stories  # noqa: E402

BATCH = FILING_BATCH  # the writer's batch: what is measured is what an ingest does
COLUMNS = ["bcubed_p", "bcubed_r", "bcubed_f1", "pairwise_f1", "clusters"]
# The grids of ``--tune`` and of the out-of-fold figures: weights (words, names, meaning), link,
# decay, names floor.
WEIGHTS = [(0.8, 0.1, 0.1), (0.57, 0.29, 0.14), (0.4, 0.4, 0.2)]
LINKS = [0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1]
DECAYS = [0.2, 0.5, 1.0]
NAMES_FLOORS = [0.0, 0.01, 0.02, 0.03, 0.05]
ONLINE_LINKS = [0.04, 0.05, 0.06, 0.08]  # replays cost more: a coarser grid
ONLINE_DECAYS = [0.2, 0.5]
ONLINE_NAMES_FLOORS = [0.01, 0.02, 0.03]
QUICK = {"weights": WEIGHTS[:2], "links": [0.04, 0.05, 0.06], "decays": [0.2],
         "floors": [0.01, 0.02, 0.03]}
THRESHOLDS = [round(0.5 + 0.01 * step, 2) for step in range(50)]  # cosine distance 0.50 .. 0.99
Figures = dict[str, Any]
Labels = list[Hashable]


# --- data -------------------------------------------------------------------------------------

def _articles_root(data: Path) -> Path:
    """The Timeline17 folder, given the eval-data folder or the Timeline17 folder itself."""
    return data / FOLDER if (data / FOLDER).is_dir() else data


def load_stream(data: Path, limit: int | None = None) -> tuple[list[Document], list[str]]:
    """Every dev article, in publication order (ties: folder, then numeric id), with its topic."""
    root = _articles_root(data)
    rows: list[tuple[str, str, int, Document]] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        with gzip.open(folder / "articles.jsonl.gz", "rt", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                document = _document(folder.name, record)
                if document is not None:
                    rows.append((record["time"], folder.name, int(record["id"]), document))
    rows.sort(key=lambda row: row[:3])
    rows = rows[:limit]
    return [row[3] for row in rows], [row[1].split("_")[0] for row in rows]


def _document(folder: str, record: dict[str, Any]) -> Document | None:
    """The first line of a Timeline17 text runs headline, standfirst and dateline together: it
    is the title; the rest, untokenised, the text."""
    lines = [detokenise(s) for s in record["text"].split(" \n") if s.strip()]
    if not lines:
        return None
    return Document(origin=f"{folder}/{record['id']}", id=None, title=lines[0],
                    text=" ".join(lines[1:]) or lines[0], published=record["time"])


def on_topic(data: Path, documents: Sequence[Document], gold: Sequence[str]) -> list[bool]:
    """Whether each article names its topic's subject: one of the two names its topic's reference
    timelines use most (capitalised words past a sentence's first). Timeline17 gathered articles
    by keyword (tls/README.md), so some are off topic: a Reuters piece on the Japanese reactors
    filed under the Syrian crisis is no part of that thread, and no linker should join it.
    A diagnostic beside the figure on all articles, never instead of it."""
    root = _articles_root(data)
    names: dict[str, Counter[str]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        counts = names.setdefault(folder.name.split("_")[0], Counter())
        for line in (folder / "timelines.jsonl").read_text(encoding="utf-8").splitlines():
            for _, sentences in json.loads(line):
                for sentence in sentences:
                    counts.update({t for t in sentence.split()[1:]
                                   if t[:1].isupper() and t.isalpha() and len(t) > 1})
    subject = {topic: [name for name, _ in counts.most_common(2)] for topic, counts in names.items()}
    return [any(re.search(rf"\b{name}\b", f"{d.title} {d.text}") for name in subject[topic])
            for d, topic in zip(documents, gold)]


def cached_features(documents: Sequence[Document], cache: Path | None) -> list[Features]:
    """Detection's features of the articles (kept in ``cache`` when given: embedding is the
    slow part, and the figures are about linking)."""
    if cache is not None and cache.exists():
        stored: list[Features] = pickle.loads(cache.read_bytes())
        if len(stored) == len(documents):
            return stored
    made = features_of(documents)
    if cache is not None:
        cache.write_bytes(pickle.dumps(made))
    return made


# --- scoring ----------------------------------------------------------------------------------

def score(gold: Sequence[str], pred: Sequence[Hashable]) -> Figures:
    b3, pairs = bcubed(gold, pred), pairwise_f1(gold, pred)
    return {"bcubed_p": b3.precision, "bcubed_r": b3.recall, "bcubed_f1": b3.f1,
            "pairwise_f1": pairs.f1, "clusters": cluster_count(pred)}


def leave_one_topic_out(gold: Sequence[str], labellings: dict[Any, Labels],
                        guard: dict[Any, float] | None = None) -> tuple[Figures, dict[str, Any]]:
    """The out-of-fold BCubed figure over a grid of labellings of the whole stream (see the
    module docstring), and the setting each held-out topic got. ``guard``: a second score of
    each setting (on other data) that the choice averages with the training topics' F1."""
    topics = sorted(set(gold))
    held = {t: np.array([g == t for g in gold]) for t in topics}
    scores = {setting: bcubed_by_item(gold, labels) for setting, labels in labellings.items()}
    precision, recall = np.zeros(len(gold)), np.zeros(len(gold))
    chosen: dict[str, Any] = {}
    for topic in topics:
        train = ~held[topic]
        best = max(scores, key=lambda s: harmonic(scores[s][0][train].mean(), scores[s][1][train].mean())
                   + (guard[s] if guard else 0.0))
        chosen[topic] = best
        precision[held[topic]] = scores[best][0][held[topic]]
        recall[held[topic]] = scores[best][1][held[topic]]
    return ({"bcubed_p": precision.mean(), "bcubed_r": recall.mean(),
             "bcubed_f1": harmonic(precision.mean(), recall.mean()), "pairwise_f1": math.nan,
             "clusters": math.nan}, chosen)


# --- baselines --------------------------------------------------------------------------------

def baseline_tree(documents: Sequence[Document]) -> np.ndarray:
    rows = tfidf_rows([f"{d.title}. {d.text}" for d in documents])
    distance = np.clip(1.0 - (rows @ rows.T).toarray(), 0.0, 2.0)
    condensed = distance[np.triu_indices(len(documents), k=1)]
    return linkage(condensed, method="average")


def baseline_cut(tree: np.ndarray, threshold: float) -> Labels:
    return [int(label) for label in fcluster(tree, t=threshold, criterion="distance")]


def ecb_threshold(data: Path) -> float:
    """The story baseline's threshold, tuned on ECB+ train as ``benchmarks/stories.py`` does."""
    import stories

    documents, gold = stories.load_split(data, "train")
    threshold, _ = stories.tune_threshold(documents, gold)
    return threshold


# --- ours -------------------------------------------------------------------------------------

@dataclass
class Batch:
    """What one batch of the detection stream left for linking: the stories it changed (oldest
    first), the stories merged away (-> the story kept), their profiles, and the
    stories near each touched story (by the index, as ``StoryAssigner`` finds them)."""

    touched: list[int]
    merged: dict[int, int]
    changed: dict[int, StoryProfile]
    nearby: dict[int, list[int]]


@dataclass
class Stream:
    """The detection stream recorded once (detection does not depend on linking), so that
    linking settings can be replayed in seconds: the batches, each article's final story, and
    the final stories' profiles in story order."""

    batches: list[Batch]
    stories: list[int]  # each article's final story (the detector's key)
    profiles: dict[int, StoryProfile]  # the final stories', by key, in order of first article


def record_stream(features: Sequence[Features], candidates: int,
                  detect: DetectConfig | None = None) -> Stream:
    detector = StoryDetector(detect or DetectConfig.packaged())
    batches: list[Batch] = []
    absorbed: set[int] = set()
    for start in range(0, len(features), BATCH):
        numbers = range(start, min(start + BATCH, len(features)))
        for number in numbers:
            detector.add(number, features[number])
        detector.settle()
        merged = {other: detector.alive(other) for other in sorted(set(detector.merged) - absorbed)}
        absorbed.update(merged)
        changed = {s: detector.profiles[s].copy() for s in detector.changed if s in detector.profiles}
        touched = sorted(changed)  # as ``StoryAssigner`` links: every story the batch changed
        nearby = {s: detector.stories_near(detector.profiles[s].mean_vector(), candidates)
                  for s in touched}
        batches.append(Batch(touched, merged, changed, nearby))
        detector.saved({})
    alive = [detector.alive(detector.story_of[n]) for n in range(len(features))]
    return Stream(batches, alive, {s: detector.profiles[s] for s in dict.fromkeys(alive)})


def replay_online(stream: Stream, config: StorylineConfig) -> Labels:
    """The storyline of each article as ``StorylineLinker`` links the recorded stream (a story
    in none is its own)."""
    state: dict[int, StoryProfile] = {}
    nearby: dict[int, list[int]] = {}
    linker = StorylineLinker(config, load=lambda ids: {s: state[s] for s in ids if s in state},
                             nearby=lambda story, profile: nearby.get(story, []))
    for batch in stream.batches:
        for other, keep in batch.merged.items():
            state.pop(other, None)
            linker.absorb(keep, other)
        state.update(batch.changed)
        nearby = batch.nearby
        linker.link(batch.touched)
        linker.saved({})
    return [("line", linker.line_of[s]) if s in linker.line_of else ("story", s)
            for s in stream.stories]


def batch_lines(stream: Stream, config: StorylineConfig) -> Labels:
    keys = list(stream.profiles)
    lines = dict(zip(keys, link_stories([stream.profiles[k] for k in keys], config)))
    return [lines[story] for story in stream.stories]


def grid(links: Sequence[float], decays: Sequence[float], floors: Sequence[float],
         weights: Sequence[tuple[float, float, float]] = WEIGHTS) -> list[StorylineConfig]:
    packaged = StorylineConfig.packaged()
    return [replace(packaged, words=w, names=n, meaning=m, link=link, decay_per_year=decay,
                    names_floor=floor)
            for (w, n, m), link, decay, floor in itertools.product(weights, links, decays, floors)]


def _setting(config: StorylineConfig) -> tuple[float, ...]:
    return (config.words, config.names, config.meaning, config.link, config.decay_per_year,
            config.names_floor)


# --- the run ----------------------------------------------------------------------------------

def ecb_stream(data: Path, split: str, candidates: int, cache: Path | None = None
               ) -> tuple[Stream, list[str]]:
    """ECB+ ``split`` read as a stream (shuffled, seed 0), each subtopic its own thread."""
    import random

    import stories

    documents, gold = stories.load_split(data, split)
    order = list(range(len(documents)))
    random.Random(0).shuffle(order)
    features = cached_features([documents[k] for k in order], cache)
    return record_stream(features, candidates), [gold[k] for k in order]


def over_linking(stream: Stream, gold: Sequence[str], configs: Sequence[StorylineConfig],
                 labels: Callable[[Stream, StorylineConfig], Labels]) -> dict[Any, float]:
    """BCubed F1 of each setting's storylines against ECB+ subtopics: every link there joins
    two events of different actors (one earthquake and another), so it falls as linking grows
    loose. The tuning keeps to settings that do not link them."""
    return {_setting(c): score(gold, labels(stream, c))["bcubed_f1"] for c in configs}


def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="print the grid's best settings")
    parser.add_argument("--cache", type=Path, default=None, help="keep the articles' features here")
    parser.add_argument("--quick", action="store_true", help="smaller grids (see the docstring)")
    args = parser.parse_args()
    documents, gold = load_stream(args.data, args.limit)
    print(f"Timeline17 dev as one stream: {len(documents)} articles, {len(set(gold))} topics",
          file=sys.stderr)
    config = StorylineConfig.packaged()
    started = time.perf_counter()
    stream = record_stream(cached_features(documents, args.cache), config.candidates)
    stream_s = time.perf_counter() - started
    ecb_train, ecb_train_gold = ecb_stream(args.data, "train", config.candidates,
                                           _beside(args.cache, "ecb-train"))
    ecb_dev, ecb_dev_gold = ecb_stream(args.data, "dev", config.candidates, _beside(args.cache, "ecb-dev"))
    if args.quick:
        online_grid = batch_grid = grid(QUICK["links"], QUICK["decays"], QUICK["floors"], QUICK["weights"])
    else:
        online_grid = grid(ONLINE_LINKS, ONLINE_DECAYS, ONLINE_NAMES_FLOORS)
        batch_grid = grid(LINKS, DECAYS, NAMES_FLOORS)
    online = {_setting(c): replay_online(stream, c) for c in online_grid}
    batch = {_setting(c): batch_lines(stream, c) for c in batch_grid}
    guard_online = over_linking(ecb_train, ecb_train_gold, online_grid, replay_online)
    online_oof, online_chosen = leave_one_topic_out(gold, online, guard_online)
    batch_oof, batch_chosen = leave_one_topic_out(
        gold, batch, over_linking(ecb_train, ecb_train_gold, batch_grid, batch_lines))
    tree = baseline_tree(documents)
    cuts = {t: baseline_cut(tree, t) for t in THRESHOLDS}
    baseline_oof, baseline_chosen = leave_one_topic_out(gold, cuts)
    ecb = ecb_threshold(args.data)
    rows = [
        ("ours online (packaged)", score(gold, replay_online(stream, config))),
        ("ours online (leave one topic out)", online_oof),
        ("ours batch (packaged)", score(gold, batch_lines(stream, config))),
        ("ours batch (leave one topic out)", batch_oof),
        ("stories alone (no storylines)", score(gold, stream.stories)),
        (f"tf-idf average link (ECB+ train cut {ecb})", score(gold, baseline_cut(tree, ecb))),
        ("tf-idf average link (leave one topic out)", baseline_oof),
        ("tf-idf average link (best cut, in-sample)",
         max((score(gold, labels) for labels in cuts.values()), key=lambda f: f["bcubed_f1"])),
    ]
    print_table("Storylines on Timeline17 dev (one stream; gold: topic)", rows, COLUMNS)
    named = on_topic(args.data, documents, gold)
    kept = [k for k, flag in enumerate(named) if flag]

    def subset(labels: Labels) -> Figures:
        return score([gold[k] for k in kept], [labels[k] for k in kept])

    on_rows = [("ours online (packaged)", subset(replay_online(stream, config))),
               ("ours batch (packaged)", subset(batch_lines(stream, config))),
               (f"tf-idf average link (ECB+ train cut {ecb})", subset(baseline_cut(tree, ecb)))]
    print_table(f"The same, only the {len(kept)} of {len(gold)} articles that name their topic "
                "(diagnostic: the stream holds all)", on_rows, COLUMNS)
    guard = [("ours online (packaged)", score(ecb_dev_gold, replay_online(ecb_dev, config))),
             ("ours batch (packaged)", score(ecb_dev_gold, batch_lines(ecb_dev, config))),
             ("stories alone", score(ecb_dev_gold, ecb_dev.stories))]
    print_table("Over-linking guard: ECB+ dev as a stream (gold: subtopic; no two are one thread)",
                guard, COLUMNS)
    print(f"Timeline17 detection stream: {len(documents)} articles in {stream_s:.1f} s; settings "
          f"chosen leaving one topic out (words, names, meaning, link, decay, names floor): online "
          f"{online_chosen}; batch {batch_chosen}; baseline cut {baseline_chosen}")
    if args.tune:
        for setting in sorted(online, key=lambda s: -_f1_of(gold, online[s]) - guard_online[s])[:10]:
            print("online in-sample", setting, round(_f1_of(gold, online[setting]), 4),
                  "ECB+ train", round(guard_online[setting], 4))
    results = {name: figures for name, figures in rows + [("ecb_dev " + n, f) for n, f in guard]
               + [("on topic " + n, f) for n, f in on_rows]}
    return finish(results, args.json_out, None)


def _beside(cache: Path | None, suffix: str) -> Path | None:
    return None if cache is None else cache.with_name(f"{cache.name}.{suffix}")


def _f1_of(gold: Sequence[str], labels: Labels) -> float:
    return float(score(gold, labels)["bcubed_f1"])


if __name__ == "__main__":
    raise SystemExit(main())
