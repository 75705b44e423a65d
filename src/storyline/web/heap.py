"""Keeping the serving process's heap from creeping up under a long threaded load.

Why: ``storyline serve`` answers reads on up to 40 threads (anyio's pool), plus the ingest,
fetch and refresh threads. glibc's ``malloc`` gives threads that contend for the heap arenas of
their own, up to eight per core, and memory freed in an arena is returned to the kernel only
from the top of that arena. A page render or a briefing parse allocates and frees many small
objects on whichever thread ran it, so each arena keeps its high-water mark with holes in it:
the process's resident memory grows with the run although the live Python objects do not (the
120 s load run of ``benchmarks/load.py`` showed it; docs/benchmarks.md). Two remedies, both
glibc's own knobs and both harmless elsewhere:

* at most ``ARENAS`` arenas (``mallopt(M_ARENA_MAX)``; it must be set before the threads first
  allocate, so ``tame_heap`` runs before the app is built; children inherit
  ``MALLOC_ARENA_MAX`` through the environment);
* every ``TRIM_SECONDS`` a daemon thread calls ``malloc_trim(0)``, which hands the free pages
  inside every arena (not only at its top) back to the kernel.

The analysis process (``storyline.web.analysis``) inherits the arena cap and tames its heap
its own way: it hands free pages back after each job rather than on a timer, and keeps large
blocks in mappings of their own (``large_blocks_mapped``), since its jobs work on arrays of
megabytes.

On a system without glibc (macOS, musl) ``tame_heap`` and ``large_blocks_mapped`` do nothing.

For a diagnosis, ``STORYLINE_HEAPDUMP=PATH`` makes ``storyline serve`` trace its Python
allocations (``tracemalloc``, which slows it down) and write a snapshot to ``PATH.NNN.snapshot``
on each ``SIGUSR1``, and its analysis process to ``PATH.analysis.NNN.snapshot``;
``benchmarks/load.py --heapdump`` compares two of each.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import os
import signal
import sys
import threading
import time
from functools import lru_cache

ARENAS = 2  # two arenas: little contention left on two cores, and far fewer holes
TRIM_SECONDS = 10.0  # a trim costs a few milliseconds; ten seconds keeps growth small
M_ARENA_MAX = -8  # from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# For the analysis process (``large_blocks_mapped``): blocks from this size up get a mapping of
# their own, and a free heap top larger than this is handed back at once.
MMAP_BYTES = 128 * 1024  # glibc's own starting value, kept instead of raised
TRIM_BYTES = 1024 * 1024
HEAPDUMP_ENV = "STORYLINE_HEAPDUMP"
TRACED_FRAMES = 10  # frames kept per traced allocation: enough to tell a cache from its caller

_started = threading.Event()  # one trimming thread per process, however many apps


@lru_cache(maxsize=1)
def glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has ``malloc_trim``), else None (looked up once:
    ``find_library`` runs ``ldconfig``, and the analysis process trims after every job)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def tame_heap(trim_seconds: float = TRIM_SECONDS) -> bool:
    """Cap the arenas and start the trimming thread (once); False where there is no glibc."""
    libc = glibc()
    if libc is None:
        return False
    if "MALLOC_ARENA_MAX" not in os.environ:  # a user's own setting (read by glibc) stands
        os.environ["MALLOC_ARENA_MAX"] = str(ARENAS)  # for the processes we start
        libc.mallopt(M_ARENA_MAX, ARENAS)
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_trim_forever, args=(libc, trim_seconds), daemon=True,
                         name="storyline-heap-trim").start()
    return True


def large_blocks_mapped() -> bool:
    """Keep each large block (``MMAP_BYTES`` and more) in a mapping of its own, unmapped when
    it is freed; False where there is no glibc. For the analysis process: a briefing works on
    arrays of megabytes (the parser's and the sentence model's activations, the vectors).
    glibc maps the first of them apart, but when one is freed it raises its threshold to that
    size (up to 32 MB), so the next ones come from the heap, where a freed array stays resident
    until the heap is trimmed: within one job the process rose some 30 MB above what the same
    job needs with the threshold kept (measured with 8-article briefings; no slower there)."""
    libc = glibc()
    if libc is None:
        return False
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)  # a fixed threshold is never raised
    libc.mallopt(M_TRIM_THRESHOLD, TRIM_BYTES)
    return True


def trim(libc: ctypes.CDLL | None = None) -> None:
    """Hand the heap's free pages back to the kernel now (where glibc is)."""
    libc = libc or glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _trim_forever(libc: ctypes.CDLL, seconds: float) -> None:
    while True:
        time.sleep(seconds)
        libc.malloc_trim(0)


def dump_heap_on_signal(path: str | None = None, *, from_first_signal: bool = False) -> bool:
    """With ``path`` (default: ``$STORYLINE_HEAPDUMP``), trace allocations from now on and write
    a snapshot on each ``SIGUSR1``; False when there is no path or no such signal. Call it from
    the main thread (Python's rule for signal handlers). ``from_first_signal``: trace from the
    first signal only (its snapshot is then empty, and the next one holds what was allocated
    since and is still alive): for the analysis process, whose model loading would take
    minutes under tracing."""
    import tracemalloc

    path = path or os.environ.get(HEAPDUMP_ENV)
    if not path or not hasattr(signal, "SIGUSR1"):
        return False
    if not from_first_signal:
        tracemalloc.start(TRACED_FRAMES)
    numbers = itertools.count(1)

    def dump(signum: int, frame: object) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(TRACED_FRAMES)
        tracemalloc.take_snapshot().dump(f"{path}.{next(numbers):03d}.snapshot")

    signal.signal(signal.SIGUSR1, dump)
    return True
