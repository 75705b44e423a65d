"""What the API and the pages share: documents from request bodies, cached story briefings and
background ingest jobs. Everything here is a small wrapper over the library (pipeline, brief,
store); the routes stay thin.

All annotation and briefing work goes to the app's ``Analyst`` (``storyline.web.analysis``):
one job at a time, in the server's own process or, under ``storyline serve``, in an analysis
process of its own, so that reads never wait behind it.

What one request may cost is bounded here too: a briefing of posted articles analyses each
distinct text once (copies are folded), and stops between batches once its client has gone;
the ingest jobs' queue is bounded, and their pages are fetched by a pool that gives one host
only a share of its workers (``storyline.web.hostpool``).
"""

from __future__ import annotations

import itertools
import json
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from datetime import datetime
from pathlib import Path, PurePath
from typing import Literal

from storyline.briefing import Briefing, NewSince
from storyline.model import Document, Hints, InputError, Mode, Source
from storyline.outlets import Registry
from storyline.pipeline.catalogue import StoryEntry
from storyline.pipeline.documents import extract_sources, ingest_sources
from storyline.read.fetch import Fetcher
from storyline.read.readers import fetch_url, read_file
from storyline.store import Store
from storyline.web import analysis
from storyline.web.analysis import Analyst, never, stop_if
from storyline.web.analysis import Stopped as Cancelled
from storyline.web.hostpool import HostPool, host_of
from storyline.web.requests import Bounds

StoreOpener = Callable[[], AbstractContextManager[Store]]
FetcherFactory = Callable[[], Fetcher]


@dataclass(frozen=True)
class Article:
    """What the web app is handed: pasted text or an API document's body (``data``, with ``mode``
    None to sniff), an uploaded file (``upload``: read as ``storyline ingest`` reads a file of
    that name, so a .jsonl, .csv or .warc upload gives many articles), or a URL (``data`` None)."""

    origin: str
    data: str | bytes | None = None
    mode: Mode | None = None
    hints: Hints = field(default_factory=Hints)
    upload: bool = False

    @classmethod
    def from_url(cls, url: str) -> Article:
        return cls(origin=url)


def sources_of(article: Article, fetcher: Fetcher) -> Iterator[Source | InputError]:
    """The raw sources an article gives: one, or one per record of an uploaded record file."""
    if article.data is None:
        yield fetch_url(fetcher, article.origin)
    else:
        yield from local_sources(article)


def local_sources(article: Article) -> Iterator[Source | InputError]:
    """The sources of an article that needs no fetch (pasted text, an upload, an API body).
    A source the store could not keep (text that is not valid Unicode, as a JSON record's lone
    surrogate ``\\ud800``) becomes an error of its own; a reader that fails ends the article
    with an error and leaves the other articles alone."""
    assert article.data is not None
    try:
        if article.upload:
            for item in _uploaded(article.origin, article.data):
                yield sound(item)
        else:
            yield sound(Source(origin=article.origin, data=article.data, mode=article.mode,
                               hints=article.hints))
    except Exception as exc:  # noqa: BLE001 - one bad upload must not sink the others
        yield InputError(article.origin, f"could not be read ({type(exc).__name__}: {exc})")


def sound(item: Source | InputError) -> Source | InputError:
    """``item``, or an error when its text or what is known about it is not valid Unicode."""
    if isinstance(item, InputError):
        return item
    try:
        if isinstance(item.data, str):
            item.data.encode("utf-8")
        json.dumps(asdict(item.hints), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return InputError(item.origin, f"not valid Unicode text ({exc.reason}: "
                                       f"{exc.object[exc.start:exc.end]!a}): left out")
    return item


def _uploaded(filename: str, data: str | bytes) -> Iterator[Source | InputError]:
    """An upload read by the file reader (suffixes, .gz, records, WARC) from a temporary copy;
    origins name the uploaded file ("export.jsonl:3"), not the copy."""
    name = re.sub(r"[^\w.\-]+", "_", PurePath(filename).name).strip("._") or "upload"
    with tempfile.TemporaryDirectory(prefix="storyline-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        for item in read_file(path, None):
            item.origin = filename + item.origin[len(str(path)):]
            yield item


def read_articles(articles: Sequence[Article], fetcher: Fetcher, registry: Registry | None = None,
                  cancelled: Cancelled = never) -> tuple[list[Document], list[InputError]]:
    """The documents of ``articles`` numbered S1.. in order, later copies marked as duplicates
    (as ``storyline.pipeline.documents.extract`` does for input strings), and the failures.
    ``registry`` names the outlets (None: the packaged outlets). Raises ``Gone`` once
    ``cancelled`` says so (checked between articles)."""
    sources = (source for article in _until_cancelled(articles, cancelled)
               for source in sources_of(article, fetcher))
    documents: list[Document] = []
    errors: list[InputError] = []
    for result in extract_sources(sources, registry):
        if isinstance(result, Document):
            documents.append(result)
        else:
            errors.append(result)
    return documents, errors



def originals(documents: Sequence[Document]) -> list[Document]:
    """The documents that are not copies of an earlier one: the ones worth analysing."""
    return [document for document in documents if not document.duplicate_of]


def _until_cancelled(articles: Sequence[Article], cancelled: Cancelled) -> Iterator[Article]:
    for article in articles:
        stop_if(cancelled)
        yield article


def brief_articles(documents: list[Document], words: int, analyst: Analyst, registry: Registry | None = None,
                   *, cancelled: Cancelled = never, batch: int = 4) -> Briefing:
    """The briefing of documents read from a request; ``registry``: the database's outlets.
    Copies (``duplicate_of``) are listed, never annotated; the originals are annotated
    ``batch`` at a time, and the work stops (``Gone``) between batches once ``cancelled`` says
    the client has gone."""
    return analyst.run(analysis.brief, documents, words, registry, batch, cancelled=cancelled)


class Memo:
    """A small least-recently-used cache (rendered pages, parsed briefings): at most ``size``
    items, its sizes kept in ``data/web.json`` (``Bounds``)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[object, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object) -> object | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: object, value: object) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class Catalogue:
    """The list of stories (``story_entries``), made again only when the store changed: making
    it reads every story's documents, which grows with the store, and every home page and
    ``GET /api/stories`` asks for it."""

    def __init__(self, size: int = Bounds.catalogues) -> None:
        self.made = Memo(size)  # by change token, which is per store connection

    def entries(self, store: Store) -> list[StoryEntry]:
        from storyline.pipeline.catalogue import story_entries

        key = store.change_token()
        found = self.made.get(key)
        if isinstance(found, list):
            return found
        entries = story_entries(store)
        self.made.put(key, entries)
        return entries


class StoryBriefings:
    """The briefing of a stored story: served from the ``briefings`` table while the story's
    documents are unchanged (``Store.story_documents_key``), made anew (and stored) by the
    ``analyst`` when they changed. Only one thread makes a given story's briefing at a time.

    ``get`` waits for a new briefing; ``current_or_previous`` does not when the story has an
    earlier one: it answers with that (its key then differs from the story's documents key)
    while the new one is made in the background. A reader must not wait seconds behind the
    analysis queue because a writer has just added a source."""

    def __init__(self, analyst: Analyst, db_url: str | None, size: int = Bounds.parsed_briefings) -> None:
        self._analyst = analyst
        self._db_url = db_url
        self.parsed = Memo(size)  # by (story, words, documents key)
        # One per story that was read or written (a few bytes each): bounded by the stories
        # of the database, since only stored stories get here.
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def cached(self, store: Store, story: int, words: int) -> tuple[str, Briefing] | None:
        """(documents key, briefing) if the stored briefing is current, without computing one."""
        from storyline.pipeline.stories import cached_briefing

        key = store.story_documents_key(story)
        memo = self.parsed.get((story, words, key))
        if isinstance(memo, Briefing):
            return key, memo
        found = cached_briefing(store, story, words, documents_key=key)
        if found is not None:
            self.parsed.put((story, words, key), found[1])
        return found

    def get(self, store: Store, story: int, words: int) -> tuple[str, Briefing] | None:
        """(documents key, briefing) of ``story``; None when the story has no documents."""
        found = self.cached(store, story, words)
        if found is not None:
            return found
        with self._lock(story):
            return self.cached(store, story, words) or self._make(story, words)

    def current_or_previous(self, store: Store, story: int, words: int) -> tuple[str, Briefing] | None:
        """The current briefing when there is one, else the story's previous briefing while
        the current one is made in the background; else (no briefing yet) as ``get``."""
        found = self.cached(store, story, words)
        if found is not None:
            return found
        previous = store.latest_briefing(story, words)
        if previous is None:
            return self.get(store, story, words)
        key, data = previous
        if not self._lock(story).locked():  # else it is being made already: no thread per read
            threading.Thread(target=self._refresh, args=(story, words), daemon=True,
                             name=f"storyline-briefing-{story}").start()
        return key, _parsed_briefing(self.parsed, (story, words, key), data)

    def _refresh(self, story: int, words: int) -> None:
        lock = self._lock(story)
        if not lock.acquire(blocking=False):
            return  # already being made
        try:
            self._make(story, words)
        except Exception:  # noqa: BLE001 - a background refresh; the next read tries again
            pass
        finally:
            lock.release()

    def _make(self, story: int, words: int) -> tuple[str, Briefing] | None:
        made = self._analyst.run(analysis.story_briefing, self._db_url, story, words)
        if made is not None:
            self.parsed.put((story, words, made[0]), made[1])
        return made

    def _lock(self, story: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(story, threading.Lock())


def _parsed_briefing(memo: Memo, key: object, data: str) -> Briefing:
    found = memo.get(key)
    if isinstance(found, Briefing):
        return found
    briefing = Briefing.model_validate_json(data)
    memo.put(key, briefing)
    return briefing


def news_since_visit(analyst: Analyst, db_url: str | None, story: int, briefing: Briefing,
                     visited: datetime) -> NewSince | None:
    """What was filed into the story after the visitor's last visit (None: nothing was), made
    by the analyst (it may annotate and embed)."""
    return analyst.run(analysis.new_since, db_url, story, briefing, visited)


JobState = Literal["queued", "running", "done", "failed"]


@dataclass
class Job:
    """An ingest into a story running in the background; the progress page polls it."""

    id: str
    story: int
    total: int
    done: int = 0
    state: JobState = "queued"
    stage: str = "waiting for the jobs before it"
    added: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    message: str | None = None
    started: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("started")
        return data


class QueueFull(Exception):
    """Too many ingest jobs are waiting already; ``retry_after``: seconds to wait."""

    def __init__(self, waiting: int, retry_after: int) -> None:
        super().__init__(f"the server is busy with {waiting} ingest jobs: try again in "
                         f"{retry_after} seconds")
        self.retry_after = retry_after


class Jobs:
    """Ingest jobs: their URLs fetched by a pool that shares its workers out by host, then
    each job read, annotated and stored on one worker thread (they share the CPU and the
    models), in the order their pages arrived. At most ``bounds.queued_jobs`` wait or run."""

    def __init__(self, open_store: StoreOpener, fetcher: FetcherFactory, briefings: StoryBriefings,
                 words: int, analyst: Analyst, bounds: Bounds = Bounds()) -> None:
        self._open_store = open_store
        self._analyst = analyst
        self._fetcher = fetcher
        self._briefings = briefings
        self._words = words
        self._bounds = bounds
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._numbers = itertools.count(1)
        self._guard = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storyline-ingest")
        self._fetches = HostPool(bounds.fetch_workers, bounds.fetches_per_host)

    def submit(self, story: int, articles: Sequence[Article]) -> Job:
        """The job started for ``articles``; ``QueueFull`` when too many wait already."""
        with self._guard:
            waiting = sum(job.state in {"queued", "running"} for job in self._jobs.values())
            if waiting >= self._bounds.queued_jobs:
                raise QueueFull(waiting, self._bounds.retry_after_seconds)
            job = Job(id=f"j{next(self._numbers)}", story=story, total=len(articles))
            self._jobs[job.id] = job
            while len(self._jobs) > self._bounds.kept_jobs:  # the oldest forgotten
                self._jobs.popitem(last=False)
        self._fetch_then_run(job, list(articles))
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def __len__(self) -> int:
        return len(self._jobs)

    def shutdown(self) -> None:
        self._fetches.shutdown()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _fetch_then_run(self, job: Job, articles: list[Article]) -> None:
        """Fetch the job's URLs (in the host pool), then queue the job for its worker."""
        urls = [index for index, article in enumerate(articles) if article.data is None]
        fetched: dict[int, list[Source | InputError]] = {}
        left = [len(urls)]
        lock = threading.Lock()

        def arrived(index: int, future: Future[list[Source | InputError]]) -> None:
            origin = articles[index].origin
            fetched[index] = (
                [InputError(origin, "not fetched: the server is stopping")] if future.cancelled()
                else [InputError(origin, f"{type(e).__name__}: {e}")] if (e := future.exception())
                else future.result())
            with lock:
                left[0] -= 1
                if left[0]:
                    return
            self._queue(job, articles, fetched)

        if not urls:
            self._queue(job, articles, fetched)
            return
        job.stage = f"fetching {len(urls)} page{'s' if len(urls) > 1 else ''}"
        for index in urls:
            future = self._fetches.submit(host_of(articles[index].origin),
                                          partial(self._fetch, articles[index]))
            future.add_done_callback(partial(arrived, index))

    def _fetch(self, article: Article) -> list[Source | InputError]:
        with _closing(self._fetcher()) as fetcher:
            return list(sources_of(article, fetcher))

    def _queue(self, job: Job, articles: list[Article], fetched: dict[int, list[Source | InputError]]) -> None:
        job.stage = "waiting for the jobs before it"
        try:
            self._executor.submit(self._run, job, articles, fetched)
        except RuntimeError:  # shut down: the server is stopping
            job.state, job.message = "failed", "the server stopped before the job ran"

    def _run(self, job: Job, articles: list[Article], fetched: dict[int, list[Source | InputError]]) -> None:
        job.state = "running"
        try:
            with self._open_store() as store:
                for index, article in enumerate(articles):
                    job.stage = f"reading and annotating {article.origin}"
                    self._ingest(job, article, fetched.get(index), store, self._analyst)
                job.done = job.total
                if job.added:
                    job.stage = "writing the briefing"
                    self._briefings.get(store, job.story, self._words)
            job.stage, job.state = "finished", "done"
        except Exception as exc:  # noqa: BLE001 - shown on the progress page; the server goes on
            job.state, job.message = "failed", f"{type(exc).__name__}: {exc}"

    @staticmethod
    def _ingest(job: Job, article: Article, fetched: list[Source | InputError] | None,
                store: Store, analyst: Analyst) -> None:
        """One article into the store and the job's story; a failure of its own is reported as
        the article's error, and the job goes on with the next article."""

        def on_item(result: Document | InputError) -> None:
            if isinstance(result, InputError):
                job.errors.append(result.to_dict())
                if result.stored:
                    return  # its document is reported next
            else:
                assert result.id is not None
                store.add_to_story(job.story, [result.id])
                job.added.append(result.id)
            job.done += 1

        def sources() -> Iterator[Source | InputError]:
            for number, source in enumerate(fetched if fetched is not None else local_sources(article)):
                job.total += 1 if number else 0  # a record file holds several articles
                yield source

        try:
            # One article at a time (batches of one): the progress page moves with each.
            ingest_sources(sources(), store, annotator=partial(annotate_by, analyst), on_item=on_item,
                           batch_size=1)
        except Exception as exc:  # noqa: BLE001 - one bad article must not sink the others
            job.errors.append({"origin": article.origin,
                               "error": f"could not be stored ({type(exc).__name__}: {exc})"})


def annotate_by(analyst: Analyst, documents: list[Document]) -> None:
    """``documents`` annotated in place by ``analyst`` (in its process, then copied back)."""
    for document, done in zip(documents, analyst.run(analysis.annotate, documents)):
        document.annotations = done.annotations


@contextmanager
def _closing(fetcher: Fetcher) -> Iterator[Fetcher]:
    try:
        yield fetcher
    finally:
        fetcher.close()
