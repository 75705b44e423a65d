"""Feed sites for the watch tests: real HTTP servers on 127.0.0.1 whose pages change between
polls, and which record how they were treated (requests per path, requests at once, the times
requests started), so politeness is measured, not assumed.

Each ``FeedSite`` is one host (its own port). ``site.put(path, body, ...)`` serves a page;
``etag=True`` answers ``If-None-Match`` with 304 unless ``ignore_conditional``; ``hang`` and
``slow`` hold a response; ``redirect`` answers 301 or 302. Article pages and feeds are built
from invented text (``article_html``, ``rss``, ``atom``, ``json_feed``, ``sitemap``...).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

TOWNS = ["Millbrook", "Ashcombe", "Dunmore", "Kelby", "Harrowgate", "Fenwick", "Larkspur",
         "Oakhollow", "Pellham", "Quarry Bend", "Rushmere", "Stonebury", "Thornvale", "Upwater",
         "Verrin", "Wexley", "Yarrowby", "Brindle", "Corran", "Elsmere"]
TOPICS = ["the river ferry", "the night market", "the orchard co-operative", "the old mill",
          "the tram line", "the harbour wall", "the seed library", "the bell tower"]


def article_html(number: int, *, town: str | None = None, topic: str | None = None,
                 extra: str = "") -> str:
    """An invented news article, different for every ``number``."""
    place = town or TOWNS[number % len(TOWNS)]
    subject = topic or TOPICS[number % len(TOPICS)]
    title = f"Council in {place} votes on {subject} (report {number})"
    paragraphs = [
        f"The council of {place} voted on Tuesday to rebuild {subject}, after a debate that "
        f"lasted well into the evening, according to minutes published by the clerk {number}.",
        f"Residents of {place} had asked for the work for years, and the mayor, Ilse Varnow, said "
        f"the town would borrow {number + 3} hundred thousand crowns to pay for it.",
        f"Engineers expect the work on {subject} to take {number % 9 + 2} months, and traders "
        f"near the site said they would stay open throughout. {extra}",
    ]
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html><head><title>{escape(title)}</title></head><body><article>"
            f"<h1>{escape(title)}</h1>{body}</article></body></html>")


def rss(links: Sequence[str], title: str = "Invented Gazette") -> str:
    items = "".join(
        f"<item><title>Story {i}</title><link>{escape(link)}</link>"
        f"<pubDate>Tue, 03 Nov 2026 0{i % 10}:00:00 GMT</pubDate></item>"
        for i, link in enumerate(links))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://example.invalid/</link><description>d</description>{items}</channel></rss>")


def atom(links: Sequence[str]) -> str:
    entries = "".join(
        f'<entry><title>Entry {i}</title><link href="{escape(link)}"/><id>urn:x:{i}</id>'
        f"<updated>2026-11-03T10:00:00Z</updated></entry>" for i, link in enumerate(links))
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Invented Atom</title><id>urn:x</id><updated>2026-11-03T10:00:00Z</updated>{entries}</feed>")


def json_feed(links: Sequence[str]) -> str:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Invented JSON",
                       "items": [{"id": str(i), "url": link, "title": f"Item {i}",
                                  "date_published": "2026-11-03T10:00:00Z"}
                                 for i, link in enumerate(links)]})


def sitemap(links: Sequence[str]) -> str:
    urls = "".join(
        f"<url><loc>{escape(link)}</loc><news:news><news:publication>"
        f"<news:name>Invented</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>2026-11-03T10:00:00+01:00</news:publication_date>"
        f"<news:title>Item {i}</news:title></news:news></url>" for i, link in enumerate(links))
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>')


def sitemap_index(children: Sequence[str]) -> str:
    entries = "".join(f"<sitemap><loc>{escape(c)}</loc></sitemap>" for c in children)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>')


def opml(feeds: Sequence[str]) -> str:
    outlines = "".join(f'<outline type="rss" text="Feed {i}" xmlUrl="{escape(f)}"/>'
                       for i, f in enumerate(feeds))
    return (f'<?xml version="1.0"?><opml version="2.0"><head><title>My feeds</title></head>'
            f'<body><outline text="News">{outlines}</outline></body></opml>')


@dataclass
class Page:
    body: bytes
    content_type: str
    status: int = 200
    etag: bool = True
    last_modified: str | None = None
    location: str | None = None


@dataclass
class FeedSite:
    """One host on 127.0.0.1 (see the module docstring)."""

    port: int = 0
    pages: dict[str, Page] = field(default_factory=dict)
    ignore_conditional: bool = False
    hang: set[str] = field(default_factory=set)
    slow: dict[str, float] = field(default_factory=dict)
    hold: float = 0.0  # every response takes this long (to see requests overlap)
    requests: list[tuple[str, float, str]] = field(default_factory=list)  # path, start, If-None-Match
    active: int = 0
    most_active: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def put(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8",
            **options: object) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.pages[path] = Page(data, content_type, **options)  # type: ignore[arg-type]
        return self.url(path)

    def redirect(self, path: str, target: str, status: int = 301) -> None:
        self.pages[path] = Page(b"", "text/plain", status=status, etag=False, location=target)

    def hits(self, path: str) -> int:
        return sum(1 for seen, _, _ in self.requests if seen == path)

    def starts(self, prefix: str = "") -> list[float]:
        return sorted(start for path, start, _ in self.requests if path.startswith(prefix))


class FeedHandler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        site: FeedSite = self.server.site  # type: ignore[attr-defined]
        path = self.path.split("#")[0]
        with site.lock:
            site.requests.append((path, time.monotonic(), self.headers.get("If-None-Match", "")))
            site.active += 1
            site.most_active = max(site.most_active, site.active)
        try:
            self.answer(site, path)
        finally:
            with site.lock:
                site.active -= 1

    def answer(self, site: FeedSite, path: str) -> None:
        if path in site.hang:
            site.released.wait(30)
            return
        time.sleep(site.slow.get(path, 0.0) + site.hold)
        page = site.pages.get(path) or site.pages.get(path.split("?")[0])
        if page is None:
            self.reply(404, "text/plain", b"not here")
            return
        if page.location is not None:
            self.send_response(page.status)
            self.send_header("Location", page.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        tag = f'"{hashlib.sha1(page.body).hexdigest()[:16]}"'
        if page.etag and not site.ignore_conditional and self.headers.get("If-None-Match") == tag:
            self.send_response(304)
            self.send_header("ETag", tag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        extra = [("ETag", tag)] if page.etag and not site.ignore_conditional else []
        self.reply(page.status, page.content_type, page.body, extra)

    def reply(self, status: int, content_type: str, body: bytes,
              extra: Sequence[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a size cap): expected

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@contextmanager
def feed_sites(count: int = 1) -> Iterator[list[FeedSite]]:
    """``count`` running sites, each on its own port; stopped (and hung requests released) after."""
    servers, sites = [], []
    for _ in range(count):
        site = FeedSite()
        server = QuietServer(("127.0.0.1", 0), FeedHandler)
        server.site = site  # type: ignore[attr-defined]
        site.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        sites.append(site)
    try:
        yield sites
    finally:
        for site, server in zip(sites, servers):
            site.released.set()
            server.shutdown()
            server.server_close()
