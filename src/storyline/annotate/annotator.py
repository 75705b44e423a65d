"""Annotate stage: one NLP pass per document -> sentences, entities, dates, quotes, forecasts, events.

Every annotator reads the same spaCy ``Doc`` (parsed once, in batches; the pipeline spreads
batches over worker processes through its executor);
the result is stored with the document so nothing is parsed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from spacy.tokens import Doc

from storyline.annotate.entities import find_mentions
from storyline.annotate.events import find_events
from storyline.annotate.forecasts import find_forecasts
from storyline.annotate.nlp import parse_batch
from storyline.annotate.quotes import find_quotes
from storyline.annotate.timex import find_timexes
from storyline.model import Annotations, Document, Forecast, Mention, Sentence


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
        sentences=[Sentence(s.start_char, s.end_char, s.text) for s in doc.sents],
        mentions=mentions,
        timexes=timexes,
        quotes=quotes,
        forecasts=[_with_full_holder(f, mentions) for f in forecasts],
        events=find_events(doc, timexes=timexes, published=document.published),
    )


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
