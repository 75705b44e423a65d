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

import copy
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Mode = Literal["html", "text"]
TimexType = Literal["DATE", "TIME", "DURATION", "SET"]
EventStatus = Literal["happened", "scheduled", "expected"]
Confidence = Literal["certain", "likely", "possible", "unlikely"]
EntityType = Literal["PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "LAW", "FAC", "OTHER"]
# "corrected": the user set the date (`storyline sources correct`), whatever the input said.
DateSource = Literal["meta", "text", "url", "inferred", "corrected"]
Kind = Literal["news", "opinion", "interview", "analysis"]


@dataclass
class Hints:
    """Metadata that came with the input (a record's fields, an HTTP response), trusted first."""

    url: str | None = None
    title: str | None = None
    published: str | None = None
    outlet: str | None = None
    authors: list[str] = field(default_factory=list)
    record_id: str | None = None  # the ``id`` a JSONL/CSV record gives itself


@dataclass
class Source:
    """One raw input as read: ``data`` is bytes (undecoded) or str; ``mode`` None means sniff."""

    origin: str
    data: bytes | str
    mode: Mode | None = None
    hints: Hints = field(default_factory=Hints)


@dataclass
class InputError:
    """An input that failed; ``reason`` is one human line. Never raised across the batch.
    ``stored``: the document was stored all the same (only its annotation failed)."""

    origin: str
    reason: str
    stored: bool = False

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
class Sentence:
    """A sentence of a document's clean text: ``text == document.text[start:end]``."""

    start: int
    end: int
    text: str


@dataclass
class Mention:
    """One entity mention; ``name`` is the canonical name within the document (story-level
    canonicalisation may merge it further); ``role`` comes from an apposition or title."""

    start: int
    end: int
    text: str
    label: EntityType
    name: str
    role: str | None = None


@dataclass
class Timex:
    """A temporal expression normalised to a TimeML value (``2017-07-09``, ``P2Y``, ``PRESENT_REF``)."""

    start: int
    end: int
    text: str
    type: TimexType
    value: str


@dataclass
class Quote:
    """Who said what. ``start``/``end`` delimit the content; speaker offsets are None when the
    speaker was resolved from elsewhere (a pronoun, the interview frame)."""

    speaker: str | None
    speaker_start: int | None
    speaker_end: int | None
    cue: str | None
    content: str
    start: int
    end: int
    direct: bool


@dataclass
class Forecast:
    """A statement about the future, with who holds it and how sure they sound."""

    holder: str | None
    text: str
    start: int
    end: int
    made_on: str | None
    horizon: str | None
    confidence: Confidence


@dataclass
class Event:
    """A sentence that says something happened, is scheduled or is expected on a date, at the
    precision the text gives (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``)."""

    date: str
    text: str
    start: int
    end: int
    status: EventStatus


@dataclass
class Annotations:
    """Everything the annotate stage found in one document; offsets point into its ``text``."""

    sentences: list[Sentence] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    timexes: list[Timex] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    forecasts: list[Forecast] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Annotations:
        return cls(
            sentences=[Sentence(**x) for x in data.get("sentences", [])],
            mentions=[Mention(**x) for x in data.get("mentions", [])],
            timexes=[Timex(**x) for x in data.get("timexes", [])],
            quotes=[Quote(**x) for x in data.get("quotes", [])],
            forecasts=[Forecast(**x) for x in data.get("forecasts", [])],
            events=[Event(**x) for x in data.get("events", [])],
        )


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
    # From the outlet registry (storyline.outlets), never stored: state-affiliated, public, ...
    ownership: str | None = None
    # Filled by the annotate stage; not part of the document object's JSON.
    annotations: Annotations | None = field(default=None, repr=False, compare=False)
    # The ``id`` its input record gave it (JSONL/CSV), for tools that match their own ids;
    # read-time only: neither stored nor in the JSON.
    record_id: str | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        # Field by field: ``asdict`` of the whole document would first copy its annotations
        # (thousands of objects), only for them to be dropped.
        data = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)
                if f.name not in ("annotations", "record_id")}
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
        known = {f for f in cls.__dataclass_fields__} - {"annotations", "record_id"}
        return cls(**{key: value for key, value in data.items() if key in known})
