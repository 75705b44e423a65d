"""When each source speaks: its publication date, else a bound inferred from what it reports.

A source cannot report what had not yet happened when it was written, so the story stages that
expect coverage (blindspots) compare an event's date with each source's time:

* a dated source's time is its publication date;
* an undated source (pasted text, a page without a date) is *bounded* by the latest date of an
  event it reports as having happened (``annotations.events`` with status ``happened``, dates
  after today left out): it was written no earlier than that day. A source that reports no
  dated past event is bounded by the latest calendar date it mentions at all ("unchanged since
  March 2023", "the 2023 fare table"), leaving out dates in sentences about the future (a
  scheduled or expected event, a forecast, a sentence with a ``future_markers`` word of
  ``data/source_times.json``) and dates after today. The bound stands in for the unknown date
  and is marked ``inferred``; a source that mentions no past date has no time at all.

Dates keep the precision the text gives (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``); comparisons use
a period's first day (``first_day``), which for a bound is the safe side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from storyline.annotate.events import timex_date
from storyline.model import Annotations, Document, Event, Sentence
from storyline.read.dates import today_utc
from storyline.resources import read_data


@dataclass(frozen=True)
class SourceTime:
    """A source's time: ``date`` at the text's precision; ``inferred`` when it is the lower bound
    read from the events the source reports rather than its publication date."""

    date: str
    inferred: bool

    @property
    def first_day(self) -> str:
        return first_day(self.date)


def first_day(value: str) -> str:
    """The first day of a ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` period (timestamps cut)."""
    value = value[:10]
    return value + "-01-01" if len(value) == 4 else value + "-01" if len(value) == 7 else value


def _is_calendar_date(value: str) -> bool:
    parts = value.split("-")
    return (1 <= len(parts) <= 3 and all(part.isdigit() for part in parts)
            and len(parts[0]) == 4 and all(len(part) == 2 for part in parts[1:]))


def latest_reported(events: Iterable[Event], today: date) -> str | None:
    """The latest date of an event reported as having happened (not after ``today``)."""
    dates = [event.date for event in events
             if event.status == "happened" and _is_calendar_date(event.date)
             and first_day(event.date) <= today.isoformat()]
    return max(dates, key=first_day) if dates else None


@lru_cache(maxsize=1)
def _future_markers() -> re.Pattern[str]:
    words = read_data("source_times.json")["future_markers"]
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


def latest_mentioned(notes: Annotations, text: str, today: date) -> str | None:
    """The latest calendar date the text mentions as past: not after ``today``, not in a
    scheduled or expected event, a forecast or a sentence that speaks of the future."""
    future = [(e.start, e.end) for e in notes.events if e.status != "happened"]
    future += [(f.start, f.end) for f in notes.forecasts]
    dates = []
    for timex in notes.timexes:
        value = timex_date(timex)
        if value is None or not _is_calendar_date(value) or first_day(value) > today.isoformat():
            continue
        if any(start <= timex.start < end for start, end in future):
            continue
        if _future_markers().search(_sentence_at(notes.sentences, text, timex.start)):
            continue
        dates.append(value)
    return max(dates, key=first_day) if dates else None


def _sentence_at(sentences: Sequence[Sentence], text: str, char: int) -> str:
    sentence = next((s for s in sentences if s.start <= char < s.end), None)
    return sentence.text if sentence else text[max(0, char - 100):char + 100]


def source_time(document: Document, today: date | None = None) -> SourceTime | None:
    """The document's publication date, else the inferred lower bound, else None."""
    if document.published and _is_calendar_date(document.published[:10]):
        return SourceTime(document.published[:10], inferred=False)
    notes = document.annotations
    if notes is None:
        return None
    today = today or today_utc()
    bound = latest_reported(notes.events, today) or latest_mentioned(notes, document.text, today)
    return SourceTime(bound, inferred=True) if bound else None


def source_times(documents: Iterable[Document], today: date | None = None) -> dict[str, SourceTime | None]:
    """Each document's time, by id."""
    return {document.id or "": source_time(document, today) for document in documents}
