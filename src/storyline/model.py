"""The data model every pipeline stage shares.

A document flows once through read -> extract/clean -> metadata -> (annotate) -> store:

* ``Source``      what a reader produced: raw bytes or text plus what the input itself said
                  about it (``Hints``: a JSONL record's title, a URL, ...).
* ``Extraction``  what the cleaning stage produced: body paragraphs, plus the non-body lines
                  that are evidence for metadata (bylines, bios, "Source: X", dates).
* ``Document``    the clean, attributed document of the outside contract (CONTRACT.md).
* ``InputError``  one input that could not be processed, with the reason in one line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Mode = Literal["html", "text"]
DateSource = Literal["meta", "text", "url", "inferred"]
Kind = Literal["news", "opinion", "interview", "analysis"]


@dataclass
class Hints:
    """Metadata that came with the input (a record's fields, an HTTP response), trusted first."""

    url: str | None = None
    title: str | None = None
    published: str | None = None
    outlet: str | None = None
    authors: list[str] = field(default_factory=list)


@dataclass
class Source:
    """One raw input as read: ``data`` is bytes (undecoded) or str; ``mode`` None means sniff."""

    origin: str
    data: bytes | str
    mode: Mode | None = None
    hints: Hints = field(default_factory=Hints)


@dataclass
class InputError:
    """An input that failed; ``reason`` is one human line. Never raised across the batch."""

    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"

    def to_dict(self) -> dict[str, str]:
        return {"origin": self.origin, "error": self.reason}


@dataclass
class Extraction:
    """The cleaning stage's output, shared by HTML and text mode.

    ``evidence`` holds every block that is not body, in document order (bylines, author bios,
    "First published at", copyright and licensing lines, date lines, widgets ...): the metadata
    stage mines it. The first ``evidence_before_body`` of them came before the first body paragraph.
    ``meta`` holds metadata a mode found directly (HTML meta tags, JSON-LD, htmldate), with keys
    ``title``, ``authors``, ``published``, ``published_from``, ``outlet``, ``url``, ``language``.
    """

    paragraphs: list[str]
    title: str | None = None
    evidence: list[str] = field(default_factory=list)
    evidence_before_body: int = 0
    removed_chars: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass
class Document:
    """A clean document with trustworthy metadata: the contract's document object."""

    origin: str
    text: str
    id: str | None = None
    url: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    author_roles: dict[str, str] = field(default_factory=dict)
    outlet: str | None = None
    published: str | None = None
    published_from: DateSource | None = None
    language: str | None = None
    country: str | None = None
    kind: Kind | None = None
    words: int = 0
    duplicate_of: str | None = None
    boilerplate_removed_chars: int = 0
    # Beyond the contract: every origin a syndicated copy was seen at, and the content hash.
    also_at: list[str] = field(default_factory=list)
    content_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # Keep the contract's key order first; extra fields follow.
        order = [
            "id", "origin", "url", "title", "authors", "author_roles", "outlet", "published",
            "published_from", "language", "country", "kind", "words", "duplicate_of",
            "boilerplate_removed_chars", "text",
        ]
        out = {key: data[key] for key in order}
        out.update({key: value for key, value in data.items() if key not in out})
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})
