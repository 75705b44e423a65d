"""The sources ``storyline watch`` polls, as the faces manage them: add (with discovery),
import an OPML list, list with their status, remove.

``add_sources`` downloads each address once (politely, guarded) to learn what it is: a feed or
a sitemap is watched as it is; a web page is watched through the feeds its
``<link rel="alternate">`` announce; an OPML list through the feeds it names. One address
that cannot be used is one ``AddOutcome`` with its reason; the others go on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from storyline.errors import InputProblem
from storyline.pipeline.politeness import PoliteClient
from storyline.read.feeds import parse_listing, parse_opml
from storyline.store import Store, WatchSource

LISTING_KINDS = {"feed": "feed", "sitemap": "sitemap", "sitemap-index": "sitemap"}


@dataclass(frozen=True)
class AddOutcome:
    """What adding one address did: the sources it gave (``added``: newly watched,
    ``known``: already watched), or the reason it gave none."""

    address: str
    added: tuple[WatchSource, ...] = ()
    known: tuple[WatchSource, ...] = ()
    error: str | None = None

    def line(self) -> str:
        if self.error is not None:
            return f"{self.address}: {self.error}"
        parts = [f"watching {source.url} ({source.kind}, id {source.id})" for source in self.added]
        parts += [f"already watched: {source.url} (id {source.id})" for source in self.known]
        return f"{self.address}: " + "; ".join(parts)


def add_sources(store: Store, addresses: Iterable[str], client: PoliteClient, *,
                allow_private: bool = False, interval: int | None = None) -> list[AddOutcome]:
    """Watch each address (see the module docstring)."""
    return [add_source(store, address, client, allow_private=allow_private, interval=interval)
            for address in addresses]


def add_source(store: Store, address: str, client: PoliteClient, *, allow_private: bool = False,
               interval: int | None = None) -> AddOutcome:
    try:
        response = client.get(address, allow_private=allow_private)
        listing = parse_listing(response.body, response.url, response.content_type)
    except InputProblem as exc:
        return AddOutcome(address, error=str(exc))
    if listing.kind in LISTING_KINDS:
        found = [(response.url, LISTING_KINDS[listing.kind], listing.title)]
    elif not listing.links:
        return AddOutcome(address, error="a web page that announces no feed "
                                         '(no <link rel="alternate"> to RSS, Atom or JSON Feed)')
    else:
        found = [(link, "feed", None) for link in listing.links]
    return _watch(store, address, found, allow_private, interval)


def import_opml(store: Store, location: str, client: PoliteClient, *,
                allow_private: bool = False, interval: int | None = None) -> AddOutcome:
    """Watch every feed an OPML list names (a file path, or an http(s) address)."""
    try:
        if location.startswith(("http://", "https://")):
            response = client.get(location, allow_private=allow_private)
            body, base = response.body, response.url
        else:
            body, base = Path(location).read_bytes(), location
        listing = parse_opml(body, base)
    except InputProblem as exc:
        return AddOutcome(location, error=str(exc))
    except OSError as exc:
        return AddOutcome(location, error=f"cannot read {location}: {exc.strerror or exc}")
    if not listing.links:
        return AddOutcome(location, error="the OPML list names no feed (no xmlUrl)")
    return _watch(store, location, [(link, "feed", None) for link in listing.links],
                  allow_private, interval)


def _watch(store: Store, address: str, found: list[tuple[str, str, str | None]],
           allow_private: bool, interval: int | None) -> AddOutcome:
    added: list[WatchSource] = []
    known: list[WatchSource] = []
    for url, kind, title in found:
        source, created = store.add_watch_source(url, kind=kind, title=title,
                                                 allow_private=allow_private, interval=interval)
        (added if created else known).append(source)
    return AddOutcome(address, tuple(added), tuple(known))


def remove_sources(store: Store, keys: Iterable[str]) -> list[tuple[str, bool]]:
    """Stop watching each source named by id or address: (key, whether one was removed)."""
    return [(key, store.remove_watch_source(int(key) if key.isdigit() else key)) for key in keys]


@dataclass(frozen=True)
class SourceStatus:
    """A watched source as ``feeds list`` and the Sources page show it."""

    source: WatchSource
    stored: int
    pending: int
    failed: int

    def as_dict(self) -> dict[str, object]:
        s = self.source
        return {"id": s.id, "url": s.url, "kind": s.kind, "title": s.title,
                "last_poll": s.last_poll, "status": s.last_status, "new": s.last_new,
                "error": s.last_error, "failures": s.failures, "next_poll": s.next_poll,
                "articles_stored": self.stored, "articles_pending": self.pending,
                "articles_failed": self.failed}


def source_statuses(store: Store) -> list[SourceStatus]:
    counts = store.watch_item_counts()
    statuses = []
    for source in store.watch_sources():
        mine = counts.get(source.id, {})
        statuses.append(SourceStatus(source, mine.get("stored", 0),
                                     mine.get("new", 0) + mine.get("fetched", 0), mine.get("failed", 0)))
    return statuses


def parse_every(text: str) -> int:
    """``90s``, ``15m``, ``1h`` (or plain seconds) as seconds; ``InputProblem`` otherwise."""
    value = text.strip().lower()
    scale = {"s": 1, "m": 60, "h": 3600}.get(value[-1:], None)
    number = value[:-1] if scale is not None else value
    try:
        seconds = float(number) * (scale or 1)
    except ValueError:
        raise InputProblem(f"not a duration: {text!r} (use seconds, minutes or hours: 90s, 15m, 1h)") from None
    if seconds < 1:
        raise InputProblem(f"duration too short: {text!r} (at least 1 s)")
    return int(seconds)


def due_label(next_poll: str | None, now: datetime) -> str:
    """When a source is polled next, for people: ``due now`` or ``in 12 min``."""
    if next_poll is None:
        return "due now"
    left = datetime.fromisoformat(next_poll) - now
    if left <= timedelta(0):
        return "due now"
    minutes = int(left.total_seconds() // 60)
    return f"in {minutes} min" if minutes else f"in {int(left.total_seconds())} s"
