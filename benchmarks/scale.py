"""Ingest at scale: the local process pool beside Dask with 1 and 2 workers, in one run.

    python benchmarks/scale.py [DATA] [--docs N] [--db URL] [--no-stories] [--pairs P] [--no-pool]

A corpus of N documents is synthesised from the Timeline17 article pools in DATA
(``tls/timeline17/*/articles.jsonl.gz``): each document takes a real article's date and outlet
and some 600 words of paragraphs drawn (seeded, so the corpus is the same each run) from the
articles of the same pool, so that documents read like news of the same long-running stories
and are not duplicates of one another. It is written as one JSONL file and ingested (read,
extract, annotate, store, story assignment unless ``--no-stories``):

* the local process pool (``Settings.workers`` = 2: the embedded default; not with
  ``--no-pool``);
* Dask, a local cluster of 1 worker process;
* Dask, a local cluster of 2 worker processes

(``--pairs P``: the two Dask runs P times, back to back). Each run prints documents/s over the
whole run (model loading included) and over the steady part (from the 10th percent of documents
stored to the last), and the 2-vs-1 ratio of Dask. It prints too the CPU time per document, in
the steady part, of the client (the one writer: storing, duplicate verdicts, story assignment)
and of the workers together: on a machine shared with other work the rates and their ratio
move with the load, the CPU per document hardly does, and from the 1-worker run's figures the
ratio a quiet 2-core machine would give is printed (``implied_ratio``).
Memory: the resident set (RSS) of the client and of each worker, sampled every half second,
peak over the run and peak over its first and second halves (flat: the second no higher than
the first, give or take the allocator); each run is made in a fresh process of its own, so
that the client's figure is that run's, not the heap the runs before it left. Then search latency p50/p95 over the resulting store
(queries: words of the corpus's titles, each alone and in pairs).

Without ``--db`` each run writes its own SQLite database in a temporary folder (the same corpus
each time). With ``--db URL`` (a PostgreSQL database, say) the runs write disjoint corpora
into that one database, so that no run finds the documents of another already stored (``--runs-before K``:
K runs of N wrote to it before, so this one's corpora start after theirs).

The default N is small (1,000) so the command ends in minutes on a laptop; ``--docs 100000``
is the issue's scale (the estimate printed at the end says how long that would take here).

A store at the issue's scale without annotating 100,000 documents: ``--fill N`` (with ``--db``)
first brings the store up to N documents, synthesised as above but stored with derived
annotations (the sentences only: no NLP) and sketches, filed 100 a named story (see "a store
filled to N documents" below: what is real and what is not); the timed runs then ingest into
it, and after them the web app's search cases (``web_speed.py``'s: common and rare words, two
words, a phrase, one story) are timed through ``store.search`` and ``GET /api/search``, p50
and p95. ``--no-ingest``: fill and search only (a SQLite file to compare, say). Each run also
prints the RSS of the client and of each worker at its start, quarters and end.

    python benchmarks/scale.py [DATA] --db URL --fill 100000 [--docs 300] [--no-ingest]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from common import DEFAULT_DATA
from storyline.context import Settings
from storyline.model import Annotations, Document, InputError, Sentence
from storyline.pipeline.documents import IngestReport, ingest
from storyline.store import Sketch, open_store
from storyline.story.dedupe import SKETCH_KIND, fingerprint, sketch_bytes
from web_speed import (LOCAL, SEARCH_TARGET_MS, _SENTENCE_END, print_rows, summary, timed_ms,
                       queries as web_queries)

WORDS_PER_DOCUMENT = 600
SAMPLE_SECONDS = 0.5
QUERIES = 60
GIB = 1024 ** 3


# --- the corpus -----------------------------------------------------------------------------


@dataclass
class Pool:
    outlet: str
    articles: list[dict[str, Any]]
    paragraphs: list[str]


def load_pools(data: Path) -> list[Pool]:
    pools = []
    for folder in sorted((data / "tls" / "timeline17").glob("*_*")):
        path = folder / "articles.jsonl.gz"
        if not path.is_file():
            continue
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            articles = [json.loads(line) for line in handle if line.strip()]
        paragraphs = [p.strip() for a in articles for p in a.get("text", "").split("\n")
                      if len(p.split()) >= 12]
        pools.append(Pool(folder.name.split("_", 1)[1], articles, paragraphs))
    if not pools:
        sys.exit(f"no Timeline17 pools under {data / 'tls' / 'timeline17'}")
    return pools


def synthesise(pools: list[Pool], number: int) -> dict[str, Any]:
    """Document ``number``: a pool's article gives date and outlet, and paragraphs of the same
    pool (chosen by a generator seeded with ``number``) give some 600 words."""
    chooser = random.Random(number)
    pool = pools[number % len(pools)]
    article = chooser.choice(pool.articles)
    paragraphs: list[str] = []
    words = 0
    while words < WORDS_PER_DOCUMENT:
        paragraph = chooser.choice(pool.paragraphs)
        paragraphs.append(paragraph)
        words += len(paragraph.split())
    title = " ".join(paragraphs[0].split()[:10]).rstrip(",.;:")
    return {"title": title, "text": "\n\n".join(paragraphs), "outlet": pool.outlet,
            "published": article.get("time"), "url": f"https://scale.example/{number}"}


def write_corpus(pools: list[Pool], path: Path, first: int, count: int) -> list[str]:
    """The corpus as JSONL, written as it is made; returns the titles (for the queries)."""
    titles = []
    with path.open("w", encoding="utf-8") as handle:
        for number in range(first, first + count):
            record = synthesise(pools, number)
            titles.append(record["title"])
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return titles


# --- memory ---------------------------------------------------------------------------------


@dataclass
class MemorySampler:
    """Samples the RSS of this process and of the workers ``workers()`` names."""

    workers: Callable[[], list[int]]
    samples: list[tuple[float, str, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            now = time.perf_counter()
            self.samples.append((now, "client", me.memory_info().rss))
            for index, pid in enumerate(self.workers()):
                try:
                    self.samples.append((now, f"worker {index + 1}",
                                         psutil.Process(pid).memory_info().rss))
                except psutil.Error:
                    pass
            self._stop.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop.set()

    def peaks(self) -> dict[str, tuple[int, int, int]]:
        """Per process: (peak, peak of the first half of the run, peak of the second half)."""
        if not self.samples:
            return {}
        start, end = self.samples[0][0], self.samples[-1][0]
        middle = (start + end) / 2
        out: dict[str, tuple[int, int, int]] = {}
        for who in sorted({who for _, who, _ in self.samples}):
            mine = [(t, rss) for t, w, rss in self.samples if w == who]
            first = max((rss for t, rss in mine if t <= middle), default=0)
            second = max((rss for t, rss in mine if t > middle), default=0)
            out[who] = (max(first, second), first, second)
        return out


@contextmanager
def sampling(workers: Callable[[], list[int]]) -> Iterator[MemorySampler]:
    sampler = MemorySampler(workers)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    try:
        yield sampler
    finally:
        sampler.stop()
        thread.join()


def rss_course(sampler: MemorySampler, points: int = 5) -> dict[str, list[int]]:
    """Per process, its RSS at the start of the run, at each quarter of it and at its end (the
    sample nearest each moment): flat over the run, or growing with it."""
    if not sampler.samples:
        return {}
    start, end = sampler.samples[0][0], sampler.samples[-1][0]
    moments = [start + (end - start) * k / (points - 1) for k in range(points)]
    out: dict[str, list[int]] = {}
    for who in sorted({who for _, who, _ in sampler.samples}):
        # (an exited process, not yet reaped, reads 0: not a sample of it)
        mine = [(t, rss) for t, w, rss in sampler.samples if w == who and rss]
        out[who] = [min(mine, key=lambda sample: abs(sample[0] - moment))[1]
                    for moment in moments] if mine else []
    return out


def pool_children() -> list[int]:
    return [child.pid for child in psutil.Process().children(recursive=True)]


# --- one run --------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    documents: int
    seconds: float
    steady: float  # documents/s from the 10th percent stored to the last
    memory: dict[str, tuple[int, int, int]]
    failed: int
    client_cpu: float  # CPU seconds per document, steady: the client (the one writer)
    worker_cpu: float  # and all the workers together
    # and the whole machine (every core: the database server, Dask's nannies and anything
    # else running included); what is neither client nor worker is what the rest costs
    machine_cpu: float = 0.0
    course: dict[str, list[int]] = field(default_factory=dict)  # RSS at 0, 1/4, ..., 4/4

    @property
    def rate(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


class Clock:
    """When each document was stored (``on_item``), with the CPU time the client and the
    workers (``workers()``: their process ids) had used by then. The writer stores a batch of
    ``batch`` documents at once, then files it: the steady figures run from the end of storing a
    batch to the end of storing the last, so that they count whole batches' work."""

    def __init__(self, workers: Callable[[], list[int]], batch: int) -> None:
        self.workers = workers
        self.batch = batch
        self.times: list[float] = []
        self.client_cpu: list[float] = []  # this process, all its threads
        self.worker_cpu: list[float] = []
        self.machine_cpu: list[float] = []

    def __call__(self, item: Document | InputError) -> None:
        if isinstance(item, Document):
            self.times.append(time.perf_counter())
            self.client_cpu.append(time.process_time())
            self.worker_cpu.append(workers_cpu(self.workers()))
            busy = psutil.cpu_times()
            self.machine_cpu.append(busy.user + busy.system + getattr(busy, "nice", 0.0))

    def _first(self) -> int | None:
        """The last document of the first batch stored once a tenth of them were (the models
        loaded by then); None when no batch ends before the last document."""
        count = len(self.times)
        first = -(-(count // 10 + 1) // self.batch) * self.batch - 1
        return first if first < count - 1 else None

    def steady_rate(self) -> float:
        first = self._first()
        if first is None or self.times[-1] <= self.times[first]:
            return 0.0
        return (len(self.times) - 1 - first) / (self.times[-1] - self.times[first])

    def steady_cpu(self, samples: list[float]) -> float:
        """CPU seconds per document over the steady part: unlike the rates, what other
        processes on the machine barely move."""
        first = self._first()
        if first is None:
            return 0.0
        return (samples[-1] - samples[first]) / (len(samples) - 1 - first)


def workers_cpu(pids: list[int]) -> float:
    """User and system CPU seconds the processes ``pids`` have used so far."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def stored_together(settings: Settings, stories: bool) -> int:
    """How many documents the writer stores at once (an older checkout, run as the baseline
    through PYTHONPATH, has no ``filing_batch``: it stored ``batch_size`` at once)."""
    return getattr(settings, "filing_batch", settings.batch_size) if stories else settings.batch_size


def run_local(corpus: Path, db: str, stories: bool) -> Run:
    settings = Settings(workers=2)
    clock = Clock(pool_children, stored_together(settings, stories))
    with open_store(db) as store, sampling(pool_children) as sampler:
        began = time.perf_counter()
        report = ingest([str(corpus)], store, settings=settings, on_item=clock,
                        find_stories=stories)
        seconds = time.perf_counter() - began
    return _run("local pool, 2 processes", report, seconds, clock, sampler)


def run_dask(corpus: Path, db: str, workers: int, stories: bool) -> Run:
    from storyline.pipeline.cluster import DaskExecutor, ingest_on_cluster

    settings = Settings()
    with DaskExecutor.local(workers, limit=settings.in_flight) as executor:
        pids = list(executor.client.run(os.getpid).values())
        clock = Clock(lambda: pids, stored_together(settings, stories))
        with open_store(db) as store, sampling(lambda: pids) as sampler:
            began = time.perf_counter()
            report = ingest_on_cluster([str(corpus)], store, executor, settings=settings,
                                       on_item=clock, find_stories=stories)
            seconds = time.perf_counter() - began
    return _run(f"Dask, {workers} worker{'s' if workers > 1 else ''}", report, seconds, clock,
                sampler)


def _run(name: str, report: IngestReport, seconds: float, clock: Clock,
         sampler: MemorySampler) -> Run:
    stored = len(report.new) + len(report.duplicates) + len(report.already_stored)
    return Run(name, stored, seconds, clock.steady_rate(), sampler.peaks(), len(report.failed),
               clock.steady_cpu(clock.client_cpu), clock.steady_cpu(clock.worker_cpu),
               machine_cpu=clock.steady_cpu(clock.machine_cpu), course=rss_course(sampler))


def in_own_process(corpus: Path, db: str, workers: int, stories: bool) -> Run:
    """One run (``workers`` 0: the local pool) in a fresh process of its own. Why: the
    client's memory is sampled as its process's resident set, and in one process shared by
    the runs each run would start on the heap the ones before it left."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    # Not a Pool: a pool's processes are daemonic, and the local run starts processes of its own.
    child = context.Process(target=_one_run, args=(sending, corpus, db, workers, stories))
    child.start()
    sending.close()
    try:
        run: Run = receiving.recv()
    except EOFError:
        child.join()
        which = f"Dask with {workers} workers" if workers else "the local pool"
        raise SystemExit(f"scale.py: the run of {which} ended without a result "
                         f"(exit code {child.exitcode})") from None
    child.join()
    return run


def _one_run(sending: Any, corpus: Path, db: str, workers: int, stories: bool) -> None:
    sending.send(run_dask(corpus, db, workers, stories) if workers
                 else run_local(corpus, db, stories))
    sending.close()


# --- search latency -------------------------------------------------------------------------


def search_latency(db: str, titles: list[str]) -> tuple[float, float, int]:
    chooser = random.Random(7)
    words = [w.strip(",.;:'\"()").lower() for t in titles for w in t.split()]
    words = [w for w in words if len(w) > 4 and w.isalpha()]
    queries = [chooser.choice(words) for _ in range(QUERIES // 2)]
    queries += [f"{chooser.choice(words)} {chooser.choice(words)}" for _ in range(QUERIES // 2)]
    timings = []
    with open_store(db) as store:
        store.search(queries[0])  # the first query opens the index: not a user's wait
        for query in queries:
            began = time.perf_counter()
            store.search(query, limit=20)
            timings.append((time.perf_counter() - began) * 1000)
        count = store.count()
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))], count


# --- a store filled to N documents (synthesised, annotated cheaply) -------------------------
# What a 100,000-document store costs the readers and the one writer, without annotating
# 100,000 documents (hours here): ``--fill N`` brings the store up to N documents, each
# synthesised as the timed corpora are (``synthesise``, numbers from FILL_FIRST: apart from
# theirs) and stored through the store's interface (``add_documents``, FILL_BATCH a
# transaction: each document's row, its annotations and the search index's rows, tsvector and
# GIN entries, as an ingest's ``add_document`` writes them),
# with its near-duplicate sketch (``save_sketches``: what the writer's dedupe reads on
# starting) and filed, FILL_STORY_SIZE at a time, into named stories (``add_to_story``). Their
# annotations are derived, not annotated: the sentences only (split at . ! ? before a
# capital), no entities, dates or quotes; story detection's features are not made for them.

FILL_FIRST = 10_000_000
FILL_BATCH = 500  # documents per round of sketches and story filing
FILL_STORY_SIZE = 100
SEARCH_REPEAT = 20


def filled_document(pools: list[Pool], number: int) -> tuple[Document, Sketch]:
    """Filled document ``number``: its text, sentences (as annotations) and sketch."""
    record = synthesise(pools, FILL_FIRST + number)
    text = record["text"]
    made = fingerprint(text)
    document = Document(
        origin=record["url"], text=text, url=record["url"], title=record["title"],
        outlet=record["outlet"], published=record["published"], language="en",
        words=len(text.split()), content_hash=made.content_hash,
        annotations=Annotations(sentences=sentence_spans(text)))
    return document, Sketch(SKETCH_KIND, sketch_bytes(made.minhash))


def sentence_spans(text: str) -> list[Sentence]:
    """The sentences of ``text`` with their offsets, split as ``web_speed.py`` splits (no parse)."""
    spans, start = [], 0
    for paragraph in text.split("\n\n"):
        offset = text.index(paragraph, start)
        at = 0
        for piece in _SENTENCE_END.split(paragraph):
            at = paragraph.index(piece, at)
            if piece.strip():
                spans.append(Sentence(offset + at, offset + at + len(piece), piece))
            at += len(piece)
        start = offset + len(paragraph)
    return spans


@dataclass
class Fill:
    before: int
    after: int
    seconds: float


def fill_store(db: str, pools: list[Pool], target: int) -> Fill:
    """Bring the store at ``db`` up to ``target`` documents (see above). Resumable: filling
    goes on after the last filled document stored."""
    began = time.perf_counter()
    with open_store(db) as store:
        before = store.count()
        number = _filled_so_far(store, pools)
        while store.count() < target:
            made = [filled_document(pools, number + k)
                    for k in range(min(FILL_BATCH, target - store.count()))]
            ids = [added.id for added in store.add_documents([document for document, _ in made])]
            store.save_sketches({doc: sketch for doc, (_, sketch) in zip(ids, made)})
            _file_filled(store, number, ids)
            number += len(made)
            if number % 10_000 < len(made):
                print(f"    filled: {store.count()} documents stored, "
                      f"{time.perf_counter() - began:.0f} s", flush=True)
        after = store.count()
    return Fill(before, after, time.perf_counter() - began)


def _file_filled(store: Any, first: int, ids: list[str]) -> None:
    """Filled documents ``first``, ``first + 1``, ... (``ids``) into their named stories."""
    by_story: dict[int, list[str]] = {}
    for k, doc in enumerate(ids):
        by_story.setdefault((first + k) // FILL_STORY_SIZE + 1, []).append(doc)
    for number, docs in by_story.items():
        name = f"filled story {number}"
        story = store.story(name) or store.create_story(name)
        store.add_to_story(story.id, docs)


def _filled_so_far(store: Any, pools: list[Pool]) -> int:
    """How many filled documents the store holds (filled in order: the first one missing)."""
    low, high = 0, store.count()
    while low < high:
        middle = (low + high) // 2
        document, _ = filled_document(pools, middle)
        if store.find_by_hash(document.content_hash or "") is not None:
            low = middle + 1
        else:
            high = middle
    return low


# --- search at scale: the web app's cases ----------------------------------------------------


def search_cases(db: str, pools: list[Pool], repeat: int = SEARCH_REPEAT
                 ) -> dict[str, dict[str, float]]:
    """``web_speed.py``'s search cases (a common word, a rare word, two words, a phrase, one
    story), their words drawn from the sentences of the pools the documents are made of, each
    timed ``repeat`` times through the library (``store.search``) and through the web app's
    ``GET /api/search`` (its ASGI app in process: routing, store and JSON, no network). Prints
    each case and, per path, p50 and p95 over all its requests."""
    from starlette.testclient import TestClient

    from storyline.web import create_app

    sentences = [s.strip() for p in pools for paragraph in p.paragraphs
                 for s in _SENTENCE_END.split(paragraph) if 6 <= len(s.split()) <= 60]
    results: dict[str, dict[str, float]] = {}
    every: dict[str, list[float]] = {"store.search": [], "/api/search": []}
    with open_store(db) as store:
        story = store.story("filled story 7")
        count = store.count()
        cases = [(name, {**params, "story": str(story.id)} if "story" in params else params)
                 for name, params in web_queries(sentences, random.Random(20260611))
                 if story is not None or "story" not in params]

        def library(params: dict[str, str]) -> int:
            return len(store.search(params["q"], story=int(params["story"])
                                    if "story" in params else None))

        for name, params in cases:
            hits = library(params)  # the first: the index's pages come into the cache
            times = timed_ms(lambda query=params: library(query), repeat)
            every["store.search"] += times
            results[f"store.search  {name}"] = {**summary(times), "hits": float(hits)}
    with TestClient(create_app(db), base_url=LOCAL) as client:
        for name, params in cases:
            answer = client.get("/api/search", params=params)
            assert answer.status_code == 200, answer.text
            times = timed_ms(lambda query=params: client.get("/api/search", params=query),
                             repeat)
            every["/api/search"] += times
            results[f"/api/search  {name}"] = {**summary(times), "hits": float(len(answer.json()))}
    print_rows(f"search over {count} stored documents ({repeat} timed requests a case)",
               results, SEARCH_TARGET_MS)
    for path, times in every.items():
        overall = summary(times)
        print(f"{path}, all {len(times)} requests: p50 {statistics.median(times):.1f} ms, "
              f"p95 {overall['p95']:.1f} ms, max {overall['max']:.1f} ms "
              f"(target p95 <= {SEARCH_TARGET_MS:g} ms)")
    return results


# --- report ---------------------------------------------------------------------------------


def print_run(run: Run) -> None:
    print(f"{run.name:<26} {run.documents:>6} docs  {run.seconds:7.1f} s  "
          f"{run.rate:6.2f} docs/s  (steady {run.steady:6.2f} docs/s)"
          + (f"  {run.failed} failed" if run.failed else ""))
    rest = run.machine_cpu - run.client_cpu - run.worker_cpu
    print(f"    CPU per document (steady): client {run.client_cpu * 1000:5.0f} ms, workers "
          f"{run.worker_cpu * 1000:5.0f} ms, the rest of the machine {rest * 1000:5.0f} ms "
          "(database server, nannies, anything else running)")
    for who, (peak, first, second) in run.memory.items():
        print(f"    {who:<10} peak RSS {peak / GIB:5.2f} GiB  (first half {first / GIB:5.2f}, "
              f"second half {second / GIB:5.2f})")
    print_course(run)


def print_course(run: Run) -> None:
    for who, course in run.course.items():
        print(f"    {who:<10} RSS at start, 1/4, 1/2, 3/4, end of the run: "
              + ", ".join(f"{rss / GIB:.2f}" for rss in course) + " GiB")


def implied_ratio(one: Run) -> str:
    """What 2 workers would give against 1 on a quiet machine of 2 cores, from the CPU per
    document measured with 1 worker (W: the worker's, C: the client's). One worker: the worker
    and the client each have a core, the slower sets the pace, 1 / max(W, C). Two workers:
    three processes share the 2 cores, at most 2 / (W + C), and the client alone at most
    1 / C. The ratio is 2W / (W + C) while C <= W."""
    work, client = one.worker_cpu, one.client_cpu
    if not work or not client:
        return "CPU per document not measured: no ratio implied"
    single = 1 / max(work, client)
    double = min(2 / (work + client), 1 / client)
    # The same with all the machine's CPU but the workers' on the writer's side: the database
    # server on the same machine shares the cores too (a lower bound on what 2 cores give).
    rest = max(one.machine_cpu - work, client)
    shared = min(2 / (work + rest), 1 / client) / (1 / max(work, rest))
    return (f"implied by the CPU per document with 1 worker (client {client * 1000:.0f} ms, "
            f"worker {work * 1000:.0f} ms): on a quiet 2-core machine, 2 workers "
            f"{double / single:.2f}x one ({shared:.2f}x counting all the machine's other CPU, "
            f"{rest * 1000:.0f} ms); on 3 cores or more, {min(2 / work, 1 / client) / single:.2f}x")


def add_fill_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fill", type=int, default=0, metavar="N",
                        help="first bring the --db store up to N documents, synthesised and "
                             "stored with derived annotations (no NLP), then time the web "
                             "app's search cases on it after the runs")
    parser.add_argument("--no-ingest", action="store_true",
                        help="no timed ingest: only --fill and the search cases")
    parser.add_argument("--rank-candidates", type=int, default=None, metavar="N",
                        help="search ranks at most N matches of a query (default: the packaged "
                             "rank_candidates of data/search.json): the trade-off, measured")
    parser.add_argument("--search-repeat", type=int, default=SEARCH_REPEAT,
                        help=f"timed requests per search case (default {SEARCH_REPEAT})")


def rank_at_most(candidates: int) -> None:
    """Every store this process opens ranks at most ``candidates`` matches of a search."""
    from storyline.store import _common

    packaged = _common.SearchRules.packaged.__func__  # type: ignore[attr-defined]

    def rules(cls: type[_common.SearchRules]) -> _common.SearchRules:
        return dataclasses.replace(packaged(cls), rank_candidates=candidates)

    _common.SearchRules.packaged = classmethod(rules)  # type: ignore[method-assign, assignment]
    print(f"search ranks at most {candidates} matches of a query (packaged: "
          f"{packaged(_common.SearchRules).rank_candidates})")


def filled(db: str, pools: list[Pool], target: int) -> None:
    fill = fill_store(db, pools, target)
    print(f"fill: {fill.before} -> {fill.after} documents stored in {fill.seconds:.0f} s "
          f"({(fill.after - fill.before) / fill.seconds if fill.seconds else 0:.0f} docs/s); "
          f"synthesised, annotations derived (sentences only, no NLP), sketches made, "
          f"filed {FILL_STORY_SIZE} a named story; not filed by story detection", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--docs", type=int, default=1000, help="documents per run (default 1000)")
    parser.add_argument("--db", default=None,
                        help="one database URL for all runs (default: a SQLite file each)")
    parser.add_argument("--no-stories", action="store_true",
                        help="store without story assignment (the writer's share left out)")
    parser.add_argument("--pairs", type=int, default=1,
                        help="Dask runs of 1 then 2 workers, back to back, this many times "
                             "(default 1): on a shared machine the ratio of one pair is noisy")
    add_fill_arguments(parser)
    parser.add_argument("--runs-before", type=int, default=0, metavar="K",
                        help="with --db: K runs of --docs documents wrote to this database "
                             "before (their corpora are skipped, so that this run's documents "
                             "are new to it, not texts it holds already)")
    parser.add_argument("--no-pool", action="store_true",
                        help="leave the local pool's run out (only the Dask pairs)")
    args = parser.parse_args()
    pools = load_pools(args.data)
    if args.fill and not args.db:
        parser.error("--fill needs --db (the database to fill)")
    if args.rank_candidates:
        rank_at_most(args.rank_candidates)
    if args.fill:
        filled(args.db, pools, args.fill)
    if args.no_ingest:
        search_cases(args.db or parser.error("--no-ingest needs --db"), pools, args.search_repeat)
        return
    stories = not args.no_stories
    local_run = [] if args.no_pool else [0]  # 0: the local pool
    plan = local_run + [workers for _ in range(args.pairs) for workers in (1, 2)]
    with tempfile.TemporaryDirectory(prefix="storyline-scale-") as folder:
        work = Path(folder)
        corpora, titles = [], []
        for index in range(len(plan)):
            path = work / f"corpus{index}.jsonl"
            first = (args.runs_before + index) * args.docs if args.db else 0
            if args.db or index == 0:
                titles += write_corpus(pools, path, first, args.docs)
                corpora.append(path)
            else:
                corpora.append(corpora[0])
        dbs = [args.db or str(work / f"run{index}.db") for index in range(len(plan))]
        print(f"{args.docs} synthetic documents of ~{WORDS_PER_DOCUMENT} words per run, from "
              f"{len(pools)} Timeline17 pools; story assignment {'on' if stories else 'off'}; "
              f"{os.cpu_count()} cores")
        runs = []
        for index, workers in enumerate(plan):
            runs.append(in_own_process(corpora[index], dbs[index], workers, stories))
            print_run(runs[-1])
        for pair in range(args.pairs):
            one, two = runs[len(local_run) + 2 * pair], runs[len(local_run) + 1 + 2 * pair]
            print(f"Dask 2 workers vs 1{f' (pair {pair + 1})' if args.pairs > 1 else ''}: "
                  f"{two.rate / one.rate:.2f}x overall, "
                  f"{two.steady / one.steady if one.steady else 0:.2f}x steady "
                  f"(the issue asks >= 1.7x)"
                  + (f"; Dask 2 workers vs the local pool: {two.rate / runs[0].rate:.2f}x"
                     if local_run else ""))
            print("    " + implied_ratio(one))
        p50, p95, count = search_latency(dbs[-1], titles)
        print(f"search over {count} stored documents: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
              f"({QUERIES} queries)")
        best = max(run.steady or run.rate for run in runs)
        print(f"at the best steady rate here ({best:.1f} docs/s), 100,000 documents would take "
              f"about {100_000 / best / 3600:.1f} h")
    if args.fill:
        search_cases(args.db, pools, args.search_repeat)


if __name__ == "__main__":
    main()
