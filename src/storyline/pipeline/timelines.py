"""Key dates of many documents: ``storyline timeline INPUT... --dates T --sentences K``.

``timeline(inputs)`` reads the inputs (files, JSONL records with ``published`` ...), gives them
the timeline's lighter annotation (``annotate.annotator.annotate_dated``: only the paragraphs
that hold a date are parsed, so that thousands of articles take a minute, not a quarter of an
hour), and chooses the key dates with ``story.key_dates``. Documents handed in with annotations
(a store's, say) keep theirs. Near duplicates are read but not counted twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from storyline.annotate.embeddings import Embedder, SentenceVectors
from storyline.briefing import KeyDateItem, KeyDates, Period, TimelineSource
from storyline.errors import UsageError
from storyline.model import Document, InputError, Mode
from storyline.pipeline.documents import extract, numbered
from storyline.read.fetch import Fetcher
from storyline.story.key_dates import KeyDateConstants, dated_days, key_dates

Errors = Callable[[InputError], None]
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def timeline(inputs: Iterable[str] | Sequence[Document], *, dates: int, sentences: int,
             start: str | None = None, end: str | None = None, mode: Mode | None = None,
             fetcher: Fetcher | None = None, on_error: Errors | None = None,
             constants: KeyDateConstants | None = None) -> KeyDates:
    """The ``dates`` key dates of ``inputs`` (input strings or ``Document``s) between ``start``
    and ``end`` (``YYYY-MM-DD``, inclusive), ``sentences`` cited sentences each. Inputs that fail
    go to ``on_error``. Raises ``UsageError`` for bad arguments and when nothing is dated."""
    check_window(dates, sentences, start, end)
    items = list(inputs)
    if items and all(isinstance(item, Document) for item in items):
        documents = [d for d in items if isinstance(d, Document)]
        documents = [d for d in numbered(documents, taken={d.id for d in documents if d.id},
                                         mark_duplicates=False) if isinstance(d, Document)]
    else:
        documents = _read([str(item) for item in items], mode, fetcher, on_error)
    return timeline_documents(documents, dates=dates, sentences=sentences, start=start, end=end,
                              constants=constants)


def timeline_documents(documents: list[Document], *, dates: int, sentences: int,
                       start: str | None = None, end: str | None = None,
                       constants: KeyDateConstants | None = None,
                       embedder: Embedder | None = None) -> KeyDates:
    """``timeline`` for documents already read (annotated here where they are not).
    ``embedder``: sentence vectors to use (default: a fresh ``SentenceVectors``)."""
    check_window(dates, sentences, start, end)
    if not documents:
        raise UsageError("nothing to make a timeline of: no input could be read")
    annotated_for_timeline(documents)
    available = sorted(d for d in dated_days(documents) if _inside(d, start, end))
    if not available:
        raise UsageError(_nothing_dated(documents, start, end))
    chosen = key_dates(documents, dates=dates, sentences=sentences, start=start, end=end,
                       constants=constants,
                       embedder=embedder if embedder is not None else SentenceVectors())
    notes = []
    if len(chosen) < dates:
        notes.append(f"only {len(chosen)} of the {dates} dates asked for could be given: "
                     f"{len(available)} days{_window_words(start, end)} are named or published "
                     f"on, and only {len(chosen)} of them have a sentence to show")
    return KeyDates(
        window=Period(start=start, end=end),
        timeline=[KeyDateItem(date=k.date, sentences=k.sentences) for k in chosen],
        sources=[TimelineSource(id=d.id or "", origin=d.origin, record_id=d.record_id,
                                title=d.title, published=d.published) for d in documents],
        notes=notes,
    )


def check_window(dates: int, sentences: int, start: str | None, end: str | None) -> None:
    """``UsageError`` unless the counts are positive and the window is two ordered days."""
    if dates < 1 or sentences < 1:
        raise UsageError("--dates and --sentences must be at least 1")
    for name, value in (("--start", start), ("--end", end)):
        if value is not None and not ISO_DAY.match(value):
            raise UsageError(f"{name} {value!r} is not a day like 2010-04-20")
    if start is not None and end is not None and start > end:
        raise UsageError(f"--start {start} is after --end {end}")


def annotated_for_timeline(documents: list[Document]) -> list[Document]:
    """``documents`` with the timeline's lighter annotations where they have none."""
    missing = [d for d in documents if d.annotations is None]
    if missing:
        from storyline.annotate.annotator import annotate_dated  # spaCy loads only when needed

        annotate_dated(missing)
    return documents


def _read(inputs: list[str], mode: Mode | None, fetcher: Fetcher | None,
          on_error: Errors | None) -> list[Document]:
    documents = []
    for result in extract(inputs, mode=mode, fetcher=fetcher):
        if isinstance(result, Document):
            documents.append(result)
        elif on_error is not None:
            on_error(result)
    return documents


def _inside(day: str, start: str | None, end: str | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _window_words(start: str | None, end: str | None) -> str:
    if start and end:
        return f" between {start} and {end}"
    if start:
        return f" from {start} on"
    return f" up to {end}" if end else ""


def _nothing_dated(documents: list[Document], start: str | None, end: str | None) -> str:
    count = len(documents)
    noun = "document" if count == 1 else "documents"
    if not any(d.published for d in documents):
        return (f"no dates to make a timeline of: none of the {count} {noun} has a publication "
                "date (give one, e.g. a \"published\" field in each JSONL record) and none names "
                "a full date")
    return (f"no dates to make a timeline of{_window_words(start, end)}: the {count} {noun} "
            "were published and name days only outside it")
