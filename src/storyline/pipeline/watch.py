"""``storyline watch``: poll the watched sources, fetch the new articles once, and run them
through the document flow (extract -> annotate -> store -> file into stories -> brief).

A pass (``Watch.run_pass``) has four steps, each leaving the store whole if the process dies:

1. **poll** every due source (concurrently, through ``PoliteClient``): a conditional GET
   (``If-None-Match`` / ``If-Modified-Since``); a 304, or a body whose hash is the last one's
   (a server that ignores the validators), lists nothing new. The items listed are keyed by
   their canonical address (``read/canonical.py``) and kept with the poll's validators in one
   transaction, so a later 304 never hides an item that was not kept.
2. **fetch** the items not yet fetched (concurrently, politely); each page is kept in the store
   as it arrives (``save_item_page``), so a restart never downloads it again.
3. **store** the fetched pages through ``ingest_sources`` (extract, annotate, store, file into
   found stories), then mark them stored. A restart between the two finds the document by its
   content hash: stored once, marked then, and filed if it was not.
4. **brief** the stories that changed (the briefing cache is made afresh), when asked.

``stop`` (SIGTERM, SIGINT) is asked between items: the items in hand finish, the pages
fetched are stored, and the pass ends early.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from storyline.context import MAX_DOCUMENT_CHARS
from storyline.errors import InputProblem, UsageError
from storyline.model import Document, Hints, InputError, Source
from storyline.pipeline.annotation import Annotator
from storyline.pipeline.documents import ingest_sources
from storyline.pipeline.politeness import PoliteClient, RobotsDisallowed, WatchConfig
from storyline.read.canonical import UrlRules, canonical_url
from storyline.read.decode import decode_bytes
from storyline.read.feeds import Item, Listing, parse_listing, parse_sitemap
from storyline.read.fetch import Fetcher, NetworkProblem, Response, mode_for_content_type
from storyline.store import ListedItem, PollRecord, Store, WatchItem, WatchSource

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8,*/*;q=0.1"
Stop = Callable[[], bool]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class PollOutcome:
    """One poll of one source: what the faces print as one line."""

    source: WatchSource
    status: int | None
    listed: int
    new: int
    error: str | None
    next_poll: str
    moved_to: str | None = None
    warning: str | None = None  # read, with a reservation (a feed broken after some items)

    def line(self) -> str:
        head = f"{self.source.url}: "
        if self.error is not None:
            return head + f"failed: {self.error}; next poll {self.next_poll}"
        said = "not modified" if self.status == 304 else f"HTTP {self.status}"
        moved = f"; moved permanently to {self.moved_to}" if self.moved_to else ""
        warned = f"; warning: {self.warning}" if self.warning else ""
        return head + (f"{said}, {self.listed} listed, {self.new} new{moved}{warned}; "
                       f"next poll {self.next_poll}")


@dataclass
class PassReport:
    """What a pass did."""

    polls: list[PollOutcome] = field(default_factory=list)
    fetched: int = 0
    stored: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (article address, reason)
    stories: set[int] = field(default_factory=set)
    stopped: bool = False

    def summary(self) -> str:
        errors = sum(1 for poll in self.polls if poll.error is not None)
        new = sum(poll.new for poll in self.polls)
        text = (f"Polled {len(self.polls)} source{'s' if len(self.polls) != 1 else ''} "
                f"({errors} failed, {new} new items); fetched {self.fetched} pages, stored "
                f"{len(self.stored)} documents into {len(self.stories)} "
                f"{'story' if len(self.stories) == 1 else 'stories'}")
        if self.failed:
            text += f"; {len(self.failed)} article{'s' if len(self.failed) != 1 else ''} failed"
        if self.stopped:
            text += "; stopped on request"
        return text + "."


@dataclass
class WatchOptions:
    """How a watch runs: its default interval (``every``, seconds), whether to poll every
    source (``all_sources``) or only the due ones, whether to file articles into found
    stories and brief the stories that changed, and the batch of documents annotated together."""

    every: int
    all_sources: bool = False
    find_stories: bool = True
    refresh_briefings: bool = True
    batch_size: int = 32
    max_chars: int = MAX_DOCUMENT_CHARS


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


class Watch:
    """The watch over one store (see the module docstring). Made once per process: the hosts'
    politeness state (delays, breakers, robots.txt) lives as long as it does."""

    def __init__(self, store: Store, client: PoliteClient, *, annotator: Annotator | None,
                 config: WatchConfig | None = None, rules: UrlRules | None = None,
                 stop: Stop = lambda: False,
                 on_poll: Callable[[PollOutcome], None] | None = None,
                 on_item: Callable[[str, str | None], None] | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.client = client
        self.annotator = annotator
        self.config = config or client.config
        self.rules = rules or UrlRules.packaged()
        self.stop = stop
        self.on_poll = on_poll
        self.on_item = on_item  # (article address, failure reason or None)
        self.clock = clock

    # -- the pass

    def run_pass(self, options: WatchOptions) -> PassReport:
        report = PassReport()
        due = self.due_sources(options)
        report.polls = self.poll_sources(due, options.every)
        if not self.stop():
            # Pages are stored in batches while the next ones download: extraction (CPU) and
            # downloads (waiting) overlap.
            report.fetched = self.fetch_pending(
                report, batch=options.batch_size, on_batch=lambda: self.store_fetched(options, report))
        self.store_fetched(options, report)
        if options.refresh_briefings and self.annotator is not None and report.stories:
            self.refresh(report.stories, report)
        report.stopped = self.stop()
        return report

    def due_sources(self, options: WatchOptions) -> list[WatchSource]:
        now = _iso(self.clock())
        sources = self.store.watch_sources()
        if options.all_sources:
            return sources
        return [source for source in sources if source.next_poll is None or source.next_poll <= now]

    def seconds_to_next_poll(self, every: int) -> float:
        """How long until the first source is due (``every`` when none is watched)."""
        now = self.clock()
        sources = self.store.watch_sources()
        if any(source.next_poll is None for source in sources):
            return 0.0  # a source never polled (or made due by hand) is due now
        waits = [every] + [
            (datetime.fromisoformat(source.next_poll) - now).total_seconds()
            for source in sources if source.next_poll is not None]
        return max(0.0, min(waits))

    def wait_until_due(self, every: int, recheck: float = 5.0) -> None:
        """Sleep until a source is due (or ``stop``), looking again every ``recheck`` seconds:
        a source made due meanwhile (the web app's "poll now", a new one) is not kept waiting."""
        while not self.stop():
            left = self.seconds_to_next_poll(every)
            if left <= 0:
                return
            wait_or_stop(min(left, recheck), self.stop)

    # -- step 1: poll

    def poll_sources(self, sources: Sequence[WatchSource], every: int) -> list[PollOutcome]:
        outcomes: list[PollOutcome] = []
        for source, polled in self._concurrently(sources, self.poll_one):
            record, items, warning = polled
            record = self._scheduled(source, record, every)
            new = self.store.record_poll(source.id, record, items)
            outcome = PollOutcome(source, record.status, len(items), new, record.error,
                                  record.next_poll, record.moved_to, warning)
            outcomes.append(outcome)
            if self.on_poll is not None:
                self.on_poll(outcome)
        return outcomes

    def _scheduled(self, source: WatchSource, record: PollRecord, every: int) -> PollRecord:
        """The record with its next poll: the source's interval, doubled per failure in a row."""
        interval = source.interval or every
        factor = min(2 ** record.failures, self.config.max_backoff_factor) if record.error else 1
        polled = datetime.fromisoformat(record.polled_at)
        return replace(record, next_poll=_iso(polled + timedelta(seconds=interval * factor)))

    def poll_one(self, source: WatchSource) -> tuple[PollRecord, list[ListedItem], str | None]:
        """Poll one source: its record, the items listed, and a warning (a feed broken after
        some items). Never raises: a failure is the record's ``error``."""
        started = _iso(self.clock())
        headers = {}
        if source.etag:
            headers["If-None-Match"] = source.etag
        if source.last_modified:
            headers["If-Modified-Since"] = source.last_modified
        try:
            response = self.client.get(source.url, allow_private=source.allow_private,
                                       headers=headers, accept=FEED_ACCEPT)
            record = PollRecord(polled_at=started, next_poll=started, status=response.status,
                                etag=response.etag, last_modified=response.last_modified,
                                moved_to=response.moved_to)
            if response.status == 304:
                return record, [], None
            digest = hashlib.sha256(response.body).hexdigest()
            record = replace(record, content_hash=digest)
            if digest == source.content_hash:  # the server ignored our validators
                return record, [], None
            listing = self._listing(source, response)
            warning = "; ".join(listing.warnings) or None
            return replace(record, title=listing.title), self._listed(listing.items), warning
        except InputProblem as exc:
            return PollRecord(polled_at=started, next_poll=started, status=None, error=str(exc),
                              failures=source.failures + 1), [], None
        except Exception as exc:  # noqa: BLE001 - one source's bug must not stop the others
            return PollRecord(polled_at=started, next_poll=started, status=None,
                              error=f"unexpected {type(exc).__name__}: {exc}",
                              failures=source.failures + 1), [], None

    def _listing(self, source: WatchSource, response: Response) -> Listing:
        if len(response.body) > self.config.max_feed_bytes:
            raise InputProblem(f"feed is over the {self.config.max_feed_bytes} bytes limit")
        listing = parse_listing(response.body, response.url, response.content_type)
        if listing.kind == "sitemap-index":
            return Listing("sitemap", listing.title, tuple(self._child_items(source, listing.links)))
        if listing.kind in ("opml", "html"):
            what = "an OPML list" if listing.kind == "opml" else "a web page"
            raise InputProblem(f"{what}, not a feed: add it with storyline feeds "
                               f"{'import' if listing.kind == 'opml' else 'add'}")
        return listing

    def _child_items(self, source: WatchSource, links: Sequence[str]) -> list[Item]:
        items: list[Item] = []
        for link in links[: self.config.max_child_sitemaps]:
            response = self.client.get(link, allow_private=source.allow_private, accept=FEED_ACCEPT)
            items.extend(parse_sitemap(response.body, response.url).items)
        return items

    def _listed(self, items: Iterable[Item]) -> list[ListedItem]:
        listed: dict[str, ListedItem] = {}
        for item in items:
            key = canonical_url(item.url, self.rules)
            if key.startswith(("http://", "https://")) and key not in listed:
                listed[key] = ListedItem(key, item.url, item.title, item.published)
            if len(listed) >= self.config.max_items_per_poll:
                break
        return list(listed.values())

    # -- step 2: fetch

    def fetch_pending(self, report: PassReport, *, batch: int = 0,
                      on_batch: Callable[[], None] | None = None) -> int:
        """Download the items still to fetch, keeping each page as it comes; the count.
        ``on_batch`` is called after every ``batch`` pages kept (the caller stores them)."""
        private = {source.id: source.allow_private for source in self.store.watch_sources()}
        todo = [item for item in self.store.pending_items() if item.state == "new"]
        fetched = 0
        for item, result in self._concurrently(todo, lambda item: self._fetch_page(item, private)):
            if isinstance(result, Response):
                # The charset the server declared travels with the page, for decoding it later.
                declared = f"{result.content_type}; charset={result.charset}" if result.charset else result.content_type
                self.store.save_item_page(item.key, result.body, declared, result.url)
                fetched += 1
                if on_batch is not None and batch and fetched % batch == 0:
                    on_batch()
            elif result is not None:
                self._failed(item, result, report)
        return fetched

    def _fetch_page(self, item: WatchItem, private: dict[int, bool]) -> Response | InputProblem | None:
        """The item's page (at its canonical address: no tracking parameters sent, the desktop
        edition rather than AMP), the reason it could not be had, or None when the watch was
        asked to stop before it started (it stays to fetch)."""
        if self.stop():
            return None
        try:
            response = self.client.get(item.key, allow_private=private.get(item.source or -1, False),
                                       accept=PAGE_ACCEPT)
            mode_for_content_type(response.content_type)  # refuses what is neither HTML nor text
            return response
        except InputProblem as exc:
            return exc

    def _failed(self, item: WatchItem, problem: InputProblem, report: PassReport) -> None:
        give_up = (isinstance(problem, RobotsDisallowed)
                   or item.attempts + 1 >= self.config.item_attempts
                   or not _may_pass(problem))
        self.store.item_failed(item.key, str(problem), give_up=give_up)
        report.failed.append((item.url, str(problem)))
        if self.on_item is not None:
            self.on_item(item.url, str(problem))

    # -- step 3: store

    def store_fetched(self, options: WatchOptions, report: PassReport) -> None:
        fetched = [item for item in self.store.pending_items() if item.state == "fetched"]
        if not fetched:
            return
        by_origin = {item.key: item for item in fetched}
        stored: dict[str, str] = {}

        def on_document(result: Document | InputError) -> None:
            item = by_origin.get(result.origin)
            if item is None:
                return
            if isinstance(result, Document) and result.id:
                stored[item.key] = result.id
                if self.on_item is not None:
                    self.on_item(item.url, None)
            elif isinstance(result, InputError) and not result.stored:
                self.store.item_failed(item.key, result.reason, give_up=True)
                report.failed.append((item.url, result.reason))
                if self.on_item is not None:
                    self.on_item(item.url, result.reason)

        outcome = ingest_sources((_source_of(item) for item in fetched), self.store,
                                 annotator=self.annotator, on_item=on_document,
                                 batch_size=options.batch_size, find_stories=options.find_stories,
                                 max_chars=options.max_chars)
        if options.find_stories and outcome.already_stored:
            report.stories.update(self._file_unfiled(outcome.already_stored))
        self.store.items_stored(stored)
        report.stored.extend(outcome.new + outcome.duplicates)
        report.stories.update(outcome.stories.values())

    def _file_unfiled(self, doc_ids: Sequence[str]) -> set[int]:
        """File documents a killed pass stored but did not file (the window between the two
        transactions); the stories they went to."""
        filed = self.store.found_story_of()
        unfiled = [doc_id for doc_id in dict.fromkeys(doc_ids) if doc_id not in filed]
        documents = [d for d in self.store.get_many(unfiled, with_annotations=True)
                     if d.duplicate_of is None]
        if not documents:
            return set()
        from storyline.pipeline.assign import file_into_found_stories

        return set(file_into_found_stories(self.store, documents).values())

    # -- step 4: brief

    def refresh(self, stories: Iterable[int], report: PassReport | None = None) -> None:
        """Brief the stories that changed, against their last briefing: the briefing cache is
        made afresh for readers, and each update (its "what is new"; a new story's summary)
        is kept as an entry of the story's Atom feed."""
        from storyline.pipeline.stories import LAST, brief_story

        for story in sorted(stories):
            if self.stop():
                return
            info = self.store.story(story)
            if info is None or info.merged_into is not None:
                continue
            try:
                briefing = brief_story(self.store, story, since=LAST, on_briefed=self.store.mark_briefed)
            except Exception as exc:  # noqa: BLE001 - one story's briefing must not stop the watch
                reason = f"cannot brief story {story}: {exc}"
                if report is not None:
                    report.failed.append((f"story {story}", reason))
                if self.on_item is not None:
                    self.on_item(f"story {story}", reason)
                continue
            section = briefing.new_since
            if section is None:
                lines = [item.text for item in briefing.summary]
                sources = sorted({c.source for item in briefing.summary for c in item.citations})
            else:
                lines = [item.text for item in section.summary]
                lines += [f"{quote.speaker or 'a source'}: “{quote.text}”" for quote in section.quotes]
                sources = list(section.sources)
            if lines:
                self.store.add_story_update(story, _iso(self.clock()), briefing.title, lines, sources)

    # -- threads

    def _concurrently(self, things: Sequence[T], work: Callable[[T], R]) -> Iterator[tuple[T, R]]:
        """``work`` over ``things`` on the worker threads, results in the caller's thread as they
        come (the store is used there only); once ``stop`` says so, no new work starts."""
        if not things:
            return
        pending: dict[Future[R], T] = {}
        remaining = iter(things)
        with ThreadPoolExecutor(self.config.workers, thread_name_prefix="storyline-watch") as pool:
            def refill() -> None:
                while len(pending) < self.config.workers * 4 and not self.stop():
                    thing = next(remaining, None)
                    if thing is None:
                        return
                    pending[pool.submit(work, thing)] = thing

            refill()
            while pending:
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
                refill()


def _may_pass(problem: InputProblem) -> bool:
    return isinstance(problem, NetworkProblem)


def _source_of(item: WatchItem) -> Source | InputError:
    media_type, _, parameters = (item.content_type or "").partition(";")
    charset = parameters.strip().removeprefix("charset=") or None
    try:
        declared = mode_for_content_type(media_type)
        text = decode_bytes(item.body or b"", declared=charset)
    except InputProblem as exc:
        return InputError(item.key, str(exc))
    # The canonical address names the document: the same article whatever link led to it.
    return Source(origin=item.key, data=text, mode=declared,
                  hints=Hints(url=item.final_url or item.url))


class WatchRunning(UsageError):
    """Another watch holds the database's watch lock."""


@contextmanager
def only_watch(store: Store) -> Iterator[None]:
    """Hold the store's watch lock for the block (``Store.watch_lock``: a file beside a SQLite
    database, an advisory lock on a PostgreSQL server): a second watch on the same database (a
    cron ``--once`` over a running loop, or a watch on another machine) would poll and fetch
    what the first is fetching. ``WatchRunning`` when another watch holds it."""
    with store.watch_lock() as taken:
        if not taken:
            raise WatchRunning("another storyline watch is running on this database; "
                               "stop it first, or let it do the work")
        yield


def open_client(config: WatchConfig, *, timeout: float | None = None) -> PoliteClient:
    """The watch's polite client over two guarded fetchers (public only; private allowed)."""
    seconds = timeout if timeout is not None else config.fetch_timeout_seconds
    fetchers = {flag: Fetcher(allow_private=flag, timeout=seconds,
                              max_bytes=max(config.max_feed_bytes, 1)) for flag in (False, True)}
    return PoliteClient(fetchers, config)


def wait_or_stop(seconds: float, stop: Stop) -> None:
    """Sleep ``seconds`` in short steps, returning early once ``stop`` says so."""
    end = time.monotonic() + seconds
    while not stop() and time.monotonic() < end:
        time.sleep(min(0.2, end - time.monotonic()))
