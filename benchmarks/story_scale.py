"""Story assignment at scale (``benchmarks/stories.py --scale``): documents/s at 10,000 and
100,000 stored documents, peak memory, beside the baseline's cost.

Volume is synthesised from the ECB+ documents (train and dev): each real document's features
(content words, names, the opening's MiniLM vector, embedded once) are the seed of synthetic
stories. A synthetic story copies one real story's documents with a story-specific set of
invented names, a date of its own (spread over three years) and, per document, a random 70% of
the words and a little noise on the vector, so the store fills with many stories that read
alike in pairs (ECB+'s sister stories) and differ by names and time, as real archives do.
With ``--arrival ordered`` the stories arrive in time order instead, ``PER_DAY`` documents a
day (a feed read as it comes; the default, ``random``, spreads every clone's date over the
three years, as a crawl of an archive would). Why both: filing's cost follows the stories a
batch touches, and over three years of random dates the 100,000th document has ten times the
documents in its time window that the 10,000th has; in time order it has as many at both
sizes, and what differs is the store's size and how long its stories have grown (clones of
one ECB+ story chain into long stories either way: docs/benchmarks.md, stop 29).
Documents are stored first (that is the ingest's store stage, not timed); what is timed is
``StoryAssigner.file`` on annotated documents with their features made: candidates from the
nearest-neighbour index, scoring, the window re-clustering and merge pass, the store transaction and
the index file, per batch of 200.

The baseline, TF-IDF average-link, re-clusters everything it has: its cost per new document
grows with the stored documents (quadratic memory: 100,000 documents need an 80 GB distance
matrix), so it is timed at sizes it can run and printed beside ours.
"""

from __future__ import annotations

import random
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from storyline.model import Document
from storyline.story.detect import DetectConfig, Features, features_of

BATCH = 200
MEASURED = 1000  # documents whose assignment is timed at each checkpoint
# Documents a day when stories arrive in time order: the density the random dates reach at
# 100,000 documents over three years (about 91 a day).
PER_DAY = 90


def synthetic_stream(documents: Sequence[Document], gold: Sequence[str], total: int,
                     seed: int = 7, *, ordered: bool = False) -> Iterator[tuple[Document, Features]]:
    """``total`` (document, features) pairs: synthetic stories cloned from the real ones, each
    clone dated at random over three years, or (``ordered``) on the day its first document
    arrives, ``PER_DAY`` documents a day."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    real = features_of(documents, config=DetectConfig.packaged())
    stories: dict[str, list[int]] = {}
    for k, story in enumerate(gold):
        stories.setdefault(story, []).append(k)
    names = sorted(stories)
    made = 0
    clone = 0
    while made < total:
        story = stories[names[rng.randrange(len(names))]]
        clone += 1
        invented = Counter({f"zq{clone}x{j}": 2 for j in range(3)})
        # Drawn in both modes, so that the words each clone keeps are the same draws.
        day = 17_000 + rng.randrange(3 * 365)
        if ordered:
            day = 17_000 + made // PER_DAY
        for k in story:
            if made >= total:
                return
            base = real[k]
            words = Counter({w: c for w, c in base.words.items() if rng.random() < 0.7})
            vector = base.vector + noise.normal(0.0, 0.02, base.vector.shape).astype(np.float32)
            vector /= np.linalg.norm(vector)
            features = Features(words, base.names + invented, vector, day + rng.randrange(5))
            text = " ".join(sorted(words)) + f" clone {clone} item {made}"
            made += 1
            yield Document(origin=f"synthetic:{made}", text=text, title=f"clone {clone}"), features


def run_scale(documents: Sequence[Document], gold: Sequence[str], checkpoints: Sequence[int],
              *, ordered: bool = False) -> dict[str, Any]:
    """Fill a fresh SQLite store through the assigner; time ``MEASURED`` documents after each
    checkpoint (stored documents before them)."""
    from storyline.pipeline.assign import StoryAssigner
    from storyline.store import open_store
    from storyline.story.dedupe import content_hash

    results: dict[str, Any] = {}
    total = max(checkpoints) + MEASURED
    with tempfile.TemporaryDirectory() as folder, open_store(str(Path(folder) / "scale.db")) as store:
        assigner = StoryAssigner(store)
        stream = synthetic_stream(documents, gold, total, ordered=ordered)
        stored = 0
        started = time.perf_counter()
        while stored < total:
            batch = [next(stream) for _ in range(min(BATCH, total - stored))]
            for document, _ in batch:
                document.content_hash = content_hash(document.text)
                document.id = store.add_document(document).id
            checkpoint = next((c for c in checkpoints if c <= stored < c + MEASURED), None)
            tick, cpu_tick = time.perf_counter(), time.process_time()
            assigner.file([d for d, _ in batch], [f for _, f in batch])
            elapsed, cpu = time.perf_counter() - tick, time.process_time() - cpu_tick
            if checkpoint is not None:
                entry = results.setdefault(str(checkpoint),
                                           {"documents": 0, "seconds": 0.0, "cpu_seconds": 0.0})
                entry["documents"] += len(batch)
                entry["seconds"] += elapsed
                entry["cpu_seconds"] += cpu
            stored += len(batch)
            if stored % 10_000 == 0:
                print(f"  {stored} documents filed, {time.perf_counter() - started:.0f} s", flush=True)
        results["stories"] = len(set(store.found_story_of().values()))
    for key in [str(c) for c in checkpoints]:
        entry = results[key]
        entry["docs_per_s"] = entry["documents"] / entry["seconds"]
        entry["ms_per_doc"] = 1000 * entry["seconds"] / entry["documents"]
        # CPU time of this process: what filing costs when other work shares the machine.
        entry["cpu_docs_per_s"] = entry["documents"] / entry["cpu_seconds"]
    results["peak_memory_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def baseline_cost(documents: Sequence[Document], gold: Sequence[str], sizes: Sequence[int],
                  threshold: float) -> dict[str, float]:
    """Seconds per document of re-clustering ``size`` documents with the baseline (what adding
    one document to a pile of that size costs it)."""
    from stories import baseline

    costs = {}
    for size in sizes:
        pile = [replace(d, origin=f"{d.origin}#{k}")
                for k, d in zip(range(size), _cycle(documents))]
        tick = time.perf_counter()
        baseline(pile, threshold)
        costs[str(size)] = (time.perf_counter() - tick)
    return costs


def _cycle(documents: Sequence[Document]) -> Iterator[Document]:
    while True:
        yield from documents


def report(results: dict[str, Any], checkpoints: Sequence[int], costs: dict[str, float]) -> None:
    arrival = (f"in time order, {PER_DAY} a day" if results.get("arrival") == "ordered"
               else "dated at random over three years")
    print("\nStory assignment of annotated documents (synthesised from ECB+, stories "
          f"{arrival}), batches of {BATCH}, {MEASURED} documents timed after each size:")
    print(f"{'stored documents':>18} {'docs/s':>10} {'ms/doc':>8} {'docs/CPU-s':>11}")
    for checkpoint in checkpoints:
        entry = results[str(checkpoint)]
        print(f"{checkpoint:>18,} {entry['docs_per_s']:>10.0f} {entry['ms_per_doc']:>8.2f} "
              f"{entry['cpu_docs_per_s']:>11.0f}")
    first, last = (results[str(c)]["ms_per_doc"] for c in (checkpoints[0], checkpoints[-1]))
    print(f"cost at {checkpoints[-1]:,} / cost at {checkpoints[0]:,}: {last / first:.2f}x; "
          f"peak memory {results['peak_memory_mib']:.0f} MiB; {results['stories']:,} found stories")
    print("baseline (TF-IDF average-link re-clusters the pile for each new document):")
    for size, seconds in costs.items():
        print(f"{int(size):>18,} stored: {1000 * seconds:>10.0f} ms per new document "
              f"({1 / seconds:.2f} docs/s)")
