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
the index file, per batch the writer files (``Settings.filing_batch``, 200).

The baseline, TF-IDF average-link, re-clusters everything it has: its cost per new document
grows with the stored documents (quadratic memory: 100,000 documents need an 80 GB distance
matrix), so it is timed at sizes it can run and printed beside ours.
"""

from __future__ import annotations

import multiprocessing
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

from storyline.context import FILING_BATCH
from storyline.model import Document
from storyline.story.detect import DetectConfig, Features, features_of

BATCH = FILING_BATCH  # timed as the writer files: one batch a call
# Documents whose assignment is timed after each checkpoint. Why 4,000 (20 batches) and not the
# 1,000 of stops 20-29: a batch's cost follows what it holds (by up to half again between
# neighbours, the same batches alike in every run), so five batches were a small sample; the
# first 1,000 are still reported beside the longer figures.
MEASURED = 4000
FIRST = 1000
# Documents a day when stories arrive in time order: the density the random dates reach at
# 100,000 documents over three years (about 91 a day).
PER_DAY = 90


def synthetic_stream(real: Sequence[Features], gold: Sequence[str], total: int, seed: int = 7,
                     *, ordered: bool = False) -> Iterator[tuple[Document, Features]]:
    """``total`` (document, features) pairs: synthetic stories cloned from the real documents'
    features (``real``, from ``features_of``), each clone dated at random over three years, or
    (``ordered``) on the day its first document arrives, ``PER_DAY`` documents a day."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
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
              *, ordered: bool = False, measured: int = MEASURED) -> dict[str, Any]:
    """Time ``measured`` documents after each checkpoint (stored documents before them), batch
    by batch. One process per checkpoint fills a fresh SQLite store of its own through the
    assigner, up to its checkpoint (all at once, untimed); then the processes time one batch
    each in turn. Why in turn: a shared machine's speed drifts over minutes (one run of stop 30
    found the CPU time of the same batches a third higher than the run before), and filling one
    store past each checkpoint in order timed the sizes minutes apart; alternating puts each
    drift on both sizes alike, so the ratio compares the sizes, not the moments."""
    # Embedded once here, not in each process: the same vectors, one model load.
    real = features_of(documents, config=DetectConfig.packaged())
    context = multiprocessing.get_context("spawn")
    fillers = []
    for checkpoint in checkpoints:
        ours, theirs = context.Pipe()
        process = context.Process(target=_filler, args=(theirs, real, gold, checkpoint, ordered))
        process.start()
        theirs.close()
        fillers.append((checkpoint, ours, process))
    started = time.perf_counter()
    for checkpoint, pipe, _ in fillers:
        _answer(pipe, checkpoint)
        print(f"  {checkpoint:,} documents filed, {time.perf_counter() - started:.0f} s",
              flush=True)
    results: dict[str, Any] = {str(c): {"batches": []} for c in checkpoints}
    for _ in range(-(-measured // BATCH)):
        for checkpoint, pipe, _ in fillers:
            pipe.send("batch")
            results[str(checkpoint)]["batches"].append(_answer(pipe, checkpoint))
    for checkpoint, pipe, process in fillers:
        pipe.send("done")
        results[str(checkpoint)].update(_answer(pipe, checkpoint))
        process.join()
    for checkpoint in checkpoints:
        results[str(checkpoint)].update(_costs(results[str(checkpoint)]["batches"]))
    largest = results[str(max(checkpoints))]
    results["stories"] = largest["stories"]
    results["peak_memory_mib"] = largest["peak_memory_mib"]
    return results


def _answer(pipe: Any, checkpoint: int) -> Any:
    try:
        return pipe.recv()
    except EOFError:
        raise SystemExit(f"story_scale: the process filling {checkpoint:,} documents ended "
                         "without an answer") from None


def _filler(pipe: Any, real: Sequence[Features], gold: Sequence[str], checkpoint: int,
            ordered: bool) -> None:
    """One checkpoint's process: fill a store up to ``checkpoint``, say so, then file a timed
    batch at each "batch"; at "done", the found stories and the peak memory."""
    from storyline.pipeline.assign import StoryAssigner
    from storyline.store import open_store
    from storyline.story.dedupe import content_hash

    stream = synthetic_stream(real, gold, 10 ** 9, ordered=ordered)  # as long as it is read

    def file_batch(store: Any, assigner: StoryAssigner) -> dict[str, float]:
        batch = [next(stream) for _ in range(BATCH)]
        for document, _ in batch:
            document.content_hash = content_hash(document.text)
            document.id = store.add_document(document).id
        tick, cpu_tick = time.perf_counter(), time.process_time()
        assigner.file([d for d, _ in batch], [f for _, f in batch])
        return {"documents": len(batch), "seconds": time.perf_counter() - tick,
                "cpu_seconds": time.process_time() - cpu_tick}

    with tempfile.TemporaryDirectory() as folder, open_store(str(Path(folder) / "scale.db")) as store:
        assigner = StoryAssigner(store)
        for done in range(BATCH, checkpoint + 1, BATCH):
            file_batch(store, assigner)
            if done % 10_000 == 0:
                print(f"  [filling {checkpoint:,}] {done:,} documents filed", flush=True)
        pipe.send("filled")
        while pipe.recv() == "batch":
            pipe.send(file_batch(store, assigner))
        pipe.send({"stories": len(set(store.found_story_of().values())),
                   "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _costs(batches: Sequence[dict[str, float]]) -> dict[str, float]:
    """A checkpoint's figures from its timed batches: the mean cost (every batch, an occasional
    costly one included: the reweighing of a young store's documents, the index file written),
    the median batch's cost per document (the steady cost, which one such batch does not
    move) and the mean over the first ``FIRST`` documents (what stops 20-29 reported)."""
    documents = sum(b["documents"] for b in batches)
    seconds = sum(b["seconds"] for b in batches)
    cpu = sum(b["cpu_seconds"] for b in batches)
    first = batches[: max(1, FIRST // BATCH)]
    return {
        "documents": documents, "seconds": seconds, "cpu_seconds": cpu,
        "docs_per_s": documents / seconds, "ms_per_doc": 1000 * seconds / documents,
        "median_ms_per_doc": float(np.median([1000 * b["seconds"] / b["documents"]
                                              for b in batches])),
        "first_ms_per_doc": (1000 * sum(b["seconds"] for b in first)
                             / sum(b["documents"] for b in first)),
        # CPU time of this process: what filing costs when other work shares the machine.
        "cpu_docs_per_s": documents / cpu,
    }


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
    measured = results[str(checkpoints[0])]["documents"]
    print("\nStory assignment of annotated documents (synthesised from ECB+, stories "
          f"{arrival}), batches of {BATCH}, {measured:,} documents timed after each size:")
    print(f"{'stored documents':>18} {'docs/s':>10} {'ms/doc':>8} {'median batch':>13} "
          f"{f'first {FIRST:,}':>11} {'docs/CPU-s':>11}")
    for checkpoint in checkpoints:
        entry = results[str(checkpoint)]
        print(f"{checkpoint:>18,} {entry['docs_per_s']:>10.0f} {entry['ms_per_doc']:>8.2f} "
              f"{entry['median_ms_per_doc']:>13.2f} {entry['first_ms_per_doc']:>11.2f} "
              f"{entry['cpu_docs_per_s']:>11.0f}")
    low, high = results[str(checkpoints[0])], results[str(checkpoints[-1])]
    ratios = {name: high[key] / low[key] for name, key in
              (("mean", "ms_per_doc"), ("median batch", "median_ms_per_doc"),
               (f"first {FIRST:,}", "first_ms_per_doc"))}
    results["cost_ratio"] = ratios
    print(f"cost at {checkpoints[-1]:,} / cost at {checkpoints[0]:,}: "
          + ", ".join(f"{ratio:.2f}x ({name})" for name, ratio in ratios.items())
          + f"; peak memory {results['peak_memory_mib']:.0f} MiB; "
          f"{results['stories']:,} found stories")
    print("baseline (TF-IDF average-link re-clusters the pile for each new document):")
    for size, seconds in costs.items():
        print(f"{int(size):>18,} stored: {1000 * seconds:>10.0f} ms per new document "
              f"({1 / seconds:.2f} docs/s)")
