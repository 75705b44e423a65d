"""Story-detection benchmark (ECB+ subtopics, dev split): ours beside a TF-IDF average-link baseline.

Data (clustering/README.md): ECB+ as one JSON line per document; the gold story of a document is
its ``subtopic``. Each topic holds two stories of the same kind (one actor's rehab against
another's), so the stories of one topic are near-miss confounders. Only train (575 documents,
50 stories) and dev (197, 16) are here; the test split is withheld.

Metrics (clustering/README.md, our own code in ``clustering_metrics.py``): pairwise P/R/F1 over
all document pairs (Priberam's "standard" F1, micro), BCubed P/R/F1 averaged over documents,
and the number of predicted clusters beside the gold number.

Protocol, all in one run:

* baseline: TF-IDF over the text (our tokeniser, ``storyline.text.stop_words()``, sublinear tf,
  smoothed idf fitted on the evaluated split, l2-normalised), then cosine average-link
  agglomerative clustering cut at a distance threshold. The threshold is chosen on the train
  split (grid search, best BCubed F1) and then applied unchanged to the reported split.
* ours: ``storyline.story.detect.detect_stories`` on the documents in file order (batch), and
  as a stream in five shuffled orders (``random.Random(seed).shuffle``, seeds 0-4): the mean and
  the worst of the five, and the gap between the stream mean and the batch figure. Detection
  reads documents online in the order given, so order matters; the stream figure is the fair one.

Usage: python benchmarks/stories.py [DATA] [--split train|dev] [--limit N] [--json FILE] [--gate]
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
import time
from dataclasses import replace
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clustering_metrics import bcubed, cluster_count, pairwise_f1  # noqa: E402
from common import below_floors, data_argument_parser, finish, load_floors, print_table  # noqa: E402

from storyline.model import Document  # noqa: E402
from storyline.text import stop_words  # noqa: E402

DATA_FILE = Path("clustering") / "ecbplus" / "ecbplus_docs.jsonl"
OURS = "storyline detect_stories (batch)"
OURS_STREAM = "storyline StoryDetector (stream)"
# How the stream fares once most documents have left its window (dev has 197 documents; the
# packaged window holds 400): windows of a fifth and of a half of dev.
NARROW_WINDOWS = (40, 100)
BASELINE = "tf-idf average-link"
SEEDS = range(5)
THRESHOLDS = [round(0.05 + 0.01 * step, 2) for step in range(95)]  # 0.05 .. 0.99
COLUMNS = ["bcubed_p", "bcubed_r", "bcubed_f1", "pairwise_p", "pairwise_r", "pairwise_f1",
           "clusters", "docs_per_s"]
_TOKEN = re.compile(r"\b\w\w+\b")

Detector = Callable[[Sequence[Document]], list[int]]
Figures = dict[str, Any]


# --- data -------------------------------------------------------------------------------------

def load_split(data: Path, split: str, limit: int | None = None) -> tuple[list[Document], list[str]]:
    """The documents of one split in file order, and the gold story (subtopic) of each."""
    path = data if data.is_file() else data / DATA_FILE
    documents: list[Document] = []
    gold: list[str] = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["split"] != split:
            continue
        documents.append(Document(origin=row["doc_id"], id=None, text=" ".join(row["sentences"]),
                                  title=row["title"]))
        gold.append(row["subtopic"])
    return documents[:limit], gold[:limit]


def score(gold: Sequence[str], pred: Sequence[int]) -> Figures:
    b3, pairs = bcubed(gold, pred), pairwise_f1(gold, pred)
    return {"bcubed_p": b3.precision, "bcubed_r": b3.recall, "bcubed_f1": b3.f1,
            "pairwise_p": pairs.precision, "pairwise_r": pairs.recall, "pairwise_f1": pairs.f1,
            "clusters": cluster_count(pred)}


# --- the baseline: TF-IDF, cosine average link ------------------------------------------------

def tfidf_rows(texts: Sequence[str]) -> csr_matrix:
    """Sparse l2-normalised TF-IDF rows: (1 + ln tf) * (ln((1 + n) / (1 + df)) + 1)."""
    stops = stop_words()
    counts = [Counter(t for t in _TOKEN.findall(text.lower()) if t not in stops) for text in texts]
    vocabulary = {term: k for k, term in enumerate(sorted(set().union(*counts)))}
    columns, values, starts = [], [], [0]
    for bag in counts:
        for term, count in bag.items():
            columns.append(vocabulary[term])
            values.append(1.0 + math.log(count))
        starts.append(len(columns))
    matrix = csr_matrix((values, columns, starts), shape=(len(texts), max(len(vocabulary), 1)))
    frequency = np.bincount(matrix.indices, minlength=matrix.shape[1])
    matrix = csr_matrix(matrix.multiply(np.log((1 + len(texts)) / (1 + frequency)) + 1.0))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    return csr_matrix(matrix.multiply(1.0 / np.where(norms > 0, norms, 1.0)[:, None]))


def tfidf_vectors(texts: Sequence[str]) -> np.ndarray:
    """``tfidf_rows`` as a dense matrix."""
    return np.asarray(tfidf_rows(texts).toarray())


def average_link(similarity: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The whole average-link dendrogram: merges (the cluster kept under index a absorbs b) and
    their cosine distances, in merge order (non-decreasing: average link is monotone)."""
    size = len(similarity)
    linkage = similarity.astype(float)
    np.fill_diagonal(linkage, -np.inf)
    members = np.ones(size)
    merges: list[tuple[int, int]] = []
    distances: list[float] = []
    for _ in range(size - 1):
        a, b = divmod(int(np.argmax(linkage)), size)
        merges.append((a, b))
        distances.append(1.0 - float(linkage[a, b]))
        joined = (members[a] * linkage[a] + members[b] * linkage[b]) / (members[a] + members[b])
        linkage[a, :] = joined
        linkage[:, a] = joined
        linkage[a, a] = -np.inf
        linkage[b, :] = -np.inf
        linkage[:, b] = -np.inf
        members[a] += members[b]
    return merges, np.array(distances)


def cut(size: int, merges: Sequence[tuple[int, int]], distances: np.ndarray, threshold: float
        ) -> list[int]:
    """Clusters after every merge closer than ``threshold``, numbered by first document."""
    parent = list(range(size))
    for (a, b), distance in zip(merges, distances):
        if distance >= threshold:
            break
        parent[_root(parent, b)] = _root(parent, a)
    first: dict[int, int] = {}
    return [first.setdefault(_root(parent, k), len(first)) for k in range(size)]


def _root(parent: list[int], node: int) -> int:
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


def dendrogram(documents: Sequence[Document]) -> tuple[list[tuple[int, int]], np.ndarray]:
    vectors = tfidf_vectors([d.text for d in documents])
    return average_link(vectors @ vectors.T)


def tune_threshold(documents: Sequence[Document], gold: Sequence[str]) -> tuple[float, Figures]:
    """The grid threshold with the best BCubed F1 on these documents (the lowest on a tie)."""
    merges, distances = dendrogram(documents)
    best: tuple[float, Figures] | None = None
    for threshold in THRESHOLDS:
        figures = score(gold, cut(len(documents), merges, distances, threshold))
        if best is None or figures["bcubed_f1"] > best[1]["bcubed_f1"]:
            best = (threshold, figures)
    assert best is not None
    return best


def baseline(documents: Sequence[Document], threshold: float) -> list[int]:
    merges, distances = dendrogram(documents)
    return cut(len(documents), merges, distances, threshold)


# --- ours -------------------------------------------------------------------------------------

class CachedEmbedder:
    """The packaged embedder, each text embedded once per run: the orders re-read the same
    documents, and the figure of interest is detection, not the encoder."""

    def __init__(self) -> None:
        self._known: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        from storyline.annotate.embeddings import embed

        missing = sorted({t for t in texts if t not in self._known})
        if missing:
            self._known.update(zip(missing, embed(missing)))
        return np.stack([self._known[t] for t in texts])


def load_ours() -> tuple[Detector, Detector, dict[str, Detector]]:
    """(batch, stream, narrow-window streams by name) detection with one embedding cache."""
    from storyline.story.detect import DetectConfig, detect_stories, stream_stories

    embedder = CachedEmbedder()

    def narrow(window: int) -> Detector:
        config = replace(DetectConfig.packaged(), window_documents=window)
        return lambda docs: stream_stories(docs, embedder=embedder, config=config)

    return (lambda docs: detect_stories(docs, embedder=embedder),
            lambda docs: stream_stories(docs, embedder=embedder),
            {_narrow_name(window): narrow(window) for window in NARROW_WINDOWS})


def _narrow_name(window: int) -> str:
    return f"stream, window of {window} documents"


def timed(detect: Detector, documents: Sequence[Document]) -> tuple[list[int], float]:
    """Story labels and documents per second."""
    start = time.perf_counter()
    labels = list(detect(documents))
    elapsed = time.perf_counter() - start
    if len(labels) != len(documents):
        raise ValueError(f"{len(labels)} story labels for {len(documents)} documents")
    return labels, (len(documents) / elapsed if elapsed > 0 else 0.0)


def in_order(detect: Detector, documents: Sequence[Document], seed: int) -> tuple[list[int], float]:
    """Labels (in file order) of the documents read in the order ``seed`` shuffles them into."""
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    shuffled, rate = timed(detect, [documents[k] for k in order])
    labels = [0] * len(documents)
    for position, k in enumerate(order):
        labels[k] = shuffled[position]
    return labels, rate


def stream_summary(runs: list[Figures], batch: Figures) -> Figures:
    """The mean of the orders' figures, their worst F1s and the gap of the mean to the batch."""
    summary: Figures = {key: mean(run[key] for run in runs) for key in COLUMNS}
    for metric in ("bcubed_f1", "pairwise_f1"):
        summary[f"worst_{metric}"] = min(run[metric] for run in runs)
        summary[f"gap_{metric}"] = summary[metric] - batch[metric]
    return summary


def run_ours(batch_detect: Detector, stream_detect: Detector, documents: Sequence[Document],
             gold: Sequence[str]) -> tuple[Figures, list[Figures]]:
    """The batch figures and each order's stream figures."""
    batch_detect(documents)  # warm-up: the model's load and the embeddings are not timed
    labels, rate = timed(batch_detect, documents)
    batch = {**score(gold, labels), "docs_per_s": rate}
    runs = []
    for seed in SEEDS:
        labels, rate = in_order(stream_detect, documents, seed)
        runs.append({**score(gold, labels), "docs_per_s": rate, "seed": seed})
    return batch, runs


# --- report -----------------------------------------------------------------------------------

def report(results: dict[str, Any], runs: list[Figures]) -> None:
    protocol = results["_protocol"]
    systems = [(name, results[name]) for name in (OURS, OURS_STREAM, BASELINE) if name in results]
    print_table(f"ECB+ {protocol['split']}, stories = subtopics: {protocol['docs']} documents, "
                f"{protocol['gold_clusters']} gold clusters", systems, COLUMNS)
    if runs:
        rows = [(f"order seed {run['seed']}", run) for run in runs]
        stream = results[OURS_STREAM]
        rows.append(("worst", {"bcubed_f1": stream["worst_bcubed_f1"],
                               "pairwise_f1": stream["worst_pairwise_f1"]}))
        print_table("storyline detect_stories as a stream (shuffled orders)", rows, COLUMNS)
        print(f"stream mean - batch: BCubed F1 {stream['gap_bcubed_f1']:+.3f}, "
              f"pairwise F1 {stream['gap_pairwise_f1']:+.3f}")
    for name in (_narrow_name(window) for window in NARROW_WINDOWS if _narrow_name(window) in results):
        narrow = results[name]
        print(f"{name} (mean of the orders): BCubed F1 {narrow['bcubed_f1']:.3f} "
              f"(worst {narrow['worst_bcubed_f1']:.3f}), pairwise F1 {narrow['pairwise_f1']:.3f} "
              f"(worst {narrow['worst_pairwise_f1']:.3f}); mean - batch {narrow['gap_bcubed_f1']:+.3f}")
    print(f"baseline distance threshold tuned on train: {protocol['threshold']:.2f} "
          f"(train BCubed F1 {protocol['train_bcubed_f1']:.3f}); tuning took {protocol['tuning_s']:.1f} s")


def check_floors(results: dict[str, Any]) -> list[str]:
    floors = load_floors("stories")
    if not floors:
        print("gate: no floors pinned under \"stories\" in floors.json")
        return []
    return below_floors(results, floors, {"ours": OURS, "ours stream": OURS_STREAM, "baseline": BASELINE})


def scale(args: Any) -> int:
    from story_scale import MEASURED, baseline_cost, report as scale_report, run_scale

    train_documents, train_gold = load_split(args.data, "train")
    dev_documents, dev_gold = load_split(args.data, "dev")
    threshold, _ = tune_threshold(train_documents, train_gold)
    documents, gold = train_documents + dev_documents, train_gold + dev_gold
    checkpoints = [int(size) for size in args.sizes.split(",")]
    results = run_scale(documents, gold, checkpoints, ordered=args.arrival == "ordered",
                        measured=args.measured or MEASURED)
    results["arrival"] = args.arrival
    costs = baseline_cost(documents, gold, [1000, 2000, 4000], threshold)
    scale_report(results, checkpoints, costs)
    results["baseline_seconds_per_new_document"] = costs
    return finish(results, args.json_out, None)


def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("train", "dev"), default="dev",
                        help="the split reported (the baseline is always tuned on train)")
    parser.add_argument("--gate", action="store_true", help="fail when a figure is below its floor")
    parser.add_argument("--scale", action="store_true",
                        help="time story assignment at 10,000 and 100,000 stored documents instead")
    parser.add_argument("--sizes", default="10000,100000",
                        help="with --scale: the stored-document counts to time at")
    parser.add_argument("--measured", type=int,
                        help="with --scale: documents timed after each size, in batches of 200 "
                             "(default 4,000)")
    parser.add_argument("--arrival", choices=("random", "ordered"), default="random",
                        help="with --scale: the synthetic stories' dates at random over three "
                             "years, or in the order they arrive (see benchmarks/story_scale.py)")
    args = parser.parse_args()
    if args.scale:
        return scale(args)
    started = time.perf_counter()
    documents, gold = load_split(args.data, args.split, args.limit)
    train_documents, train_gold = load_split(args.data, "train")
    tuning_start = time.perf_counter()
    threshold, train_figures = tune_threshold(train_documents, train_gold)
    tuning_s = time.perf_counter() - tuning_start
    results: dict[str, Any] = {"_protocol": {
        "split": args.split, "docs": len(documents), "gold_clusters": cluster_count(gold),
        "threshold": threshold, "train_bcubed_f1": train_figures["bcubed_f1"], "tuning_s": tuning_s,
        "seeds": list(SEEDS)}}
    labels, rate = timed(lambda docs: baseline(docs, threshold), documents)
    results[BASELINE] = {**score(gold, labels), "docs_per_s": rate}
    runs: list[Figures] = []
    batch_detect, stream_detect, narrow_detects = load_ours()
    results[OURS], runs = run_ours(batch_detect, stream_detect, documents, gold)
    results[OURS_STREAM] = stream_summary(runs, results[OURS])
    for name, narrow_detect in narrow_detects.items():
        narrow_runs = []
        for seed in SEEDS:
            labels, rate = in_order(narrow_detect, documents, seed)
            narrow_runs.append({**score(gold, labels), "docs_per_s": rate, "seed": seed})
        results[name] = stream_summary(narrow_runs, results[OURS])
    results["_orders"] = runs
    report(results, runs)
    print(f"total run time {time.perf_counter() - started:.1f} s")
    return finish(results, args.json_out, check_floors(results) if args.gate else None)


if __name__ == "__main__":
    sys.exit(main())
