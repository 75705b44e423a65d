"""The HTTP API (CONTRACT.md "HTTP API"): JSON in, JSON out, errors as ``{"error": str}``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from storyline.briefing import Briefing
from storyline.errors import InvalidValue, UsageError
from storyline.model import Document, Hints, Mode
from storyline.pipeline import curation
from storyline.pipeline.catalogue import StoryEntry, storyline_place, storyline_ref
from storyline.pipeline.registry import registry_of
from storyline.store import MergedStory, SearchHit, Store, StoryInfo
from storyline.story.brief import DEFAULT_WORDS
from storyline.web.requests import (
    MAX_ID, Settings, error_response, holds_write_token, source_key, story_key, token_problem,
)
from storyline.web import analysis
from storyline.web.analysis import Gone
from storyline.web.service import Article, Jobs, brief_articles, originals, read_articles

router = APIRouter(prefix="/api", tags=["API"])
MIN_WORDS, MAX_WORDS = 20, 5000  # as `storyline brief --words`
SEARCH_LIMIT = 50
BRIEFING_STATE_HEADER = "Storyline-Briefing"  # "updating": the previous briefing, a new one is on its way
DISCONNECT_POLL_SECONDS = 0.25


class ErrorOut(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text} for code, text in {
        400: "a bad request", 401: "a token is needed or wrong", 403: "sent from another site's page",
        404: "no such story or source", 409: "the story was merged into another already",
        413: "the body is too large, or too much to analyse in one request",
        422: "the body does not have the expected shape, an id is out of range, or a value cannot be used",
    }.items()
}


class DocumentIn(BaseModel):
    """One article: its ``text`` (copied off a page) or its ``html`` (a saved page), and what is
    known about it."""

    model_config = ConfigDict(extra="forbid")
    text: StrictStr | None = None
    html: StrictStr | None = None
    url: StrictStr | None = None
    title: StrictStr | None = None
    published: StrictStr | None = Field(None, description="YYYY-MM-DD")
    outlet: StrictStr | None = None
    authors: list[StrictStr] = []

    @model_validator(mode="after")
    def _one_body(self) -> DocumentIn:
        if (self.text is None) == (self.html is None):
            raise ValueError('give the article as "text" or as "html" (exactly one of them)')
        return self


class BriefingRequest(BaseModel):
    """Articles in (texts, HTML or objects, and URLs to fetch), one briefing out."""

    model_config = ConfigDict(extra="forbid")
    documents: list[StrictStr | DocumentIn] = Field(
        default=[], description="plain texts or HTML pages (detected), or document objects")
    urls: list[StrictStr] = Field(default=[], description="article pages to fetch")
    words: int = Field(DEFAULT_WORDS, ge=MIN_WORDS, le=MAX_WORDS, description="summary length")


class PeriodOut(BaseModel):
    start: str | None
    end: str | None


class StorylineRef(BaseModel):
    id: int
    title: str | None


class StoryOut(BaseModel):
    id: int
    title: str = Field(description="the briefing's title once there is one, else the story's name")
    name: str
    kind: str = Field(description='"named" (filed by hand) or "found" (by story detection)')
    sources: int = Field(description="how many documents the story holds")
    period: PeriodOut
    storyline: StorylineRef | None = Field(description="the storyline the story belongs to")
    merged_into: int | None = Field(description="the story it was merged into (it then holds none)")
    created_at: str
    updated_at: str


class StoryListOut(StoryOut):
    countries: list[str] = Field(description="its documents' countries, the most frequent first")


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into: StrictInt | StrictStr = Field(description="the story (id or name) this one joins")


class SplitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[StrictStr] = Field(description="the documents (S3, ...) that form the new story")
    name: StrictStr = Field(description="the new story's name")


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[StrictStr] = Field(description="the documents (S3, ...) that leave this story")
    to: StrictInt | StrictStr = Field(description="the story (id or name) they join")


class MoveOut(BaseModel):
    joined: int = Field(description="how many documents joined (were not in the target already)")
    source: StoryOut = Field(alias="from")
    to: StoryOut


class RemoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[StrictStr] = Field(
        description="the sources (S3, ...) that leave this story; they stay stored, and in other stories")


class CorrectionRequest(BaseModel):
    """What to correct of a source; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")
    title: StrictStr | None = Field(None, description="its headline")
    outlet: StrictStr | None = Field(None, description="the outlet that published it")
    published: StrictStr | None = Field(None, description="the day it was published, YYYY-MM-DD")


class SourceOut(BaseModel):
    id: str = Field(description="the document id (S1, ...)")
    origin: str
    url: str | None
    title: str | None
    outlet: str | None
    published: str | None
    published_from: str | None = Field(description='"corrected" once a user set the date')
    country: str | None


class SearchHitOut(BaseModel):
    source: str = Field(description="the document id (S1, ...)")
    story: int | None = Field(description="the first story holding the document")
    start: int
    end: int
    text: str = Field(description="the sentence: the document's text[start:end]")


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings  # app.state is untyped; create_app sets it
    return settings


@router.post("/briefings", responses={200: {"model": Briefing}, **ERRORS})
async def create_briefing(body: BriefingRequest, request: Request) -> Response:
    """The briefing of the given articles, treated as one story (nothing is stored).

    Articles that cannot be used are listed in an extra ``errors`` field
    (``[{"origin", "error"}]``); when none can be used the answer is 422. Copies of an earlier
    article are listed in ``folded`` (``[{"origin", "duplicate_of"}]``) and analysed once.
    More distinct text than one request may analyse is refused (413). When the client leaves,
    the analysis stops.
    """
    settings = settings_of(request)
    _check_token(request)
    _check_counts(body, settings)
    gone = threading.Event()
    tally: dict[str, int] = request.app.state.analyses  # app.state is untyped; create_app sets it
    try:
        answer = await until_disconnected(request, gone, lambda: _briefing_of(body, settings, gone.is_set))
    except Gone:
        tally["abandoned"] += 1
        return error_response(request, 499, "the client closed the request: its analysis stopped")
    tally["finished"] += 1
    return answer


async def until_disconnected(request: Request, gone: threading.Event,
                             work: Callable[[], JSONResponse]) -> JSONResponse:
    """``work`` run in a worker thread while this watches the connection: when the client goes,
    ``gone`` is set (the work stops at its next look, raising ``Gone``)."""
    task = asyncio.ensure_future(run_in_threadpool(work))
    while not task.done():
        await asyncio.wait({task}, timeout=DISCONNECT_POLL_SECONDS)
        if not task.done() and await request.is_disconnected():
            gone.set()
    return task.result()


def _briefing_of(body: BriefingRequest, settings: Settings, cancelled: Callable[[], bool]) -> JSONResponse:
    with settings.store() as store:
        registry = registry_of(store)  # the outlets the user added count
    with settings.fetcher() as fetcher:
        documents, errors = read_articles(_articles(body), fetcher, registry, cancelled)
    if not documents:
        reasons = "; ".join(str(error) for error in errors)
        raise HTTPException(422, f"no usable article: {reasons}")
    _check_analysis_size(originals(documents), settings)
    data = brief_articles(documents, body.words, settings.analyst, registry, cancelled=cancelled,
                          batch=settings.bounds.annotate_batch).to_dict()
    if errors:
        data["errors"] = [error.to_dict() for error in errors]
    folded = [{"origin": d.origin, "duplicate_of": d.duplicate_of} for d in documents if d.duplicate_of]
    if folded:
        data["folded"] = folded
    return JSONResponse(data)


def _check_analysis_size(distinct: list[Any], settings: Settings) -> None:
    """413 when the distinct documents are more than one request may analyse while its client
    waits (the limits say how much; a larger set belongs in a story, briefed once)."""
    limits = settings.limits
    chars = sum(len(document.text) for document in distinct)
    if len(distinct) > limits.analysis_documents or chars > limits.analysis_chars:
        raise HTTPException(413, (
            f"too much to analyse in one request: {len(distinct)} distinct documents, {chars:,} "
            f"characters of text; the limit is {limits.analysis_documents} documents and "
            f"{limits.analysis_chars:,} characters. Add them to a story (the /add page or "
            "storyline ingest --story) and read GET /api/stories/{id}/briefing"))


def briefing_words(request: Request, words: int) -> int:
    """The summary length a stored story's briefing is served at: the nearest of the kept
    lengths (``Bounds.briefing_words`` and the server's default), so that visitors cannot have
    a new briefing made and stored per number; a write-token holder gets ``words`` itself."""
    settings = settings_of(request)
    if holds_write_token(request):
        return words
    kept = sorted({*settings.bounds.briefing_words, settings.words})
    return min(kept, key=lambda length: (abs(length - words), length))


def _check_token(request: Request) -> None:
    problem = token_problem(request)
    if problem:
        raise HTTPException(401, problem, headers={"WWW-Authenticate": "Bearer"})


def _check_counts(body: BriefingRequest, settings: Settings) -> None:
    if not body.documents and not body.urls:
        raise HTTPException(400, 'nothing to brief: give "documents" (texts or objects) or "urls"')
    if len(body.documents) > settings.limits.documents:
        raise HTTPException(413, f"too many documents: at most {settings.limits.documents} per request")
    if len(body.urls) > settings.limits.urls:
        raise HTTPException(413, f"too many urls: at most {settings.limits.urls} per request")


def _articles(body: BriefingRequest) -> list[Article]:
    articles = []
    for index, item in enumerate(body.documents):
        origin = f"documents[{index}]"
        if isinstance(item, str):
            articles.append(Article(origin, item))
            continue
        hints = Hints(url=item.url, title=item.title, published=item.published, outlet=item.outlet,
                      authors=list(item.authors))
        mode: Mode = "text" if item.text is not None else "html"
        articles.append(Article(item.url or origin, item.text or item.html or "", mode, hints))
    return articles + [Article.from_url(url) for url in body.urls]


@router.get("/stories", response_model=list[StoryListOut])
def list_stories(request: Request) -> list[dict[str, Any]]:
    """Every stored story not merged into another, the most recently changed first."""
    with settings_of(request).store() as store:
        return [entry_out(entry) for entry in request.app.state.catalogue.entries(store)]


def entry_out(entry: StoryEntry) -> dict[str, Any]:
    return {**story_out(entry.story, storyline_ref(entry.storyline)), "countries": list(entry.countries)}


def story_out(story: StoryInfo, storyline: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": story.id, "title": story.title or story.name, "name": story.name, "kind": story.kind,
        "sources": story.documents, "period": {"start": story.period_start, "end": story.period_end},
        "storyline": storyline, "merged_into": story.merged_into,
        "created_at": story.created_at, "updated_at": story.updated_at,
    }


def story_with_storyline(store: Store, story: StoryInfo) -> dict[str, Any]:
    line = next((line for line in store.storylines() if line.id == story.storyline), None)
    return story_out(story, storyline_ref(line))


@router.get("/stories/{story_id}", response_model=StoryOut, responses=ERRORS)
def get_story(story_id: str, request: Request) -> dict[str, Any]:
    """A stored story (by id or name); a merged story answers with ``merged_into``, the story
    that holds its documents now."""
    with settings_of(request).store() as store:
        return story_with_storyline(store, _story_or_404(store, story_id))


def _story_or_404(store: Store, key: str | int) -> StoryInfo:
    story = store.story(story_key(key))
    if story is None:
        raise HTTPException(404, f"no story {key!r}")
    return story


@router.get("/stories/{story_id}/briefing", responses={200: {"model": Briefing}, **ERRORS})
def story_briefing(
    story_id: str, request: Request,
    words: int = Query(DEFAULT_WORDS, ge=MIN_WORDS, le=MAX_WORDS, description="summary length"),
    wait: bool = Query(False, description="when the story changed: wait for its new briefing"),
) -> Response:
    """The briefing of a stored story (by id or name); made once, then served from the store
    until the story's documents change. A merged story's redirects (303) to its successor's.

    When sources were added or removed since the last briefing, that briefing is answered at
    once with the header ``Storyline-Briefing: updating`` while the new one is made; with
    ``wait=true`` the answer waits for the new one."""
    with settings_of(request).store() as store:
        story = _story_or_404(store, story_id)
        if story.merged_into is not None:
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"/api/stories/{story.merged_into}/briefing{query}", status_code=303)
        briefings = request.app.state.briefings
        length = briefing_words(request, words)
        found = (briefings.get if wait else briefings.current_or_previous)(store, story.id, length)
        place = storyline_place(store, story.id)
        current = found is not None and found[0] == store.story_documents_key(story.id)
    if found is None:
        raise HTTPException(404, f"story {story_id!r} has no documents yet")
    # While sources added since are analysed, the previous briefing is served at once, and the
    # header says so (a client that needs the new one asks again).
    return JSONResponse(found[1].with_storyline(place).to_dict(),
                        headers={} if current else {BRIEFING_STATE_HEADER: "updating"})


# --------------------------------------------------------------------------- curation


@router.post("/stories/{story_id}/merge", response_model=StoryOut, responses=ERRORS)
def merge_story(story_id: str, body: MergeRequest, request: Request) -> dict[str, Any]:
    """Merge this story into ``into``: its documents join that story, which is answered; this
    one then leads there (``merged_into``)."""
    _check_token(request)
    with settings_of(request).store() as store, curation_errors():
        story, into = _story_or_404(store, story_id), _story_or_404(store, body.into)
        return story_with_storyline(store, curation.merge(store, into.id, story.id))


@router.post("/stories/{story_id}/split", status_code=201, response_model=StoryOut, responses=ERRORS)
def split_story(story_id: str, body: SplitRequest, request: Request) -> dict[str, Any]:
    """Split ``documents`` off this story into a new story named ``name`` (answered)."""
    _check_token(request)
    with settings_of(request).store() as store, curation_errors():
        story = _story_or_404(store, story_id)
        return story_out(curation.split(store, story.id, _sources(body.documents), body.name))


@router.post("/stories/{story_id}/move", response_model=MoveOut, responses=ERRORS)
def move_documents(story_id: str, body: MoveRequest, request: Request) -> dict[str, Any]:
    """Move ``documents`` from this story to the story ``to``; both are answered as they are now."""
    _check_token(request)
    with settings_of(request).store() as store, curation_errors():
        story, target = _story_or_404(store, story_id), _story_or_404(store, body.to)
        joined = curation.move(store, _sources(body.documents), story.id, target.id)
        return {"joined": joined, "from": story_with_storyline(store, _story_or_404(store, story.id)),
                "to": story_with_storyline(store, _story_or_404(store, target.id))}


@router.post("/stories/{story_id}/remove", response_model=StoryOut, responses=ERRORS)
def remove_documents(story_id: str, body: RemoveRequest, request: Request) -> dict[str, Any]:
    """Remove ``documents`` from this story (answered as it is now); they stay stored. A story
    keeps at least one source: removing them all is refused (422)."""
    _check_token(request)
    with settings_of(request).store() as store, curation_errors():
        story = _story_or_404(store, story_id)
        curation.remove(store, story.id, _sources(body.documents))
        return story_with_storyline(store, _story_or_404(store, story.id))


@router.post("/sources/{source_id}/correct", response_model=SourceOut, responses=ERRORS)
def correct_source(source_id: str, body: CorrectionRequest, request: Request) -> dict[str, Any]:
    """Correct a source's ``title``, ``outlet`` or ``published`` date (answered as corrected).
    Every story holding it is briefed again on its next request, with the source placed and
    cited as corrected; the correction stays when the same source is ingested again. A date
    that is no ``YYYY-MM-DD`` day, an empty value or nothing to correct: 422."""
    _check_token(request)
    settings = settings_of(request)
    with curation_errors():
        document = settings.analyst.run(analysis.correct_source, settings.db_url, source_key(source_id),
                                        body.title, body.outlet, body.published)
    return source_out(document)


def source_out(document: Document) -> dict[str, Any]:
    return {"id": document.id, "origin": document.origin, "url": document.url,
            "title": document.title, "outlet": document.outlet, "published": document.published,
            "published_from": document.published_from, "country": document.country}


def _sources(ids: list[str]) -> list[str]:
    return [source_key(source) for source in ids]


@contextmanager
def curation_errors() -> Iterator[None]:
    """A curation's refusals as HTTP errors: 404 an unknown story or document, 409 a story
    merged already, 422 a value that cannot be used (a date that is no day, a story left with
    no source), 400 any other impossible request (a split into nothing)."""
    try:
        yield
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0]) if exc.args else "not found") from exc
    except MergedStory as exc:
        raise HTTPException(409, str(exc)) from exc
    except InvalidValue as exc:
        raise HTTPException(422, str(exc)) from exc
    except UsageError as exc:
        raise HTTPException(400, str(exc)) from exc


@router.get("/search", response_model=list[SearchHitOut], responses=ERRORS)
def search(
    request: Request,
    q: str = Query(description='words that must all occur in a sentence; "quoted words" as a phrase'),
    story: int | None = Query(None, ge=0, le=MAX_ID, description="only the documents of this story"),
    limit: int = Query(SEARCH_LIMIT, ge=1, le=500),
) -> list[dict[str, Any]]:
    """Sentences of the stored documents that match ``q``, best first."""
    if not q.strip():
        raise HTTPException(400, "q is empty: give words to search for")
    with settings_of(request).store() as store:
        return [hit_out(hit) for hit in store.search(q, limit=limit, story=story)]


def hit_out(hit: SearchHit) -> dict[str, Any]:
    return {"source": hit.source, "story": hit.story, "start": hit.start, "end": hit.end,
            "text": hit.text}


@router.get("/jobs/{job_id}", responses=ERRORS)
def job_status(job_id: str, request: Request) -> dict[str, object]:
    """Progress of an ingest started from the web form (``state``: queued, running, done, failed)."""
    jobs: Jobs = request.app.state.jobs  # app.state is untyped; create_app sets it
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    return job.to_dict()
