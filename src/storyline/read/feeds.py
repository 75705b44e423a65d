"""What a watched address holds: the articles a feed, a news sitemap or an OPML list names.

``parse_listing(body, url, content_type)`` reads the bytes one download of a watched source
gave and says what they are:

* an RSS (0.9x, 1.0, 2.0) or Atom feed, read by feedparser (lenient: a feed broken half-way
  still gives the items before the break; one that gives none is refused with the parser's
  reason);
* a JSON Feed (version 1 or 1.1), read here (feedparser 6.0 does not read it);
* a sitemap (``urlset``, with ``news:publication_date`` and ``news:title`` where given) or a
  sitemap index (``sitemapindex``: the child sitemaps to read next);
* an OPML list (the feeds its outlines name, nested outlines included);
* an HTML page: the feeds its ``<link rel="alternate">`` elements announce (discovery).

XML other than feeds is parsed by lxml with entity expansion, network access and huge trees
off, so a sitemap cannot expand a billion laughs or reach a file; the size cap is the
fetcher's. Everything here is pure: bytes in, a ``Listing`` out, ``InputProblem`` for what
cannot be read.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import urljoin

import feedparser
import lxml.etree
import lxml.html

from storyline.errors import InputProblem

ListingKind = Literal["feed", "sitemap", "sitemap-index", "opml", "html"]
# Discovery follows these alternates; "text/html" alternates are translations, not feeds.
ALTERNATE_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/rdf+xml",
    "application/feed+json", "application/json",
})
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_XML_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<", re.S)


@dataclass(frozen=True)
class Item:
    """One article a listing names: its address as given, its title and its publication time
    (ISO 8601 in UTC) where the listing says."""

    url: str
    title: str | None = None
    published: str | None = None


@dataclass(frozen=True)
class Listing:
    """What a watched address holds: its ``kind``, its ``title``, the articles it names
    (``items``), and the addresses it points at instead: child sitemaps (``sitemap-index``),
    the feeds of an OPML list (``opml``) or an HTML page's announced feeds (``html``)."""

    kind: ListingKind
    title: str | None = None
    items: tuple[Item, ...] = ()
    links: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def parse_listing(body: bytes, url: str, content_type: str = "") -> Listing:
    """Read what ``body`` (downloaded from ``url``) lists; ``InputProblem`` when nothing."""
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not start:
        raise InputProblem("empty response: no feed")
    if start in (b"{", b"["):
        return parse_json_feed(body, url)
    root = _xml_root_name(body)
    if root in ("urlset", "sitemapindex"):
        return parse_sitemap(body, url)
    if root == "opml":
        return parse_opml(body, url)
    if root in ("rss", "rdf", "feed", "channel"):
        return parse_feed(body, url, content_type)
    if content_type in ("text/html", "application/xhtml+xml") or root == "html" or root is None:
        return discover_feeds(body, url)
    return parse_feed(body, url, content_type)


def _xml_root_name(body: bytes) -> str | None:
    """The local name of the first element, lower-case; None when the text is not XML-like."""
    head = body[:4096]
    if not _XML_START.match(head.lstrip(b"\xef\xbb\xbf")):
        return None
    match = re.search(rb"<([A-Za-z_][\w.:-]*)", re.sub(rb"<[?!][^>]*>", b"", head))
    if match is None:
        return None
    return match.group(1).decode("ascii", "replace").split(":")[-1].lower()


def parse_feed(body: bytes, url: str, content_type: str = "") -> Listing:
    """An RSS or Atom feed by feedparser; broken XML keeps the items read before the break."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed: Any = feedparser.parse(body, response_headers=headers)
    items = tuple(item for entry in parsed.entries if (item := _feed_item(entry, url)) is not None)
    problem = _bozo_reason(parsed)
    if not items and (problem or not parsed.get("version")):
        raise InputProblem(f"not a readable feed: {problem or 'no RSS or Atom items'}")
    title = parsed.feed.get("title") if parsed.get("feed") else None
    warnings = (f"feed is not well-formed ({problem}); read what came before",) if problem else ()
    return Listing("feed", _text(title), items, warnings=warnings)


def _bozo_reason(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exception = parsed.get("bozo_exception")
    # feedparser flags a declared encoding it had to override; the items are fine then.
    if type(exception).__name__ in ("CharacterEncodingOverride", "NonXMLContentType"):
        return None
    return re.sub(r"\s+", " ", str(exception)).strip() or type(exception).__name__


def _feed_item(entry: Any, base: str) -> Item | None:
    link = entry.get("link") or _link_of_id(entry.get("id"))
    if not link:
        return None
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    published = (datetime.fromtimestamp(calendar.timegm(when), timezone.utc).isoformat()
                  if isinstance(when, time.struct_time) else None)
    return Item(urljoin(base, link.strip()), _text(entry.get("title")), published)


def _link_of_id(identifier: object) -> str | None:
    if isinstance(identifier, str) and identifier.startswith(("http://", "https://")):
        return identifier
    return None


def parse_json_feed(body: bytes, url: str) -> Listing:
    """A JSON Feed (https://jsonfeed.org, versions 1 and 1.1)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputProblem(f"not a readable JSON Feed: {exc}") from exc
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/"):
        raise InputProblem("not a readable feed: JSON without a JSON Feed version")
    entries = data.get("items")
    if not isinstance(entries, list):
        raise InputProblem("not a readable JSON Feed: no items list")
    items = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        link = entry.get("url") or entry.get("external_url") or _link_of_id(entry.get("id"))
        if isinstance(link, str) and link.strip():
            items.append(Item(urljoin(url, link.strip()), _text(entry.get("title")),
                              _iso_time(entry.get("date_published") or entry.get("date_modified"))))
    return Listing("feed", _text(data.get("title")), tuple(items))


def _safe_parser() -> Any:
    # No entity expansion (billion laughs), no DTD or network fetches, no huge trees.
    return lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                                load_dtd=False, recover=False)


def _parse_xml(body: bytes, what: str) -> Any:
    try:
        return lxml.etree.fromstring(body, parser=_safe_parser())
    except lxml.etree.XMLSyntaxError as exc:
        raise InputProblem(f"broken {what} XML: {exc}") from exc


def parse_sitemap(body: bytes, url: str) -> Listing:
    """A sitemap's article addresses (with Google News dates and titles), or an index's
    child sitemaps."""
    root = _parse_xml(body, "sitemap")
    name = lxml.etree.QName(root).localname
    if name == "sitemapindex":
        links = tuple(urljoin(url, loc.strip()) for loc in _children_text(root, "sitemap", "loc") if loc)
        return Listing("sitemap-index", None, links=links)
    items = []
    for entry in root:
        if not isinstance(entry.tag, str) or lxml.etree.QName(entry).localname != "url":
            continue
        loc = _child_text(entry, "loc")
        if not loc:
            continue
        published = _news_text(entry, "publication_date") or _child_text(entry, "lastmod")
        items.append(Item(urljoin(url, loc.strip()), _news_text(entry, "title"), _iso_time(published)))
    return Listing("sitemap", None, tuple(items))


def _children_text(root: Any, child: str, grandchild: str) -> list[str]:
    return [_child_text(element, grandchild) or "" for element in root
            if isinstance(element.tag, str) and lxml.etree.QName(element).localname == child]


def _child_text(element: Any, name: str) -> str | None:
    for child in element:
        if isinstance(child.tag, str) and lxml.etree.QName(child).localname == name:
            return _text(child.text)
    return None


def _news_text(entry: Any, name: str) -> str | None:
    for news in entry.iter(f"{{{NEWS_NS}}}news"):
        found = news.findtext(f".//{{{NEWS_NS}}}{name}")
        return _text(found)
    return None


def parse_opml(body: bytes, url: str) -> Listing:
    """The feeds an OPML list names (``xmlUrl`` of every outline, nested ones too)."""
    root = _parse_xml(body, "OPML")
    links: list[str] = []
    for outline in root.iter("outline"):
        feed = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if feed and feed not in links:
            links.append(urljoin(url, feed))
    title = root.findtext("head/title")
    return Listing("opml", _text(title), links=tuple(links))


def discover_feeds(body: bytes, url: str) -> Listing:
    """The feeds an HTML page announces with ``<link rel="alternate" type="...">``."""
    try:
        document = lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise InputProblem(f"neither a feed nor a page announcing one ({exc})") from exc
    base = document.base_url or url
    for element in document.iter("base"):
        if element.get("href"):
            base = urljoin(url, element.get("href"))
            break
    links: list[str] = []
    for element in document.iter("link"):
        rels = (element.get("rel") or "").lower().split()
        kind = (element.get("type") or "").split(";", 1)[0].strip().lower()
        href = (element.get("href") or "").strip()
        if "alternate" in rels and kind in ALTERNATE_TYPES and href:
            found = urljoin(base, href)
            if found not in links:
                links.append(found)
    title = document.findtext(".//title")
    return Listing("html", _text(title), links=tuple(links))


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = " ".join(value.split())
    return cleaned or None


def _iso_time(value: object) -> str | None:
    """An ISO 8601 date or time (a sitemap's, a JSON Feed's) in UTC; None when unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat()
