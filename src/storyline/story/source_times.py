"""When each source speaks: its publication date, else a bound inferred from what it reports.

A source cannot report what had not yet happened when it was written, so the story stages that
expect coverage (blindspots) compare an event's date with each source's time:

* a dated source's time is its publication date;
* an undated source (pasted text, a page without a date) is *bounded* by the latest date of an
  event it reports as having happened (``annotations.events`` with status ``happened``, dates
  after today left out): it was written no earlier than that day. The bound stands in for the
  unknown date and is marked ``inferred``; a source that reports no dated past event has no
  time at all.

Dates keep the precision the text gives (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``); comparisons use
a period's first day (``first_day``), which for a bound is the safe side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from storyline.model import Document, Event
from storyline.read.dates import today_utc


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


def source_time(document: Document, today: date | None = None) -> SourceTime | None:
    """The document's publication date, else the inferred lower bound, else None."""
    if document.published and _is_calendar_date(document.published[:10]):
        return SourceTime(document.published[:10], inferred=False)
    events = document.annotations.events if document.annotations else []
    bound = latest_reported(events, today or today_utc())
    return SourceTime(bound, inferred=True) if bound else None


def source_times(documents: Iterable[Document], today: date | None = None) -> dict[str, SourceTime | None]:
    """Each document's time, by id."""
    return {document.id or "": source_time(document, today) for document in documents}
