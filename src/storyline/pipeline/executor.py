"""The one seam for per-document work: map a function over items, here or on worker processes.

Annotating a batch and briefing many stories (``--batch``) are the CPU-heavy, per-item steps.
They go through an ``Executor`` so that where the work runs is decided in one place: this
process (``InProcess``), a local process pool (``LocalPool``, its size from
``storyline.context.Settings.workers``), or later a cluster, which plugs in by implementing the same protocol.

Functions and items given to ``map`` must be picklable (module-level functions, plain data):
everything a worker needs travels with the call, since a worker shares no state with us.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType
from typing import Protocol, Self, TypeVar

T = TypeVar("T")
R = TypeVar("R")


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
    ``close``, so that each worker loads the language models once for a whole ingest."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker, not {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             initializer=one_thread_per_worker)
        return self._pool.map(fn, items)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def local_executor(workers: int) -> Executor:
    """A pool of ``workers`` processes, or this process alone when there is one worker."""
    return LocalPool(workers) if workers > 1 else InProcess()


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
