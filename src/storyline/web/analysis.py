"""Where the web app's heavy work runs: annotating, briefing, what is new since a visit.

That work is CPU-bound Python (spaCy, the sentence model) and holds the interpreter lock for
most of its run. In the serving process it would share that lock with every page and API read:
on two cores, four writers made reads three times slower. ``storyline serve`` therefore runs it
in one **analysis process** (``AnalysisProcess``) at a lower CPU priority (``nice``), so that a
read waits for nothing but a core, and the kernel gives the core to the read first. The
analysis process loads the models once, ends with the server (``executor.start_worker``), and is
started again after a crash, after ``JOBS_PER_PROCESS`` jobs, or once its resident memory passes
``analysis_rss_mb`` (``data/web.json``). It hands the heap a job freed back to the kernel after
each job (``after_job``), and keeps large blocks in mappings of their own
(``storyline.web.heap.large_blocks_mapped``), so that its memory follows what it holds.

The process is started by one long-lived thread of its own (``storyline-analysis-owner``), never
by the thread that happens to ask for the first job. Linux delivers a child's death signal
(``PR_SET_PDEATHSIG``, which makes the analysis process die with the server) when the *thread*
that forked the child ends, not its process: started from a request thread that the thread
pool later retires, or from a background briefing refresh, the analysis process was killed
with that thread, and the next job failed with "the analysis process died". ``InProcess`` keeps the work in this process, one job at a time,
for the library's own use and for tests that do not need a second process.

Either way one analysis runs at a time (the models are shared, and on a small machine two
would only share its cores), and a job stops between its steps once its requester has gone:
the serving side raises a flag the analysis process reads (``Stop``).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any, Protocol, TypeVar

from storyline.briefing import Briefing, NewSince
from storyline.model import Document
from storyline.outlets import Registry
from storyline.pipeline.executor import start_worker
from storyline.resources import read_data
from storyline.web.heap import HEAPDUMP_ENV, dump_heap_on_signal, large_blocks_mapped, trim

R = TypeVar("R")
Stopped = Callable[[], bool]  # whether the job's requester has gone
ANALYSIS_NICENESS = 10  # how much lower than the server the analysis runs (0-19)
POLL_SECONDS = 0.2  # how often a waiting request looks whether its client is still there
ANALYSIS_HEAPDUMP = "analysis"  # $STORYLINE_HEAPDUMP.analysis.NNN.snapshot: this process's dumps
# After this many jobs the analysis process is replaced by a fresh one (the next job loads the
# models again, a few seconds): spaCy's string store and the caches grow with every new text,
# so a process that lived for ever would grow for ever.
JOBS_PER_PROCESS = 500
# ... and sooner once its resident memory passes this many MB (a few long texts can grow it
# faster than the job count would notice); checked after each job.
RSS_CAP_MB: float = read_data("web.json")["analysis_rss_mb"]


class Gone(Exception):
    """The client of a request went away: its analysis stopped."""


def never() -> bool:
    """A requester that never leaves."""
    return False


class Analyst(Protocol):
    """Runs one analysis job at a time: ``job(*args, stopped)`` and its result."""

    def run(self, job: Callable[..., R], *args: Any, cancelled: Stopped = never) -> R: ...

    def exclusive(self) -> AbstractContextManager[None]:
        """No job runs while the block does (later jobs wait): for maintenance and tests."""
        ...

    def close(self) -> None: ...


class _Turns:
    """One job at a time."""

    def __init__(self) -> None:
        self._turn = threading.Lock()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._turn:
            yield


class InProcess(_Turns):
    """The jobs in this process, one after another."""

    def run(self, job: Callable[..., R], *args: Any, cancelled: Stopped = never) -> R:
        with self._turn:
            stop_if(cancelled)
            return job(*args, cancelled)

    def close(self) -> None:
        pass


class AnalysisProcess(_Turns):
    """The jobs in one child process at a lower priority, started on first use by a thread that
    lives as long as this object (see the module's note on ``PR_SET_PDEATHSIG``)."""

    def __init__(self, niceness: int = ANALYSIS_NICENESS, jobs_per_process: int = JOBS_PER_PROCESS,
                 rss_cap_mb: float = RSS_CAP_MB) -> None:
        super().__init__()
        self._niceness = niceness
        self._jobs_per_process = jobs_per_process
        self._rss_cap_mb = rss_cap_mb
        self._context = multiprocessing.get_context("spawn")  # never fork a threaded server
        self._stop_flag = self._context.Value("b", 0, lock=False)
        self._pool: ProcessPoolExecutor | None = None
        # Submits every job: the analysis process (and the pool's manager thread, which starts
        # its replacements) are then children of this thread, which ends only with ``close``.
        self._owner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storyline-analysis-owner")
        self.renewals = 0  # processes replaced for their memory (for tests and the benchmark)

    def run(self, job: Callable[..., R], *args: Any, cancelled: Stopped = never) -> R:
        with self._turn:
            stop_if(cancelled)
            self._stop_flag.value = 0
            try:
                future: Future[tuple[R, float]] = self._owner.submit(self._submit, job, args).result()
                result, resident_mb = self._wait(future, cancelled)
            except BrokenProcessPool as exc:
                self._pool = None  # started afresh by the next job
                raise RuntimeError("the analysis process died (out of memory?); try again") from exc
            if resident_mb > self._rss_cap_mb:
                self._retire()
                self.renewals += 1
            return result

    def close(self) -> None:
        self._retire()
        self._owner.shutdown(wait=False)

    def _submit(self, job: Callable[..., R], args: tuple[Any, ...]) -> Future[tuple[R, float]]:
        """On the owner thread: the job handed to the analysis process (started if need be)."""
        return self._started().submit(_in_worker, job, args)

    def _retire(self) -> None:
        """Let the current process go (it ends once idle); the next job starts a fresh one."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=self._context, initializer=_start_analysis_worker,
                initargs=(os.getpid(), self._niceness, self._stop_flag),
                max_tasks_per_child=self._jobs_per_process)
        return self._pool

    def _wait(self, future: Future[R], cancelled: Stopped) -> R:
        while True:
            try:
                return future.result(timeout=POLL_SECONDS)
            except TimeoutError:
                if cancelled():
                    self._stop_flag.value = 1  # the worker stops at its next look


# --------------------------------------------------------------------------- in the worker

# The analysis process's own flag (set once by its initializer): raised by the server when the
# requester of the running job has gone. It lives in the worker process only.
_worker_stop: Any = None


def _start_analysis_worker(parent: int, niceness: int, stop_flag: Any) -> None:
    global _worker_stop
    start_worker(parent)
    os.nice(niceness)
    _worker_stop = stop_flag
    large_blocks_mapped()  # its arenas are capped by MALLOC_ARENA_MAX, inherited from the server
    heapdump = os.environ.get(HEAPDUMP_ENV)
    if heapdump:  # the server's diagnosis covers this process too, in files of its own
        dump_heap_on_signal(f"{heapdump}.{ANALYSIS_HEAPDUMP}", from_first_signal=True)


def _worker_stopped() -> bool:
    return bool(_worker_stop is not None and _worker_stop.value)


def _in_worker(job: Callable[..., R], args: tuple[Any, ...]) -> tuple[R, float]:
    """The job's result and this process's resident memory after it (MB), measured once the
    heap's free pages went back to the kernel (see ``after_job``)."""
    return job(*args, _worker_stopped), after_job()


def after_job() -> float:
    """The analysis process's resident memory (MB) once the job's garbage is handed back.

    A briefing of a long story allocates and frees tens of megabytes (its documents, their
    sentences and parses, the vectors); glibc keeps freed pages inside its heap, and the jobs
    left more and more of them behind: under the load benchmark the free bytes inside the heap
    rose from 41 to 52 MB over 16 jobs while the bytes in use rose by 3 MB. ``malloc_trim``
    after each job, while the process waits for the next one, hands them back; it costs a few
    milliseconds of a job of seconds. The serving process trims on a timer
    (``storyline.web.heap``); this one trims when its garbage is greatest, and before its
    memory is compared with ``analysis_rss_mb``."""
    trim()
    return own_resident_mb()


def own_resident_mb() -> float:
    """This process's resident memory in MB (Linux's /proc; 0 where there is none)."""
    if not sys.platform.startswith("linux"):
        return 0.0
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


# --------------------------------------------------------------------------- the jobs


def stop_if(stopped: Stopped) -> None:
    """Raise ``Gone`` when the job's requester has gone."""
    if stopped():
        raise Gone


def annotate(documents: list[Document], stopped: Stopped) -> list[Document]:
    """``documents`` annotated (those that have no annotations yet)."""
    from storyline.pipeline.stories import annotated  # loads the models on first use

    stop_if(stopped)
    return annotated(documents)


def brief(documents: list[Document], words: int, registry: Registry | None, batch: int,
          stopped: Stopped) -> Briefing:
    """The briefing of documents read from a request: the originals (not ``duplicate_of``)
    annotated ``batch`` at a time, stopping between batches once ``stopped``."""
    from storyline.pipeline.stories import annotated
    from storyline.story.brief import brief_documents

    distinct = [document for document in documents if not document.duplicate_of]
    for start in range(0, len(distinct), max(1, batch)):
        stop_if(stopped)
        annotated(distinct[start:start + batch])
    stop_if(stopped)
    return brief_documents(documents, words=words, registry=registry)


def story_briefing(db_url: str | None, story: int, words: int, stopped: Stopped
                   ) -> tuple[str, Briefing] | None:
    """(documents key, briefing) of a stored story, made and stored when not current."""
    from storyline.pipeline.stories import stored_briefing
    from storyline.store import open_store

    with open_store(db_url, create=False) as store:
        return stored_briefing(store, story, words)


def correct_source(db_url: str | None, doc_id: str, title: str | None, outlet: str | None,
                   published: str | None, stopped: Stopped) -> Document:
    """A stored source corrected (``storyline.pipeline.curation.correct``): a new date or outlet
    annotates it again, so the correction is analysis work too."""
    from storyline.pipeline import curation
    from storyline.store import open_store

    with open_store(db_url, create=False) as store:
        return curation.correct(store, doc_id, title=title, outlet=outlet, published=published)


def new_since(db_url: str | None, story: int, briefing: Briefing, visited: datetime,
              stopped: Stopped) -> NewSince | None:
    """What was filed into ``story`` after ``visited`` (it may annotate and embed)."""
    from storyline.pipeline.stories import new_since_visit
    from storyline.store import open_store

    with open_store(db_url, create=False) as store:
        return new_since_visit(store, story, briefing, visited)
