"""The brief stage: annotated documents, treated as one story -> the cited ``Briefing``.

``brief_documents`` sets duplicates aside and assembles the summary, timeline, entities,
quotes, forecasts, agenda issues and perspectives. Reading the inputs and the store is the
pipeline's work (``storyline.pipeline.stories``), and so is splitting a pile into stories.

The core rule: a briefing's title and its first summary sentence come from the story's *core*
documents, never from an outlier (an off-topic article filed with the story, a photo caption
page). The core is the more typical half of the original sources, rounded up, ordered by
``storyline.story.detect.core_documents`` (mean similarity of terms, names and opening to the
other sources); a story of one or two sources is all core, since nothing tells which of two is
off. Why half: an outlier is the least typical source, so it falls in the lower half unless
outliers make up half the story (then there is no one story to protect); and a half leaves
enough sources for the title to be the most central headline among them, as before. Every
source of the lower half still feeds the summary, the timeline and the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from storyline.annotate.embeddings import SentenceVectors
from storyline.annotate.entities import canonical_entities, person_key
from storyline.briefing import (
    Briefing,
    Citation,
    CitedText,
    EntityItem,
    ForecastItem,
    Period,
    QuoteItem,
    SourceModel,
    StoryCheck,
)
from storyline.model import Annotations, Document, Forecast, Quote
from storyline.outlets import Registry, enrich, packaged_registry
from storyline.story.agenda import Issue, Passage, read_agenda
from storyline.story.detect import core_documents
from storyline.story.perspectives import Perspectives, perspectives
from storyline.story.source_times import source_time
from storyline.story.summary import opening_vectors, summarize
from storyline.story.timeline import build_timeline
from storyline.text import lead_headline

DEFAULT_WORDS = 250
# A source whose text is less similar than this (cosine of mean sentence embeddings) to every
# other source is reported as standing apart from the story.
STORY_SIMILARITY_FLOOR = 0.35
# Untitled documents with no sentence fit to lead: their opening words head the briefing.
HEADLINE_FALLBACK_WORDS = 12


def brief_documents(documents: list[Document], *, words: int = DEFAULT_WORDS,
                    registry: Registry | None = None, issues: Sequence[str] = (),
                    vectors: SentenceVectors | None = None,
                    typical: Sequence[Document] | None = None) -> Briefing:
    """Assemble the briefing of annotated documents (duplicates stay listed, not analysed).
    ``registry``: the outlet registry (default: packaged). ``issues``: user-named issues
    (``"Label: keyword, keyword"``), reported before those found. ``vectors``: the sentence
    vectors the summary, the perspectives and the story check share (default: a new
    ``SentenceVectors``, so that no briefing depends on what an earlier one embedded).
    ``typical``: the original documents, most typical first, when the caller has them already
    (``FoundStory.core``); else they are ordered here. The title and the first summary
    sentence come from the core (the more typical half, see the module docstring)."""
    # Outlet names, countries and ownership from the registry.
    enrich(documents, registry if registry is not None else packaged_registry())
    vectors = vectors if vectors is not None else SentenceVectors()
    originals = [d for d in documents if not d.duplicate_of]
    core = story_core(originals, typical, vectors)
    entities = canonical_entities(originals)
    names = _speaker_names(entities)
    found, passages = read_agenda(originals, issues)
    summary = summarize(originals, words=words, topics=[_spans(issue) for issue in found],
                        embedder=vectors, lead_sources={d.id or "" for d in core})
    views = _perspectives(originals, found, passages, summary, vectors)
    # After the summary: ``vectors`` already holds most of the sources' openings.
    openings = opening_vectors(originals, vectors) if len(originals) > 1 else None
    return Briefing(
        title=_title(originals, openings, core),
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        period=_period(documents),
        sources=_sources(documents),
        summary=summary,
        timeline=build_timeline(originals),
        entities=entities,
        quotes=_quotes(originals, names),
        forecasts=_forecasts(originals, names),
        issues=views.issues,
        countries=views.countries,
        blindspots=views.blindspots,
        conflicts=views.conflicts,
        story=_story_check(originals, openings),
        words=words,
    )


def _sources(documents: list[Document]) -> list[SourceModel]:
    """The document objects, each with its time (``storyline.story.source_times``)."""
    out = []
    for document in documents:
        time = source_time(document)
        out.append(SourceModel(**document.to_dict(), effective_date=time.date if time else None,
                               effective_date_inferred=time.inferred if time else False))
    return out


def _spans(issue: Issue) -> list[tuple[str, int, int]]:
    return [(passage.source, passage.start, passage.end) for passage in issue.passages]


def _perspectives(originals: list[Document], found: list[Issue], passages: list[Passage],
                  summary: Sequence[CitedText], vectors: SentenceVectors) -> Perspectives:
    """How each source and country covers the agenda issues; the summary's multi-source
    citations count as agreement (checked with embeddings there)."""
    supported = [s.citations for s in summary if len({c.source for c in s.citations}) > 1]
    return perspectives(originals, found, supported, passages, vectors)


def story_core(originals: Sequence[Document], typical: Sequence[Document] | None,
               embedder: SentenceVectors) -> list[Document]:
    """The core of a story: the more typical half of its original sources, rounded up, most
    typical first (all of a story of one or two). ``typical``: the sources already ordered
    (documents not among ``originals`` are ignored, and ``originals`` missing from it come last)."""
    if len(originals) <= 2:
        return list(originals)
    if typical is None:
        ordered = core_documents(originals, embedder=embedder)
    else:
        wanted = {id(d) for d in originals}
        ordered = [d for d in typical if id(d) in wanted]
        known = {id(d) for d in ordered}
        ordered += [d for d in originals if id(d) not in known]
    return ordered[: (len(ordered) + 1) // 2]


def _title(documents: list[Document], vectors: np.ndarray | None, core: Sequence[Document]) -> str:
    """The headline of the core source most central to the story, else (no core source has a
    title: pasted text) a headline drawn from the lead of the most central core source (never
    an outlier's headline, however central its words)."""
    in_core = {id(d) for d in core}
    titled = [i for i, d in enumerate(documents) if d.title and id(d) in in_core]
    if not titled:
        return untitled_headline(core or documents)
    if len(titled) == 1 or vectors is None:
        return documents[titled[0]].title or untitled_headline(core)
    centroid = vectors[[i for i, d in enumerate(documents) if id(d) in in_core]].mean(axis=0)
    best = max(titled, key=lambda i: float(vectors[i] @ centroid))
    return documents[best].title or untitled_headline(core)


def untitled_headline(ranked: Sequence[Document]) -> str:
    """A headline for documents without titles, most central first: the lead of the first one
    with a sentence that can stand alone (``storyline.text.lead_headline``), else its opening
    words; "Untitled story" only when there is no text at all."""
    for document in ranked:
        sentences = [(s.start, s.end) for s in document.annotations.sentences] if document.annotations else None
        headline = lead_headline(document.text, sentences)
        if headline:
            return headline
    words = next((d.text.split() for d in ranked if d.text.split()), [])
    if not words:
        return "Untitled story"
    cut = len(words) > HEADLINE_FALLBACK_WORDS
    return " ".join(words[:HEADLINE_FALLBACK_WORDS]) + ("\u2026" if cut else "")


def _period(documents: list[Document]) -> Period:
    """From the earliest to the latest publication date among the sources."""
    dates = sorted(d.published for d in documents if d.published)
    return Period(start=dates[0], end=dates[-1]) if dates else Period()


def _speaker_names(entities: list[EntityItem]) -> dict[tuple[str, ...], str]:
    """Every form a person was seen in -> the canonical name."""
    names: dict[tuple[str, ...], str] = {}
    for entity in entities:
        if entity.type != "PERSON":
            continue
        for form in [entity.name, *entity.aliases]:
            names[person_key(form)] = entity.name
    return names


def _canonical(name: str | None, names: dict[tuple[str, ...], str]) -> str | None:
    if not name:
        return name
    return names.get(person_key(name), name)


def _quotes(documents: list[Document], names: dict[tuple[str, ...], str]) -> list[QuoteItem]:
    """Every quote of every source; the same words quoted by several sources become one item."""
    def item(quote: Quote, citation: Citation) -> QuoteItem:
        return QuoteItem(speaker=_canonical(quote.speaker, names), text=quote.content,
                         cue=quote.cue, direct=quote.direct, citations=[citation])

    merged = _merged(documents, lambda notes: notes.quotes, item,
                     lambda quote: (_canonical(quote.speaker, names), quote.content))
    return _unattributed_folded(merged)


def _unattributed_folded(items: list[QuoteItem]) -> list[QuoteItem]:
    """A quote no source attributes but another attributes (the same words) is that speaker's:
    one quote is never listed under a speaker and again as unattributed."""
    speakers: dict[str, list[QuoteItem]] = {}
    for quote in items:
        if quote.speaker:
            speakers.setdefault(_normalised(quote.text), []).append(quote)
    kept = []
    for quote in items:
        holders = speakers.get(_normalised(quote.text), []) if not quote.speaker else []
        if holders:
            holders[0].citations.extend(quote.citations)
        else:
            kept.append(quote)
    return kept


def _forecasts(documents: list[Document], names: dict[tuple[str, ...], str]) -> list[ForecastItem]:
    """Every forecast; the same prediction carried by several sources becomes one item."""
    def item(forecast: Forecast, citation: Citation) -> ForecastItem:
        return ForecastItem(holder=_canonical(forecast.holder, names), text=forecast.text,
                            made_on=forecast.made_on, horizon=forecast.horizon,
                            confidence=forecast.confidence, citations=[citation])

    return _merged(documents, lambda notes: notes.forecasts, item,
                   lambda forecast: (_canonical(forecast.holder, names), forecast.text))


def _merged(documents: list[Document], found: Callable[[Annotations], list[Any]],
            make: Callable[[Any, Citation], Any], key: Callable[[Any], tuple[str | None, str]]
            ) -> list[Any]:
    """One item per (who, normalised words), citing every source span that carries it."""
    merged: dict[tuple[str | None, str], Any] = {}
    for document in documents:
        for annotation in found(document.annotations) if document.annotations else []:
            citation = Citation(source=document.id or "", start=annotation.start,
                                     end=annotation.end)
            who, words = key(annotation)
            slot = (who, _normalised(words))
            if slot in merged:
                merged[slot].citations.append(citation)
            else:
                merged[slot] = make(annotation, citation)
    return list(merged.values())


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def _story_check(documents: list[Document], vectors: np.ndarray | None) -> StoryCheck:
    """Do the sources tell one story? Name those that stand apart from all the others."""
    if len(documents) < 2 or vectors is None:
        return StoryCheck(coherent=True)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1.0)
    apart = [d.id or "" for d, row in zip(documents, similarity) if row.max() < STORY_SIMILARITY_FLOOR]
    if not apart:
        return StoryCheck(coherent=True)
    if len(apart) == len(documents):
        note = "The sources do not form one story: no two of them are about the same thing."
    else:
        note = f"Not all sources tell the same story: {', '.join(apart)} stand apart from the rest."
    return StoryCheck(coherent=False, outliers=apart, note=note)
