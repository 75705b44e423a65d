"""The per-document work on a Dask cluster: read -> extract -> annotate on the workers, storing
and story assignment in one writer here.

``DaskExecutor`` is the executor seam (``storyline.pipeline.executor``) over a
``distributed.Client``: ``DaskExecutor.connect("tcp://HOST:8786")`` joins a running scheduler,
``DaskExecutor.local(n)`` starts a local cluster of ``n`` worker processes (one thread each).
Its ``map`` keeps a bounded window: items are submitted while the weight in flight (submitted,
not yet handed back and consumed) stays within ``limit``, and results come back in the items'
order, so the one writer stores them in input order (the same ids and stories as a local run).

``ingest_on_cluster`` plans the inputs as shards (``storyline.pipeline.shards``: the workers read
the files themselves), has each worker read, extract and annotate its shards with models loaded
once per worker (``ModelsPlugin``, set up when a worker joins, a restarted one included), and
make there what the writer needs of each document (its near-duplicate fingerprint and, when
stories are filed, its story features with the opening embedded: ``annotation.Made``; none for
a text the store held when the ingest began: ``annotation.StoredTexts``), and
hands the documents, in order, to the same writer a local ingest uses (``ingest_documents``),
which then only judges, compares against the stored stories and writes.

A worker that dies loses nothing: the scheduler reruns its tasks elsewhere. A result is consumed
once, from its future, so each document is stored once; and storing is idempotent besides (an
exact copy, by content hash, is only an extra origin), so rerunning the whole ingest adds nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from itertools import chain
from typing import Any, TypeVar

import dask
from distributed import Client, Future, LocalCluster, WorkerPlugin, as_completed, get_worker

from storyline.context import Settings
from storyline.errors import UsageError
from storyline.model import Document, InputError, Mode
from storyline.outlets import Registry
from storyline.pipeline.annotation import Made, Prepared, StoredTexts, made_for_writer
from storyline.pipeline.documents import (
    IngestReport,
    Progress,
    annotate_safely,
    extract_one,
    ingest_documents,
)
from storyline.pipeline.executor import _Closing, settle_worker
from storyline.pipeline.registry import registry_of
from storyline.pipeline.shards import ReadOptions, Shard, plan_shards, read_shard, shard_origin
from storyline.store import Store

T = TypeVar("T")
R = TypeVar("R")

PLUGIN_NAME = "storyline-models"
CONNECT_SECONDS = 5.0  # a scheduler that has not answered by then is taken for absent
# scheme://host:port (tcp, tls, ws, wss, ucx) or host:port; anything else fails before a connect.
SCHEDULER_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9a-fA-F:]+\]|[^\s/:\[\]]+):\d{1,5}$")
MAX_REASON_CHARS = 200  # of a lost shard's reason: distributed explains at length
# A local cluster's workers do not sample their own stacks every 10 ms for the dashboard's
# profile page: that took 4-6% of a worker's CPU a document (two 400-document runs each way,
# docs/benchmarks.md). Workers started by hand: DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False.
WORKER_CONFIG = {"distributed.worker.profile.enabled": False}
_END = object()


class DaskExecutor(_Closing):
    """Per-item work on a Dask cluster, at most ``limit`` (in item weight) in flight."""

    def __init__(self, client: Client, *, limit: int, cluster: LocalCluster | None = None) -> None:
        if limit < 1:
            raise ValueError(f"at least one item must be allowed in flight, not {limit}")
        self.client = client
        self.limit = limit
        self._cluster = cluster
        self.peak_in_flight = 0  # the most weight ever in flight: back-pressure made visible

    @classmethod
    def connect(cls, scheduler: str, *, limit: int, timeout: float = CONNECT_SECONDS
                ) -> DaskExecutor:
        """Join the scheduler at ``scheduler``; ``UsageError`` (one line) when it does not answer
        within ``timeout`` seconds or the address is not one."""
        if not SCHEDULER_ADDRESS.match(scheduler):
            raise UsageError(f"not a Dask scheduler address: {scheduler!r} (expected "
                             "tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786)")
        try:
            with _quiet_connect():
                client = Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: no answer within "
                             f"{timeout:g} s ({type(exc).__name__})") from exc
        return cls(client, limit=limit)

    @classmethod
    def local(cls, workers: int, *, limit: int) -> DaskExecutor:
        """A local cluster of ``workers`` processes, one thread each (the models are not shared
        between threads, and each process holds its own)."""
        if workers < 1:
            raise ValueError(f"a cluster needs at least one worker, not {workers}")
        with dask.config.set(WORKER_CONFIG):  # the nannies hand it to their workers
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")  # any free port: never a clash
        return cls(Client(cluster, set_as_default=False), limit=limit, cluster=cluster)

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def register(self, plugin: WorkerPlugin) -> None:
        """Set ``plugin`` up on every worker, now and on each that joins later."""
        self.client.register_plugin(plugin)

    def map(self, fn: Callable[[T], R], items: Iterable[T], *,
            weight: Callable[[T], int] | None = None,
            on_error: Callable[[T, BaseException], R] | None = None) -> Generator[R, None, None]:
        """``fn`` over ``items`` on the workers, results in the items' order. An item is
        submitted only while the weight in flight stays within ``limit`` (one item at least);
        an item's weight leaves the window once its result has been consumed. ``on_error``
        turns a task that failed for good (its workers kept dying) into a result."""
        weigh = weight if weight is not None else _one
        source = iter(items)
        futures: dict[int, tuple[Future[R], T, int]] = {}
        index_of: dict[object, int] = {}
        finished: set[int] = set()
        completed = as_completed(loop=self.client.loop)
        submitted = next_out = load = 0
        held: Any = next(source, _END)
        try:
            while True:
                while held is not _END and (not futures or load + weigh(held) <= self.limit):
                    future = self.client.submit(fn, held, pure=False)
                    futures[submitted] = (future, held, weigh(held))
                    index_of[future.key] = submitted
                    completed.add(future)
                    load += weigh(held)
                    self.peak_in_flight = max(self.peak_in_flight, load)
                    submitted += 1
                    held = next(source, _END)
                if not futures:
                    return
                while next_out not in finished:
                    finished.add(index_of.pop(next(completed).key))
                finished.discard(next_out)
                future, item, cost = futures.pop(next_out)
                next_out += 1
                yield _result(future, item, on_error)
                load -= cost
        finally:
            if futures:
                self.client.cancel([future for future, _, _ in futures.values()])

    def close(self) -> None:
        # A worker slow to stop on a busy machine is killed by its nanny with a warning that
        # says nothing to the user: the run is over, its results stored.
        with _quiet_distributed(("distributed.nanny",)):
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None


def _one(item: object) -> int:
    return 1


def _result(future: Future[R], item: T, on_error: Callable[[T, BaseException], R] | None) -> R:
    if on_error is None:
        return future.result()
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a task lost for good: its items fail, the run goes on
        return on_error(item, exc)


def _quiet_connect() -> AbstractContextManager[None]:
    """distributed logs each failed connection attempt; the caller says it once, in one line."""
    return _quiet_distributed(("distributed", "distributed.client", "distributed.comm.core"))


@contextmanager
def _quiet_distributed(names: Sequence[str]) -> Iterator[None]:
    """distributed's loggers ``names`` silent (but for critical errors) for a while."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


class ModelsPlugin(WorkerPlugin):
    """What a worker holds for a whole ingest: the read options, the outlets, and the language
    models, loaded once when the worker starts (not by its first shard)."""

    name = PLUGIN_NAME

    def __init__(self, registry: Registry, options: ReadOptions, *, annotate: bool,
                 max_chars: int, features: bool = False,
                 stored: StoredTexts | None = None) -> None:
        self.registry = registry
        self.options = options
        self.annotate = annotate
        self.max_chars = max_chars
        self.features = features  # the ingest files stories: the workers make their features
        # but not for the texts stored before the ingest began (the writer files them no more)
        self.stored = stored if stored is not None else StoredTexts()

    def setup(self, worker: object) -> None:
        settle_worker()
        if self.annotate:
            from storyline.annotate.nlp import load_nlp

            load_nlp()
        if self.features:
            from storyline.annotate.embeddings import load_model

            load_model()

    def process(self, shard: Shard) -> list[Document | Prepared | InputError]:
        """Read, extract and annotate one shard, and make the writer's share of each document
        (``storyline.pipeline.annotation.made_for_writer``); an annotation failure comes
        (``stored=True``) just before its document, as in a local ingest."""
        items = [item if isinstance(item, InputError)
                 else extract_one(item, self.registry, self.max_chars)
                 for item in read_shard(shard, self.options)]
        documents = [item for item in items if isinstance(item, Document)]
        if not documents:
            return [item for item in items if isinstance(item, InputError)]
        report = IngestReport()
        if self.annotate:
            annotate_safely(_annotate_here, documents, report, None)
        failed = {error.origin: error for error in report.failed}
        made = self._made(documents)
        out: list[Document | Prepared | InputError] = []
        for item in items:
            if isinstance(item, Document):
                if item.origin in failed:
                    out.append(failed.pop(item.origin))
                bits = made.get(id(item))
                out.append(Prepared(item, bits) if bits is not None else item)
            else:
                out.append(item)
        return out

    def _made(self, documents: list[Document]) -> dict[int, Made]:
        """The writer's share by ``id()`` of the documents; none when making it failed (the
        writer then makes it, as for a document of a local ingest: the shard is not lost)."""
        try:
            return dict(zip(map(id, documents), made_for_writer(
                documents, features=self.features, stored=self.stored)))
        except Exception:  # noqa: BLE001 - the writer makes what is missing
            logging.getLogger(__name__).warning("the writer's share of a shard could not be "
                                                "made on this worker", exc_info=True)
            return {}


def _annotate_here(documents: list[Document]) -> None:
    from storyline.annotate.annotator import annotate

    annotate(documents)


def process_shard(shard: Shard) -> list[Document | Prepared | InputError]:
    """The task a worker runs: its ``ModelsPlugin`` does the work."""
    plugin = get_worker().plugins[PLUGIN_NAME]
    assert isinstance(plugin, ModelsPlugin)
    return plugin.process(shard)


def _shard_lost(shard: Shard, exc: BaseException) -> list[Document | Prepared | InputError]:
    reason = " ".join(str(exc).split())  # one line, whatever distributed wrote
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[:MAX_REASON_CHARS].rstrip() + "…"
    return [InputError(shard_origin(shard), f"the cluster could not process this shard "
                                            f"({type(exc).__name__}: {reason})")]


def _weight(shard: Shard) -> int:
    return shard.documents


def ingest_on_cluster(
    inputs: Iterable[str],
    store: Store,
    executor: DaskExecutor,
    *,
    mode: Mode | None = None,
    allow_private: bool = False,
    timeout: float | None = None,
    on_item: Progress | None = None,
    annotate: bool = True,
    settings: Settings | None = None,
    registry: Registry | None = None,
    find_stories: bool = False,
    stop: Callable[[], bool] | None = None,
) -> IngestReport:
    """``storyline.pipeline.documents.ingest`` with reading, extraction and annotation on the
    cluster behind ``executor`` (in shards of ``settings.batch_size`` documents); storing and
    story assignment here, in input order, in batches of ``settings.batch_size`` (with
    ``find_stories``, of ``settings.filing_batch``). At most ``executor.limit`` documents are
    in flight."""
    settings = settings if settings is not None else Settings.from_env()
    registry = registry if registry is not None else registry_of(store)
    options = ReadOptions(mode=mode, allow_private=allow_private, timeout=timeout)
    stored = StoredTexts.held_by(store, wanted=find_stories)
    executor.register(ModelsPlugin(registry, options, annotate=annotate,
                                   max_chars=settings.max_chars, features=find_stories,
                                   stored=stored))
    shards = plan_shards(inputs, size=min(settings.batch_size, executor.limit), options=options)
    # closing: a stopped ingest cancels the shards still on the cluster.
    with closing(executor.map(process_shard, shards, weight=_weight, on_error=_shard_lost)) as results:
        return ingest_documents(chain.from_iterable(results), store, annotator=None,
                                on_item=on_item, batch_size=settings.batch_size,
                                find_stories=find_stories, stop=stop,
                                filing_batch=settings.filing_batch)
