"""Annotate stage: one NLP pass per document -> sentences, entities, dates, quotes, forecasts, events.

Every annotator reads the same spaCy ``Doc`` (parsed once, in batches; the pipeline spreads
batches over worker processes through its executor);
the result is stored with the document so nothing is parsed twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from spacy.tokens import Doc

from storyline.annotate.entities import find_mentions
from storyline.annotate.events import find_events, timex_date
from storyline.annotate.forecasts import find_forecasts
from storyline.annotate.nlp import parse_batch
from storyline.annotate.parsed import doc_text, span_text
from storyline.annotate.quotes import find_quotes
from storyline.annotate.timex import find_timexes
from storyline.model import Annotations, Document, Event, Forecast, Mention, Sentence, Timex

_LINE = re.compile(r"[^\n]+")


def annotate(documents: Sequence[Document], *, n_process: int = 1) -> None:
    """Attach ``Annotations`` to each document (in place), parsing them together."""
    parsed = parse_batch([document.text for document in documents], n_process=n_process)
    for document, doc in zip(documents, parsed):
        document.annotations = annotate_parsed(document, doc)


def annotate_parsed(document: Document, doc: Doc) -> Annotations:
    """All annotations of one document from its parse."""
    timexes = find_timexes(document.text, document.published, doc=doc)
    # An interview's questions are its interviewer's: the byline, else the outlet.
    interviewer = document.authors[0] if document.authors else document.outlet
    quotes = find_quotes(doc, interviewer=interviewer)
    mentions = find_mentions(doc)
    forecasts = find_forecasts(
        doc, quotes=quotes, timexes=timexes, author=_main_author(document),
        published=document.published,
    )
    return Annotations(
        sentences=[Sentence(s.start_char, s.end_char, span_text(s)) for s in doc.sents],
        mentions=mentions,
        timexes=timexes,
        quotes=quotes,
        forecasts=[_with_full_holder(f, mentions) for f in forecasts],
        events=find_events(doc, timexes=timexes, published=document.published),
    )


def annotate_dated(documents: Sequence[Document], *, n_process: int = 1) -> None:
    """A lighter annotation for timelines over many documents: dates and dated events only.

    Temporal expressions are found on the whole text by rule first (tense from cue words); then
    only the paragraphs (lines) that hold a calendar date are parsed, without the entity
    recogniser, and their timexes and events are found again on that parse exactly as
    ``annotate`` finds them. ``sentences`` holds the parsed paragraphs' sentences; mentions,
    quotes and forecasts stay empty, so these annotations are for a timeline, never stored.
    """
    units: list[tuple[int, int, int]] = []  # (document index, start, end) of dated paragraphs
    outside: list[list[Timex]] = []
    for index, document in enumerate(documents):
        found = find_timexes(document.text, document.published)
        dated = [t for t in found if timex_date(t) is not None]
        lines = [(m.start(), m.end()) for m in _LINE.finditer(document.text)]
        chosen = [(s, e) for s, e in lines if any(s <= t.start < e for t in dated)]
        units.extend((index, s, e) for s, e in chosen)
        outside.append([t for t in found if not any(s <= t.start < e for s, e in chosen)])
    parsed = parse_batch([documents[i].text[s:e] for i, s, e in units], n_process=n_process,
                         entities=False)
    results = [Annotations(timexes=list(timexes)) for timexes in outside]
    for (index, offset, _end), doc in zip(units, parsed):
        published = documents[index].published
        timexes = find_timexes(doc_text(doc), published, doc=doc)
        result = results[index]
        result.timexes.extend(_shifted_timex(t, offset) for t in timexes)
        result.sentences.extend(Sentence(s.start_char + offset, s.end_char + offset, span_text(s))
                                for s in doc.sents)
        result.events.extend(_shifted_event(e, offset) for e in
                             find_events(doc, timexes=timexes, published=published))
    for document, result in zip(documents, results):
        result.timexes.sort(key=lambda t: t.start)
        document.annotations = result


def _shifted_timex(timex: Timex, offset: int) -> Timex:
    return replace(timex, start=timex.start + offset, end=timex.end + offset)


def _shifted_event(event: Event, offset: int) -> Event:
    return replace(event, start=event.start + offset, end=event.end + offset)


def _with_full_holder(forecast: Forecast, mentions: list[Mention]) -> Forecast:
    """"Lund" -> "Petra Lund": the holder under the fullest name the document gives the person."""
    holder = forecast.holder
    if not holder or " " in holder:
        return forecast
    for mention in mentions:
        if mention.label == "PERSON" and mention.name.split()[-1] == holder:
            return replace(forecast, holder=mention.name)
    return forecast


# Kinds whose unattributed predictions are the author's own view. In news, a reporter's
# "is expected to" reports others' expectations, so such forecasts get no holder.
AUTHOR_VOICE_KINDS = {"opinion", "analysis"}


def _main_author(document: Document) -> str | None:
    if document.kind not in AUTHOR_VOICE_KINDS or not document.authors:
        return None
    return document.authors[0]


def annotations_of(documents: list[Document]) -> list[Annotations | None]:
    """Annotate ``documents`` and return their annotations: the unit of work a worker process
    runs (the documents it was sent are copies, so the annotations travel back)."""
    annotate(documents)
    return [document.annotations for document in documents]
