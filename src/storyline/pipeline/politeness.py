"""How the watch treats the hosts it polls: at most a few requests at once per host, a delay
between their starts, robots.txt obeyed, retries with backoff, and a circuit breaker.

``PoliteClient.get(url, ...)`` is the one door of every request the watch makes (feeds,
sitemaps, robots.txt, article pages). It refuses a host whose breaker is open (too many
failures in a row: the host is left alone for a while), refuses a path robots.txt disallows
for our user agent, then takes one of the host's slots (``HostGate``: a semaphore of
``host_concurrency`` and a start time at least ``host_delay_seconds`` after the previous
start, or the robots.txt ``Crawl-delay`` when longer) and downloads through the guarded
``Fetcher``. A failure that may pass (``NetworkProblem``) is tried again after a backoff that
doubles. Everything here is safe to call from many threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from storyline.errors import InputProblem
from storyline.read.fetch import Fetcher, NetworkProblem, Response
from storyline.resources import data_config

ROBOTS_AGENT = "Storyline"  # the product token robots.txt rules name


@dataclass(frozen=True)
class WatchConfig:
    """The watch's tuned constants (``data/watch.json``; its ``_doc`` says what each is)."""

    interval_seconds: int
    host_delay_seconds: float
    host_concurrency: int
    retries: int
    backoff_seconds: float
    breaker_failures: int
    breaker_open_seconds: float
    max_backoff_factor: int
    item_attempts: int
    max_feed_bytes: int
    max_child_sitemaps: int
    max_items_per_poll: int
    workers: int
    fetch_timeout_seconds: float
    robots_ttl_seconds: float

    @classmethod
    def packaged(cls) -> WatchConfig:
        return data_config(cls, "watch.json")


def host_of(url: str) -> str:
    """The host and port a URL's requests go to: the unit of politeness."""
    parts = urlsplit(url)
    return (parts.netloc or parts.path).lower()


class HostGate:
    """Per host: at most ``concurrency`` requests at once, starts ``delay`` seconds apart."""

    def __init__(self, delay: float, concurrency: int) -> None:
        self.delay = delay
        self.concurrency = concurrency
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next_start: dict[str, float] = {}
        self._delays: dict[str, float] = {}

    def set_delay(self, host: str, seconds: float) -> None:
        """A host's own delay (robots.txt ``Crawl-delay``), when longer than ours."""
        with self._lock:
            self._delays[host] = max(self.delay, seconds)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self.concurrency))
        with semaphore:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start.get(host, now))
                self._next_start[host] = start + self._delays.get(host, self.delay)
            if start > now:
                time.sleep(start - now)
            yield


class BreakerOpen(NetworkProblem):
    """The host's circuit breaker is open: no request was made (tried again in a later pass)."""


class Breaker:
    """Per host: open after ``failures`` failures in a row, for ``open_seconds``; a success
    closes it. While open, the host gets no request at all."""

    def __init__(self, failures: int, open_seconds: float) -> None:
        self.failures = failures
        self.open_seconds = open_seconds
        self._lock = threading.Lock()
        self._count: dict[str, int] = {}
        self._open_until: dict[str, float] = {}

    def check(self, host: str) -> None:
        with self._lock:
            until = self._open_until.get(host, 0.0)
        left = until - time.monotonic()
        if left > 0:
            raise BreakerOpen(f"{host} failed {self.failures} times in a row; left alone for "
                                 f"another {left:.0f} s (circuit open)")

    def succeeded(self, host: str) -> None:
        with self._lock:
            self._count.pop(host, None)
            self._open_until.pop(host, None)

    def failed(self, host: str) -> None:
        with self._lock:
            count = self._count.get(host, 0) + 1
            self._count[host] = count
            if count >= self.failures:
                self._open_until[host] = time.monotonic() + self.open_seconds


class RobotsDisallowed(InputProblem):
    """robots.txt forbids the path to our user agent: never fetched, not tried again."""


class PoliteClient:
    """The watch's requests, polite and guarded (see the module docstring). ``fetchers`` holds
    the guarded fetcher for public addresses (False) and the one allowed private ones (True)."""

    def __init__(self, fetchers: Mapping[bool, Fetcher], config: WatchConfig,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.fetchers = fetchers
        self.config = config
        self.gate = HostGate(config.host_delay_seconds, config.host_concurrency)
        self.breaker = Breaker(config.breaker_failures, config.breaker_open_seconds)
        self._sleep = sleep
        self._robots_lock = threading.Lock()
        self._robots: dict[str, tuple[float, Protego | None]] = {}
        self._robots_loading: dict[str, threading.Lock] = {}

    def get(self, url: str, *, allow_private: bool = False, headers: Mapping[str, str] | None = None,
            accept: str | None = None, robots: bool = True, retries: int | None = None) -> Response:
        """Download ``url`` politely; ``InputProblem`` (``NetworkProblem`` when it may pass,
        ``RobotsDisallowed``) with a one-line reason when that fails."""
        host = host_of(url)
        if robots:
            self.check_robots(url, allow_private)
        attempt = 0
        while True:
            try:
                with self.gate.slot(host):
                    # Checked once its turn comes: a request queued behind failing ones is spared.
                    self.breaker.check(host)
                    response = self.fetchers[allow_private].get(url, headers=headers, accept=accept)
            except BreakerOpen:
                raise
            except NetworkProblem:
                self.breaker.failed(host)
                if attempt >= (self.config.retries if retries is None else retries):
                    raise
                self._sleep(self.config.backoff_seconds * 2 ** attempt)
                attempt += 1
                continue
            self.breaker.succeeded(host)
            return response

    def check_robots(self, url: str, allow_private: bool) -> None:
        rules = self.robots_for(url, allow_private)
        if rules is not None and not rules.can_fetch(url, ROBOTS_AGENT):
            raise RobotsDisallowed(f"disallowed by {robots_url(url)}")

    def robots_for(self, url: str, allow_private: bool) -> Protego | None:
        """The host's robots.txt rules, read once per ``robots_ttl_seconds`` (one reader at a
        time per host); None when it has none (4xx) or could not be read (then all is allowed:
        a watch must not stop for a missing file)."""
        address = robots_url(url)
        with self._robots_lock:
            loading = self._robots_loading.setdefault(address, threading.Lock())
        with loading:
            with self._robots_lock:
                cached = self._robots.get(address)
            if cached is not None and time.monotonic() - cached[0] < self.config.robots_ttl_seconds:
                return cached[1]
            rules = self._read_robots(address, allow_private)
            with self._robots_lock:
                self._robots[address] = (time.monotonic(), rules)
            return rules

    def _read_robots(self, address: str, allow_private: bool) -> Protego | None:
        try:
            response = self.get(address, allow_private=allow_private, accept="text/plain",
                                robots=False, retries=0)
        except InputProblem:
            return None
        rules = Protego.parse(response.body.decode("utf-8", "replace"))
        delay = rules.crawl_delay(ROBOTS_AGENT)
        if delay:
            self.gate.set_delay(host_of(address), float(delay))
        return rules


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"

