"""The one seam for per-document work: map a function over items, here or on worker processes.

Annotating a batch and briefing many stories (``--batch``) are the CPU-heavy, per-item steps.
They go through an ``Executor`` so that where the work runs is decided in one place: this
process (``InProcess``), a local process pool (``LocalPool``, its size from
``storyline.context.Settings.workers``), or later a cluster, which plugs in by implementing the same protocol.

Functions and items given to ``map`` must be picklable (module-level functions, plain data):
everything a worker needs travels with the call, since a worker shares no state with us.

A worker lives and dies with the process that started it. Each holds its own language models
(some 400 MB), so one left behind by a killed parent would keep that memory until the machine
restarts: on Linux the kernel kills a worker the moment its parent dies
(``PR_SET_PDEATHSIG``), elsewhere a watch thread in the worker notices the parent is gone.
Workers ignore SIGINT and SIGTERM: the parent decides when the work stops (a Ctrl+C or a
SIGTERM sent to the whole process group must not break the batch being annotated), and its
``close`` ends them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType
from typing import Protocol, Self, TypeVar

T = TypeVar("T")
R = TypeVar("R")

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters, from <malloc.h>
# Where glibc's own tuning of its heap settles for a process that frees large arrays (its
# largest dynamic mmap threshold on 64-bit, and twice that to trim): see ``heap_for_arrays``.
MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 64 * 2**20
PARENT_WATCH_SECONDS = 0.5  # how often a worker without PR_SET_PDEATHSIG looks for its parent


class Executor(Protocol):
    """Runs ``fn`` over ``items`` and yields the results in the items' order."""

    @property
    def workers(self) -> int:
        """How many items can run at once (1: one after another, in this process)."""
        ...

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None: ...


class _Closing:
    """Context-manager plumbing shared by the executors."""

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


class InProcess(_Closing):
    """Everything in this process, one item after another (no start-up cost, no pickling)."""

    workers = 1

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        return map(fn, items)


class LocalPool(_Closing):
    """A pool of worker processes on this machine, started on first use and kept until
    ``close``, so that each worker loads the language models once for a whole ingest.

    The workers are forked by the thread that first calls ``map``, and Linux ends them when that
    thread ends: use a pool from a thread that outlives it (the main thread, in the CLI)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker, not {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=start_worker,
                                             initargs=(os.getpid(),))
        return self._pool.map(fn, items)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def local_executor(workers: int) -> Executor:
    """A pool of ``workers`` processes, or this process alone when there is one worker."""
    return LocalPool(workers) if workers > 1 else InProcess()


def start_worker(parent: int) -> None:
    """A worker's set-up: it dies with ``parent``, leaves stopping to it, and shares the machine
    as every worker does (``settle_worker``)."""
    die_with_parent(parent)
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.SIG_IGN)
    settle_worker()


def settle_worker() -> None:
    """What every worker process does first, a local pool's, the web app's analysis process
    and a Dask worker alike: one thread for BLAS and torch, and a heap fit for large arrays."""
    one_thread_per_worker()
    heap_for_arrays()


def die_with_parent(parent: int) -> None:
    """End this process when ``parent`` ends, however it ends (SIGKILL included)."""
    if not ask_kernel_to_kill_on_parent_death():
        threading.Thread(target=watch_parent, args=(parent,), daemon=True,
                         name="storyline-parent-watch").start()
    if os.getppid() != parent:  # the parent died before we could ask: nobody would kill us
        os._exit(1)


def ask_kernel_to_kill_on_parent_death() -> bool:
    """Linux's prctl(PR_SET_PDEATHSIG, SIGKILL); False where there is no such call."""
    libc = _linux_libc()
    return libc is not None and libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0


def watch_parent(parent: int) -> None:
    """Exit as soon as ``parent`` is no longer this process's parent (it died; we were adopted)."""
    while os.getppid() == parent:
        time.sleep(PARENT_WATCH_SECONDS)
    os._exit(1)


def heap_for_arrays() -> bool:
    """Undo a ``MALLOC_TRIM_THRESHOLD_`` in the environment (Dask's nannies set 65536 for their
    workers) by setting glibc's thresholds where its own tuning would settle; whether it did.

    Why: setting any threshold stops glibc from raising its mmap threshold as large blocks are
    freed, so every array over 128 KiB (the sentence model's activations, spaCy's arrays) is
    mapped fresh, faulted in page by page and unmapped again at each call: embedding took 2.2x
    the CPU in such a process (800 sentences: 1.8 million page faults against under 100,000
    without the variable, or with it and these thresholds; docs/benchmarks.md)."""
    libc = _linux_libc() if "MALLOC_TRIM_THRESHOLD_" in os.environ else None
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


def _linux_libc() -> ctypes.CDLL | None:
    """The C library on Linux; None elsewhere or where it cannot be found."""
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    return ctypes.CDLL(libc_name, use_errno=True) if libc_name is not None else None


def one_thread_per_worker() -> None:
    """A worker shares the machine with the others: one thread each for BLAS and torch, or
    their thread pools fight over the same cores."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch comes with sentence-transformers
        pass
