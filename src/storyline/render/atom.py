"""A story as an Atom feed (RFC 4287): one entry per update of its briefing, with what is new,
so that people follow a story in the feed reader they already use.

``story_feed`` takes plain values (the faces read them from the store) and returns the XML
document; ElementTree escapes every text, so a title or a quote cannot break the feed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"


@dataclass(frozen=True)
class FeedEntry:
    """One update: its ``key`` (unique within the feed), when it was made (ISO 8601), its title,
    the lines of what is new, and the addresses of the sources they cite."""

    key: str
    updated: str
    title: str
    lines: Sequence[str]
    sources: Sequence[tuple[str, str]]  # (label, address)
    link: str | None = None  # the entry's own page (None: the feed's page)
    lead: str = "What is new:"


def story_feed(*, feed_id: str, title: str, page_url: str, self_url: str, updated: str,
               entries: Sequence[FeedEntry]) -> str:
    """The Atom document of a story (or of anything with updates): entries newest first."""
    ElementTree.register_namespace("", ATOM_NS)
    feed = ElementTree.Element(f"{{{ATOM_NS}}}feed")
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    _text(feed, "updated", entries[0].updated if entries else updated)
    _link(feed, page_url, "alternate", "text/html")
    _link(feed, self_url, "self", ATOM_TYPE)
    author = ElementTree.SubElement(feed, f"{{{ATOM_NS}}}author")
    _text(author, "name", "Storyline")
    for entry in entries:
        element = ElementTree.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _text(element, "id", f"{feed_id}:{entry.key}")
        _text(element, "title", entry.title)
        _text(element, "updated", entry.updated)
        _link(element, entry.link or page_url, "alternate", "text/html")
        content = ElementTree.SubElement(element, f"{{{ATOM_NS}}}content", {"type": "html"})
        content.text = _entry_html(entry)
    body = ElementTree.tostring(feed, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body


def _entry_html(entry: FeedEntry) -> str:
    items = "".join(f"<li>{escape(line)}</li>" for line in entry.lines)
    sources = ", ".join(f'<a href="{escape(address)}">{escape(label)}</a>' for label, address in entry.sources)
    return f"<p>{escape(entry.lead)}</p><ul>{items}</ul>" + (f"<p>Sources: {sources}</p>" if sources else "")


def _text(parent: ElementTree.Element, name: str, value: str) -> None:
    ElementTree.SubElement(parent, f"{{{ATOM_NS}}}{name}").text = value


def _link(parent: ElementTree.Element, href: str, rel: str, kind: str) -> None:
    ElementTree.SubElement(parent, f"{{{ATOM_NS}}}link", {"href": href, "rel": rel, "type": kind})
